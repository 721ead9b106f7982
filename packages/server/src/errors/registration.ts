import { OAuthError } from './oauth-error.js';

/** RFC 7591 §3.2.2: the registration error codes. */
export type RegistrationErrorCode = 'invalid_redirect_uri' | 'invalid_client_metadata';

/** Client metadata refused at dynamic registration or its update (RFC 7591 §3.2.2, RFC 7592 §2.2). */
export class RegistrationError extends OAuthError {
  declare readonly code: RegistrationErrorCode;

  constructor(code: RegistrationErrorCode, description: string) {
    super(code, description, 400, false);
  }
}
