import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { AuthInfo } from './auth-info.js';
import { extractAccessToken, type BearerRequest } from './bearer-token.js';
import type { DpopErrorCode } from './challenge.js';
import { dpopSettings, requestUri, tokenBinding, type DpopOptions } from './dpop.js';
import { checkProof } from './dpop-proof.js';
import {
  bearerFailure,
  dpopFailure,
  missingTokenFailure,
  unavailableFailure,
  type AuthFailure,
  type FailureContext,
} from './failure.js';
import { remoteKeySource } from './key-source.js';
import {
  protectedResourceMetadata,
  type MetadataOptions,
  type ProtectedResourceMetadata,
} from './metadata.js';
import {
  revocationCheck,
  type IntrospectionOptions,
  type RevocationOptions,
  type RevocationStatus,
} from './revocation-check.js';
import { checkScopes, missingScopes } from './scopes.js';
import { checkSecureUrl, protectedResourceMetadataUrl } from './urls.js';
import { verifyAccessToken, type VerifyResult } from './verify.js';

export interface ResourceServerOptions extends MetadataOptions {
  /**
   * DPoP (RFC 9449 §7): always on for tokens bound to a key (`cnf.jkt`), which are accepted only
   * with the `DPoP` scheme and a valid proof; these options tune it, require it for every token,
   * or add server nonces.
   */
  readonly dpop?: DpopOptions;
  /**
   * Where the issuer's keys are. By default discovered from its RFC 8414 metadata (then OpenID
   * Connect Discovery); set it for a server that publishes neither.
   */
  readonly jwksUri?: string;
  /** Signature algorithms accepted (RFC 8725 §3.1). Default `['ES256', 'RS256', 'EdDSA']`. */
  readonly algorithms?: readonly string[];
  /** Leeway for `exp` and `nbf`, for clocks that disagree a little. Default 30 s. */
  readonly clockToleranceSeconds?: number;
  /**
   * RFC 9068: require `typ: at+jwt` and the claims it makes mandatory. Default true; turn it off
   * only for an authorization server that issues plain JWTs as access tokens.
   */
  readonly requireAtJwt?: boolean;
  /** After fetching keys, no refetch for an unknown `kid` for this long. Default 30 s. */
  readonly jwksCooldownMs?: number;
  /** Keys are refetched when older than this. Default 10 min. */
  readonly jwksCacheMaxAgeMs?: number;
  /**
   * Timeout of each request to the authorization server (metadata, keys, the revocation feed,
   * introspection). Default 5 s.
   */
  readonly timeoutMs?: number;
  /**
   * Refuse revoked tokens by following the authorization server's revocation feed in the
   * background (see the README). Exclusive with `introspection`.
   */
  readonly revocation?: RevocationOptions;
  /**
   * Refuse revoked tokens by asking the authorization server (RFC 7662) about each verified
   * token, answers cached briefly. Exclusive with `revocation`.
   */
  readonly introspection?: IntrospectionOptions;
  /** Milliseconds since the epoch; for tests. Default `Date.now`. */
  readonly clock?: () => number;
}

export interface AuthenticateOptions {
  /** Every one must be among the token's scopes, or the answer is 403 insufficient_scope. */
  readonly requiredScopes?: readonly string[];
}

export type AuthOutcome =
  | {
      readonly ok: true;
      /** `auth.extra.dpopJkt` is the key's thumbprint when the token is DPoP-bound. */
      readonly auth: AuthInfo;
      readonly claims: JWTPayload;
      /**
       * Headers for the response to the accepted request: `dpop-nonce`, the next nonce, when
       * nonces are required (RFC 9449 §9). The adapters set them.
       */
      readonly headers: Readonly<Record<string, string>>;
    }
  | { readonly ok: false; readonly failure: AuthFailure };

export interface ResourceServer {
  readonly resource: string;
  readonly issuer: string;
  /** The RFC 9728 document to serve. */
  readonly metadata: ProtectedResourceMetadata;
  /** Its absolute URL (RFC 9728 §3.1), as sent in `resource_metadata`. */
  readonly metadataUrl: string;
  /** Its path (and query, if the resource has one), for routing. */
  readonly metadataPath: string;
  /**
   * Checks a token's JWT alone: signature, type, issuer, audience, time. It does NOT check
   * revocation, nor a DPoP proof for a bound token (`auth.extra.dpopJkt`); `authenticate` does
   * both.
   */
  verifyAccessToken(token: string): Promise<VerifyResult>;
  /**
   * `verifyAccessToken`, then, with `revocation` or `introspection` configured, whether the
   * token has been revoked (`invalid_token`) or that cannot be known (`unavailable`).
   */
  checkAccessToken(token: string): Promise<VerifyResult>;
  /**
   * Extracts the token of a request (`Bearer` or `DPoP`), checks it, its DPoP proof when it is
   * bound or sent as `DPoP` (give `method`, `url` and `dpop`), its revocation and its scopes;
   * says how to refuse it.
   */
  authenticate(request: BearerRequest, options?: AuthenticateOptions): Promise<AuthOutcome>;
  /** How revocation is checked, and for the feed how fresh it is: for a readiness probe. */
  revocationStatus(): RevocationStatus;
  /**
   * Stops the background work (the revocation feed's reads, introspection under way). A feed
   * that is no longer followed is stale: with `onStale: 'fail-closed'` requests get 503 after.
   */
  close(): Promise<void>;
}

const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

/** A replay store or nonce source that threw: see `fromDpopStores`. */
class DpopStoreFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * The replay store and the nonce source may be the application's (a shared database): one that
 * fails is not the client's doing, so the request is answered 503 and the cause logged (fail
 * closed, like keys that cannot be fetched), never left to an exception that no framework answers
 * (Express 4 leaves a rejected middleware promise unhandled, which ends a Node process).
 */
async function fromDpopStores<T>(step: () => T | Promise<T>): Promise<T | DpopStoreFailure> {
  try {
    return await step();
  } catch (error) {
    return new DpopStoreFailure(error);
  }
}

function storeFailure(failed: DpopStoreFailure): AuthFailure {
  return unavailableFailure(
    'the DPoP proof could not be checked: the replay store or nonce source failed',
    failed.cause,
  );
}

function nonNegative(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`${option} must be a non-negative number`);
  return value;
}

/** Everything is checked here, once: a mistake in the options throws a `TypeError` at start-up. */
export function createResourceServer(options: ResourceServerOptions): ResourceServer {
  const clock = options.clock ?? Date.now;
  const dpop = dpopSettings(options.dpop, options.resource, clock);
  const metadata = protectedResourceMetadata({
    ...options,
    dpop: { algorithms: dpop.algorithms, required: dpop.required },
  });
  const metadataUrl = protectedResourceMetadataUrl(options.resource);
  const parsedMetadataUrl = new URL(metadataUrl);
  if (options.jwksUri !== undefined) checkSecureUrl(options.jwksUri, 'jwksUri');
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty');
  // RFC 8725 §2.1/§3.1: never `none`, and no symmetric algorithm: the keys here are public.
  for (const alg of algorithms) {
    if (alg === 'none' || alg.startsWith('HS'))
      throw new TypeError(`algorithms must be asymmetric signature algorithms, not ${alg}`);
  }
  const timeoutMs = Math.round(nonNegative(options.timeoutMs, 5_000, 'timeoutMs'));
  const getKey: JWTVerifyGetKey = remoteKeySource({
    issuer: options.issuer,
    ...(options.jwksUri === undefined ? {} : { jwksUri: options.jwksUri }),
    cooldownMs: nonNegative(options.jwksCooldownMs, 30_000, 'jwksCooldownMs'),
    cacheMaxAgeMs: nonNegative(options.jwksCacheMaxAgeMs, 600_000, 'jwksCacheMaxAgeMs'),
    timeoutMs,
    clock,
  });
  const verifyOptions = {
    issuer: options.issuer,
    resource: options.resource,
    algorithms: Object.freeze([...algorithms]),
    clockToleranceSeconds: nonNegative(options.clockToleranceSeconds, 30, 'clockToleranceSeconds'),
    requireAtJwt: options.requireAtJwt ?? true,
    clock,
  };
  const verify = (token: string) => verifyAccessToken(token, getKey, verifyOptions);
  // Last: this starts the feed follower, so no later TypeError can leave one running.
  const revocation = revocationCheck(options, {
    issuer: options.issuer,
    timeoutMs,
    clockToleranceSeconds: verifyOptions.clockToleranceSeconds,
    clock,
  });
  const check = async (token: string): Promise<VerifyResult> => {
    // The JWT is verified first, so a forged or expired token never costs a request to the
    // authorization server, and only its verified claims are matched against revocations.
    const verified = await verify(token);
    if (!verified.ok) return verified;
    // RFC 9449 §7.2: no proof comes this way, so a token bound to a key (or by a method this
    // resource cannot check) is refused: taken here, a copied token would work without its key.
    if (verified.claims.cnf !== undefined)
      return {
        ok: false,
        reason: 'invalid_token',
        description:
          'the access token is bound to a key: it is accepted only with a DPoP proof (authenticate)',
      };
    const outcome = await revocation.check(token, verified.claims);
    return outcome.ok ? verified : outcome;
  };

  return Object.freeze({
    resource: options.resource,
    issuer: options.issuer,
    metadata,
    metadataUrl,
    metadataPath: parsedMetadataUrl.pathname + parsedMetadataUrl.search,
    verifyAccessToken: verify,
    checkAccessToken: check,
    revocationStatus: () => revocation.status(),
    close: () => revocation.close(),
    async authenticate(
      request: BearerRequest,
      authOptions: AuthenticateOptions = {},
    ): Promise<AuthOutcome> {
      const requiredScopes = checkScopes(authOptions.requiredScopes ?? [], 'requiredScopes');
      const context: FailureContext = {
        resourceMetadata: metadataUrl,
        requiredScopes,
        dpopAlgorithms: dpop.algorithms,
        dpopRequired: dpop.required,
      };
      const refuse = (failure: AuthFailure): AuthOutcome => ({ ok: false, failure });
      const extracted = extractAccessToken(request);
      if (!extracted.ok) {
        if (extracted.reason === 'missing') {
          const nonce = await fromDpopStores(() => dpop.nonces?.issue());
          return refuse(
            nonce instanceof DpopStoreFailure
              ? storeFailure(nonce)
              : missingTokenFailure(context, nonce),
          );
        }
        return refuse(
          extracted.scheme === 'DPoP'
            ? dpopFailure('invalid_request', extracted.description, context)
            : bearerFailure('invalid_request', extracted.description, context),
        );
      }
      const { token, scheme } = extracted;
      // RFC 9449 §7.1: a refusal answers in the scheme the token needs. A bearer token's refusals
      // stay `Bearer` challenges, as for any RFC 6750 resource.
      const inScheme = (error: DpopErrorCode, description: string, dpopScheme: boolean) =>
        refuse(
          dpopScheme || error === 'invalid_dpop_proof' || error === 'use_dpop_nonce'
            ? dpopFailure(error, description, context)
            : bearerFailure(error, description, context),
        );

      // The JWT first: a forged or expired token costs neither a proof check nor a request to
      // the authorization server, and only verified claims say whether the token is bound.
      const verified = await verify(token);
      if (!verified.ok) {
        return verified.reason === 'unavailable'
          ? refuse(unavailableFailure(verified.description, verified.cause))
          : inScheme('invalid_token', verified.description, scheme === 'DPoP');
      }
      const binding = tokenBinding(verified.claims);
      if (binding.bound === 'unsupported')
        return inScheme('invalid_token', binding.description, scheme === 'DPoP');
      const headers: Record<string, string> = {};
      let auth = verified.auth;
      if (binding.bound) {
        // RFC 9449 §7.2: a bound token presented as a bearer token is refused.
        if (scheme !== 'DPoP')
          return inScheme(
            'invalid_token',
            'the access token is bound to a key: send it with the DPoP scheme and a DPoP proof',
            true,
          );
        if (request.method === undefined || request.url === undefined)
          return inScheme(
            'invalid_dpop_proof',
            'the DPoP proof cannot be checked: the resource server lacks the request method or URL',
            true,
          );
        const uri = requestUri(dpop.base, request.url);
        if (uri === undefined)
          return inScheme(
            'invalid_request',
            'the request target is not a valid path in normal form',
            true,
          );
        const { method, dpop: proofs = [] } = request;
        const proof = await fromDpopStores(() =>
          checkProof({ proofs, method, uri, accessToken: token, jkt: binding.jkt }, dpop.proof),
        );
        if (proof instanceof DpopStoreFailure) return refuse(storeFailure(proof));
        // RFC 9449 §9: a nonce with use_dpop_nonce, and a fresh one with every accepted request,
        // so the client has one ready.
        const nonce =
          dpop.nonces !== undefined && (proof.ok || proof.error === 'use_dpop_nonce')
            ? await fromDpopStores(() => dpop.nonces?.issue())
            : undefined;
        if (nonce instanceof DpopStoreFailure) return refuse(storeFailure(nonce));
        if (!proof.ok) return refuse(dpopFailure(proof.error, proof.description, context, nonce));
        if (nonce !== undefined) headers['dpop-nonce'] = nonce;
        auth = { ...auth, extra: { ...auth.extra, dpopJkt: binding.jkt } };
      } else if (scheme === 'DPoP') {
        // RFC 9449 §7.1: the DPoP scheme says the token is bound; an unbound one is not what it
        // claims to be.
        return inScheme(
          'invalid_token',
          'the access token sent as DPoP is not bound to a key',
          true,
        );
      } else if (dpop.required) {
        return inScheme(
          'invalid_token',
          'this resource accepts DPoP-bound access tokens only',
          true,
        );
      }

      const revoked = await revocation.check(token, verified.claims);
      if (!revoked.ok) {
        return revoked.reason === 'unavailable'
          ? refuse(unavailableFailure(revoked.description, revoked.cause))
          : inScheme('invalid_token', revoked.description, binding.bound);
      }
      // RFC 6750 §3.1 insufficient_scope: 403, and the challenge names every scope the request
      // needs, not only the lacking ones, so a client that asks for exactly that set gets a token
      // fit for the request (MCP authorization, step-up).
      const lacking = missingScopes(auth.scopes, requiredScopes);
      if (lacking.length > 0)
        return inScheme(
          'insufficient_scope',
          'the access token lacks a scope this request needs',
          binding.bound,
        );
      return { ok: true, auth, claims: verified.claims, headers };
    },
  });
}

/** For adapters: checks a route's required scopes once, when the route is set up. */
export function requiredScopesOption(
  options: AuthenticateOptions | undefined,
): AuthenticateOptions {
  return { requiredScopes: checkScopes(options?.requiredScopes ?? [], 'requiredScopes') };
}
