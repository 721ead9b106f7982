import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { AuthInfo } from './auth-info.js';
import { extractBearerToken, type BearerRequest } from './bearer-token.js';
import {
  bearerFailure,
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
  | { readonly ok: true; readonly auth: AuthInfo; readonly claims: JWTPayload }
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
   * revocation; `checkAccessToken` and `authenticate` do.
   */
  verifyAccessToken(token: string): Promise<VerifyResult>;
  /**
   * `verifyAccessToken`, then, with `revocation` or `introspection` configured, whether the
   * token has been revoked (`invalid_token`) or that cannot be known (`unavailable`).
   */
  checkAccessToken(token: string): Promise<VerifyResult>;
  /**
   * Extracts the token of a request, checks it (`checkAccessToken`) and its scopes; says how to
   * refuse it.
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

function nonNegative(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`${option} must be a non-negative number`);
  return value;
}

/** Everything is checked here, once: a mistake in the options throws a `TypeError` at start-up. */
export function createResourceServer(options: ResourceServerOptions): ResourceServer {
  const metadata = protectedResourceMetadata(options);
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
  const clock = options.clock ?? Date.now;
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
      const context: FailureContext = { resourceMetadata: metadataUrl, requiredScopes };
      const extracted = extractBearerToken(request);
      if (!extracted.ok) {
        return {
          ok: false,
          failure:
            extracted.reason === 'missing'
              ? missingTokenFailure(context)
              : bearerFailure('invalid_request', extracted.description, context),
        };
      }
      const verified = await check(extracted.token);
      if (!verified.ok) {
        return {
          ok: false,
          failure:
            verified.reason === 'unavailable'
              ? unavailableFailure(verified.description, verified.cause)
              : bearerFailure('invalid_token', verified.description, context),
        };
      }
      // RFC 6750 §3.1 insufficient_scope: 403, and the challenge names the scopes needed so the
      // client can ask for them (MCP authorization, scope challenge handling).
      const lacking = missingScopes(verified.auth.scopes, requiredScopes);
      if (lacking.length > 0) {
        return {
          ok: false,
          failure: bearerFailure(
            'insufficient_scope',
            'the access token lacks a scope this request needs',
            context,
          ),
        };
      }
      return verified;
    },
  });
}

/** For adapters: checks a route's required scopes once, when the route is set up. */
export function requiredScopesOption(
  options: AuthenticateOptions | undefined,
): AuthenticateOptions {
  return { requiredScopes: checkScopes(options?.requiredScopes ?? [], 'requiredScopes') };
}
