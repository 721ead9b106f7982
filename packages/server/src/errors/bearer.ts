import { authChallenge, sanitizeErrorDescription } from '@gatehouse/resource';
import { OAuthError } from './oauth-error.js';

export interface BearerErrorOptions {
  /** RFC 6750 §3: the protection space; left out where the endpoint has never sent one. */
  readonly realm?: string | undefined;
}

/**
 * A request to a Bearer-protected endpoint (userinfo, RFC 7592 client management) refused
 * (RFC 6750 §3.1). The challenge carries the code and the description, the latter reduced to
 * the characters RFC 6750 §3 allows and sent as a quoted-string, so it cannot break the header.
 */
abstract class BearerError extends OAuthError {
  readonly realm: string | undefined;

  constructor(code: string, description: string, status: number, options: BearerErrorOptions) {
    super(code, description, status, false);
    this.realm = options.realm;
  }

  override challenge(): string {
    return authChallenge('Bearer', {
      realm: this.realm,
      error: this.code,
      error_description: sanitizeErrorDescription(this.description),
    });
  }
}

/** The access token is expired, revoked, malformed or not for this endpoint (RFC 6750 §3.1). */
export class InvalidToken extends BearerError {
  constructor(
    description = 'the access token is invalid, expired or revoked',
    options: BearerErrorOptions = {},
  ) {
    super('invalid_token', description, 401, options);
  }
}

/** The access token lacks a scope the endpoint needs (RFC 6750 §3.1). */
export class InsufficientScope extends BearerError {
  constructor(description: string, options: BearerErrorOptions = {}) {
    super('insufficient_scope', description, 403, options);
  }
}

/**
 * The request carried no Bearer token at all. RFC 6750 §3.1: the challenge then has no error
 * code (only the realm); the body still says what is missing.
 */
export class BearerTokenRequired extends BearerError {
  constructor(options: BearerErrorOptions = {}) {
    super('invalid_request', 'a Bearer access token is required', 401, options);
  }

  override challenge(): string {
    return authChallenge('Bearer', { realm: this.realm });
  }
}
