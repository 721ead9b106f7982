import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { authorizationServerMetadataUrl, checkSecureUrl, openIdConfigurationUrl } from './urls.js';

export interface KeySourceOptions {
  readonly issuer: string;
  /** Skip discovery and fetch keys from here. */
  readonly jwksUri?: string;
  readonly cooldownMs: number;
  readonly cacheMaxAgeMs: number;
  readonly timeoutMs: number;
  readonly clock: () => number;
}

/** The keys could not be had: the authorization server (or the network) is at fault, not the token. */
export class KeysUnavailable extends Error {
  override readonly name = 'KeysUnavailable';
}

/** After a failed discovery, requests are answered 503 for this long before trying again. */
const DISCOVERY_RETRY_MS = 5_000;

/**
 * The issuer's signing keys. The `jwks_uri` is discovered once, lazily (so the resource server
 * can start before the authorization server); jose's remote key set then caches the keys and,
 * on a token whose `kid` it does not know, fetches them again unless it did so less than
 * `cooldownMs` ago: a rotation is picked up at once, and made-up `kid`s cannot make it hammer
 * the authorization server.
 */
export function remoteKeySource(options: KeySourceOptions): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;

  const load = async (): Promise<JWTVerifyGetKey> => {
    const jwksUri = options.jwksUri ?? (await discoverJwksUri(options.issuer, options.timeoutMs));
    return createRemoteJWKSet(new URL(jwksUri), {
      cooldownDuration: options.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs,
      timeoutDuration: options.timeoutMs,
    });
  };

  return async (header, token) => {
    if (keys === undefined && options.clock() - failedAt >= DISCOVERY_RETRY_MS) {
      const attempt = load();
      keys = attempt;
      attempt.catch(() => {
        failedAt = options.clock();
        if (keys === attempt) keys = undefined;
      });
    }
    if (keys === undefined)
      throw new KeysUnavailable('the authorization server metadata could not be read recently');
    const getKey = await keys;
    return getKey(header, token);
  };
}

/**
 * RFC 8414 §3 metadata first (`/.well-known/oauth-authorization-server` inserted before the
 * issuer's path), then OpenID Connect Discovery for servers that publish only that.
 */
async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
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
    const { issuer: stated, jwks_uri: jwksUri } = metadata as Record<string, unknown>;
    // RFC 8414 §3.3 / OIDC Discovery §4.3: the issuer in the document MUST be identical to the
    // one it was fetched for, or the document is not to be used.
    if (stated !== issuer) {
      problems.push(`${url}: issuer ${JSON.stringify(stated)} is not ${issuer}`);
      continue;
    }
    if (typeof jwksUri !== 'string') {
      problems.push(`${url}: no jwks_uri`);
      continue;
    }
    try {
      return checkSecureUrl(jwksUri, 'jwks_uri').href;
    } catch (error) {
      problems.push(`${url}: ${(error as Error).message}`);
    }
  }
  throw new KeysUnavailable(`cannot discover the keys of ${issuer}: ${problems.join('; ')}`);
}
