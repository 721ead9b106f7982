/**
 * The one catalogue of protocol errors (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7009; RFC 8628).
 * Handlers throw these; one error handler serialises them. Anything else becomes a 500 that
 * exposes nothing.
 */
export class OAuthError extends Error {
  constructor(
    /** The RFC error code. */
    readonly code: string,
    /** Shown to the client as `error_description`: must never contain secrets or internals. */
    readonly description: string,
    readonly status: number,
    /** Whether the error may be sent to the client's redirect URI (it may not when the client or redirect URI is in doubt). */
    readonly redirectable: boolean,
  ) {
    super(description);
    this.name = new.target.name;
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super('invalid_request', description, 400, true);
  }
}
export class InvalidClient extends OAuthError {
  constructor(description = 'client authentication failed') {
    super('invalid_client', description, 401, false);
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
export class InvalidToken extends OAuthError {
  constructor(description = 'the access token is invalid, expired or revoked') {
    super('invalid_token', description, 401, false);
  }
}
export class UnsupportedTokenType extends OAuthError {
  constructor(description: string) {
    super('unsupported_token_type', description, 400, false);
  }
}
export class ServerError extends OAuthError {
  constructor() {
    super('server_error', 'the server could not complete the request', 500, true);
  }
}

/**
 * A request whose client or redirect URI cannot be trusted: shown as an error page, never
 * redirected (RFC 6749 §4.1.2.1).
 */
export class UnsafeAuthorizationRequest extends Error {
  constructor(
    /** Plain words for the end user. */
    readonly userMessage: string,
    /** What an operator needs to fix it; shown only in the development environment. */
    readonly operatorDetail?: {
      readonly message: string;
      readonly requested?: string;
      readonly closest?: string;
      readonly expected?: string;
      readonly index?: number;
    },
  ) {
    super(userMessage);
    this.name = 'UnsafeAuthorizationRequest';
  }
}
