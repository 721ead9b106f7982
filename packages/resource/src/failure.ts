import { bearerChallenge, type BearerErrorCode } from './challenge.js';

/**
 * A refused request, ready to be written by any framework: status, headers and body. The
 * description is one of this library's fixed texts.
 */
export interface AuthFailure {
  readonly status: 400 | 401 | 403 | 503;
  /** Absent when no token was sent (RFC 6750 §3.1), and on a 503. */
  readonly error?: BearerErrorCode | 'server_error';
  readonly description?: string;
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
}

/**
 * The status for each error code is RFC 6750 §3.1's: invalid_request 400, invalid_token 401,
 * insufficient_scope 403. The MCP authorization spec asks for the same, plus RFC 9728 §5.1
 * `resource_metadata` on every challenge so a client can find the authorization server.
 */
const STATUS: Record<BearerErrorCode, 400 | 401 | 403> = {
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
};

/** No token: 401 and a challenge with no error code (RFC 6750 §3.1), naming the scopes needed. */
export function missingTokenFailure(context: FailureContext): AuthFailure {
  return {
    status: 401,
    headers: {
      'www-authenticate': bearerChallenge({
        resourceMetadata: context.resourceMetadata,
        scope: context.requiredScopes,
      }),
    },
    body: undefined,
  };
}

export function bearerFailure(
  error: BearerErrorCode,
  description: string,
  context: FailureContext,
): AuthFailure {
  return {
    status: STATUS[error],
    error,
    description,
    headers: {
      'www-authenticate': bearerChallenge({
        resourceMetadata: context.resourceMetadata,
        error,
        errorDescription: description,
        scope: context.requiredScopes,
      }),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ error, error_description: description }),
  };
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
