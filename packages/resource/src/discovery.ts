import { authorizationServerMetadataUrl, checkSecureUrl, openIdConfigurationUrl } from './urls.js';

/**
 * The authorization server's metadata could not be had: the server (or the network) is at fault,
 * not the token, so a request is answered 503.
 */
export class MetadataUnavailable extends Error {
  override readonly name = 'MetadataUnavailable';
}

/** The endpoints this library looks up in the issuer's metadata. */
export type MetadataEndpoint = 'jwks_uri' | 'introspection_endpoint' | 'revocation_feed_endpoint';

/**
 * One endpoint of the issuer, from its RFC 8414 §3 metadata first (`/.well-known/oauth-
 * authorization-server` inserted before the issuer's path), then OpenID Connect Discovery for
 * servers that publish only that. The endpoint must be a secure URL like every configured one.
 */
export async function discoverEndpoint(
  issuer: string,
  field: MetadataEndpoint,
  timeoutMs: number,
): Promise<string> {
  const issuerUrl = new URL(issuer);
  const problems: string[] = [];
  for (const url of [
    authorizationServerMetadataUrl(issuerUrl),
    openIdConfigurationUrl(issuerUrl),
  ]) {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      problems.push(`${url}: ${error instanceof Error ? error.message : 'fetch failed'}`);
      continue;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      problems.push(`${url}: HTTP ${response.status}`);
      continue;
    }
    const metadata: unknown = await response.json().catch(() => undefined);
    if (typeof metadata !== 'object' || metadata === null) {
      problems.push(`${url}: not a JSON object`);
      continue;
    }
    const { issuer: stated, [field]: endpoint } = metadata as Record<string, unknown>;
    // RFC 8414 §3.3 / OIDC Discovery §4.3: the issuer in the document MUST be identical to the
    // one it was fetched for, or the document is not to be used.
    if (stated !== issuer) {
      problems.push(`${url}: issuer ${JSON.stringify(stated)} is not ${issuer}`);
      continue;
    }
    if (typeof endpoint !== 'string') {
      problems.push(`${url}: no ${field}`);
      continue;
    }
    try {
      return checkSecureUrl(endpoint, field).href;
    } catch (error) {
      problems.push(`${url}: ${(error as Error).message}`);
    }
  }
  throw new MetadataUnavailable(
    `cannot discover the ${field} of ${issuer}: ${problems.join('; ')}`,
  );
}

/** After a failed discovery, it is not tried again for this long (requests meanwhile get 503). */
export const DISCOVERY_RETRY_MS = 5_000;

/**
 * An endpoint that is either configured or discovered lazily, once (so the resource server can
 * start before the authorization server); after a failure it is not tried again for
 * `DISCOVERY_RETRY_MS`, so a flood of requests cannot turn into a flood of discoveries.
 */
export function lazyEndpoint(options: {
  readonly issuer: string;
  readonly field: MetadataEndpoint;
  readonly configured: string | undefined;
  readonly timeoutMs: number;
  readonly clock: () => number;
}): () => Promise<string> {
  if (options.configured !== undefined) {
    const configured = Promise.resolve(options.configured);
    return () => configured;
  }
  let found: Promise<string> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastFailure: unknown;
  return () => {
    if (found !== undefined) return found;
    if (options.clock() - failedAt < DISCOVERY_RETRY_MS)
      return Promise.reject(
        new MetadataUnavailable(
          `the ${options.field} of ${options.issuer} could not be discovered recently`,
          { cause: lastFailure },
        ),
      );
    const attempt = discoverEndpoint(options.issuer, options.field, options.timeoutMs);
    found = attempt;
    attempt.catch((error: unknown) => {
      failedAt = options.clock();
      lastFailure = error;
      if (found === attempt) found = undefined;
    });
    return attempt;
  };
}
