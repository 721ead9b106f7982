import { authChallenge } from '@gatehouse/resource';
import { OAuthError } from './oauth-error.js';

/**
 * The error codes of the authorization and token endpoints (RFC 6749 §4.1.2.1, §5.2; OpenID
 * Connect Core §3.1.2.6; RFC 8707 §2). Redirectable are exactly those the authorization endpoint
 * may send back to the client; the token endpoint's own codes are not.
 */
export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super('invalid_request', description, 400, true);
  }
}

/** RFC 9126 §2.3: a pushed authorization request larger than the server stores (413). */
export class RequestTooLarge extends OAuthError {
  constructor(description: string) {
    super('invalid_request', description, 413, false);
  }
}

/** The realm of the Basic challenge (RFC 7617 §2). */
const BASIC_REALM = 'gatehouse';

export class InvalidClient extends OAuthError {
  constructor(description = 'client authentication failed') {
    super('invalid_client', description, 401, false);
  }

  /**
   * RFC 6749 §5.2: a client that authenticated with HTTP Basic is answered 401 with a Basic
   * challenge; one that sent its credentials in the body gets no challenge.
   */
  override challenge(authorization: string | undefined): string | undefined {
    return /^basic /i.test(authorization ?? '')
      ? authChallenge('Basic', { realm: BASIC_REALM })
      : undefined;
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', description, 400, false);
  }
}
export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super('unauthorized_client', description, 400, true);
  }
}
export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super('unsupported_grant_type', description, 400, false);
  }
}
export class UnsupportedResponseType extends OAuthError {
  constructor(description: string) {
    super('unsupported_response_type', description, 400, true);
  }
}
export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', description, 400, true);
  }
}
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super('invalid_target', description, 400, true);
  }
}
export class AccessDenied extends OAuthError {
  constructor(description: string) {
    super('access_denied', description, 403, true);
  }
}
export class LoginRequired extends OAuthError {
  constructor(description = 'the user is not signed in') {
    super('login_required', description, 400, true);
  }
}
export class ConsentRequired extends OAuthError {
  constructor(description = 'the user has not consented to this client') {
    super('consent_required', description, 400, true);
  }
}

/**
 * OIDC Core §3.1.2.6: prompt=none, but the user must see a page first. Here: the confirmation a
 * public client's request always needs (RFC 8252 §8.6).
 */
export class InteractionRequired extends OAuthError {
  constructor(description = 'the user must confirm this request') {
    super('interaction_required', description, 400, true);
  }
}

/**
 * Too many requests from one place for now (RFC 6749 §4.1.2.1 temporarily_unavailable), as
 * HTTP 429 with the seconds to wait in Retry-After (RFC 9110 §10.2.3).
 */
export class TemporarilyUnavailable extends OAuthError {
  constructor(
    description: string,
    readonly retryAfterSeconds: number,
    /**
     * 429 by default; 503 where the RFC names it, as RFC 7009 §2.2.1 does for a revocation the
     * server cannot make now (the client must assume the token is still valid and retry).
     */
    status: 429 | 503 = 429,
  ) {
    super('temporarily_unavailable', description, status, true);
  }

  override headers(authorization: string | undefined): Record<string, string> {
    return { ...super.headers(authorization), 'Retry-After': String(this.retryAfterSeconds) };
  }
}

export class ServerError extends OAuthError {
  constructor() {
    super('server_error', 'the server could not complete the request', 500, true);
  }
}
