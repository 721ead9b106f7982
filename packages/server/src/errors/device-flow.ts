import { OAuthError } from './oauth-error.js';

/**
 * RFC 8628 §3.5: the token endpoint's answers while a device code waits; the client keeps
 * polling on the first two and stops on the third.
 */
export class AuthorizationPending extends OAuthError {
  constructor() {
    super('authorization_pending', 'the user has not finished yet', 400, false);
  }
}
export class SlowDown extends OAuthError {
  constructor() {
    super('slow_down', 'polling too fast: wait 5 seconds more between requests', 400, false);
  }
}
export class ExpiredToken extends OAuthError {
  constructor() {
    super('expired_token', 'the device code expired; start again', 400, false);
  }
}
