import {
  bearerChallenge,
  dpopChallenge,
  type BearerErrorCode,
  type DpopErrorCode,
} from './challenge.js';

/**
 * A refused request, ready to be written by any framework: status, headers and body. The
 * description is one of this library's fixed texts.
 */
export interface AuthFailure {
  readonly status: 400 | 401 | 403 | 503;
  /** Absent when no token was sent (RFC 6750 §3.1), and on a 503. */
  readonly error?: DpopErrorCode | 'server_error';
  readonly description?: string;
  /**
   * `www-authenticate` (one value; when two challenges are offered, `Bearer …, DPoP …` as RFC
   * 9110 §11.6.1 allows), `dpop-nonce` when a nonce is handed out (RFC 9449 §9), ...
   */
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text (`{ error, error_description }`), or undefined for an empty body. */
  readonly body: string | undefined;
  /**
   * On a 503, what went wrong (keys, metadata, the revocation feed, introspection): for the
   * application's log, never for the client. It never holds a credential.
   */
  readonly cause?: unknown;
}

export interface FailureContext {
  readonly resourceMetadata: string;
  readonly requiredScopes: readonly string[];
  /** RFC 9449 §7.1 `algs` of the `DPoP` challenge. */
  readonly dpopAlgorithms: readonly string[];
  /** Only DPoP-bound tokens are accepted: no `Bearer` challenge is offered. */
  readonly dpopRequired: boolean;
}

/**
 * The status for each error code is RFC 6750 §3.1's: invalid_request 400, invalid_token 401,
 * insufficient_scope 403; RFC 9449 §7.1 and §9 answer a bad proof and a missing nonce with 401.
 * The MCP authorization spec asks for the same, plus RFC 9728 §5.1 `resource_metadata` on every
 * challenge so a client can find the authorization server.
 */
const STATUS: Record<DpopErrorCode, 400 | 401 | 403> = {
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
};

function nonceHeader(nonce: string | undefined): Record<string, string> {
  return nonce === undefined ? {} : { 'dpop-nonce': nonce };
}

/**
 * No token: 401 and challenges with no error code (RFC 6750 §3.1), naming the scopes needed:
 * `Bearer` (unless DPoP is required) and `DPoP` with its `algs` (RFC 9449 §7.1), `Bearer` first
 * since MCP clients read the first challenge. With nonces required, a first nonce comes along.
 */
export function missingTokenFailure(context: FailureContext, nonce?: string): AuthFailure {
  const dpop = dpopChallenge({
    algs: context.dpopAlgorithms,
    resourceMetadata: context.resourceMetadata,
    scope: context.requiredScopes,
  });
  const challenges = context.dpopRequired
    ? dpop
    : `${bearerChallenge({ resourceMetadata: context.resourceMetadata, scope: context.requiredScopes })}, ${dpop}`;
  return {
    status: 401,
    headers: { 'www-authenticate': challenges, ...nonceHeader(nonce) },
    body: undefined,
  };
}

function errorFailure(
  error: DpopErrorCode,
  description: string,
  challenge: string,
  nonce: string | undefined,
): AuthFailure {
  return {
    status: STATUS[error],
    error,
    description,
    headers: {
      'www-authenticate': challenge,
      'content-type': 'application/json',
      ...nonceHeader(nonce),
    },
    body: JSON.stringify({ error, error_description: description }),
  };
}

/** A refusal in the `Bearer` scheme: the request used it, and the token was not bound. */
export function bearerFailure(
  error: BearerErrorCode,
  description: string,
  context: FailureContext,
): AuthFailure {
  return errorFailure(
    error,
    description,
    bearerChallenge({
      resourceMetadata: context.resourceMetadata,
      error,
      errorDescription: description,
      scope: context.requiredScopes,
    }),
    undefined,
  );
}

/**
 * A refusal in the `DPoP` scheme (RFC 9449 §7.1): the request used it, or the token is bound,
 * or only bound tokens are accepted. `nonce` goes in `DPoP-Nonce` (RFC 9449 §9).
 */
export function dpopFailure(
  error: DpopErrorCode,
  description: string,
  context: FailureContext,
  nonce?: string,
): AuthFailure {
  return errorFailure(
    error,
    description,
    dpopChallenge({
      algs: context.dpopAlgorithms,
      resourceMetadata: context.resourceMetadata,
      error,
      errorDescription: description,
      scope: context.requiredScopes,
    }),
    nonce,
  );
}

export function unavailableFailure(description: string, cause: unknown): AuthFailure {
  return {
    status: 503,
    error: 'server_error',
    description,
    headers: { 'content-type': 'application/json', 'retry-after': '5' },
    body: JSON.stringify({ error: 'server_error', error_description: description }),
    cause,
  };
}
