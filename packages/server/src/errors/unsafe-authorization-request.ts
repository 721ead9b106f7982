import type { OperatorDetail } from '../pages/pages.js';
import { OAuthError } from './oauth-error.js';

/**
 * An authorization request whose client or redirect URI cannot be trusted: shown as an error
 * page (OAuthError.page), never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.1.1).
 */
export class UnsafeAuthorizationRequest extends OAuthError {
  constructor(
    /** Plain words for the end user: the page's message and the description. */
    readonly userMessage: string,
    /** What an operator needs to fix it; shown only in the development environment. */
    override readonly operatorDetail?: OperatorDetail,
  ) {
    super('invalid_request', userMessage, 400, false);
  }
}
