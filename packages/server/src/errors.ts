/**
 * The one catalogue of protocol errors (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7591 §3.2.2;
 * RFC 8628 §3.5). Each error knows its code, status, whether it may be redirected, and how it is
 * rendered (errors/oauth-error.ts); the error handler sends them all the same way.
 */
export { OAuthError, type OAuthErrorBody } from './errors/oauth-error.js';
export {
  AccessDenied,
  ConsentRequired,
  InteractionRequired,
  InvalidClient,
  InvalidGrant,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  LoginRequired,
  RequestTooLarge,
  ServerError,
  TemporarilyUnavailable,
  UnauthorizedClient,
  UnsupportedGrantType,
  UnsupportedResponseType,
} from './errors/protocol.js';
export {
  BearerTokenRequired,
  InsufficientScope,
  InvalidToken,
  type BearerErrorOptions,
} from './errors/bearer.js';
export {
  AccessTokenRequired,
  DpopResourceError,
  InvalidDpopProof,
  UseDpopNonce,
  type DpopChallengeOptions,
  type DpopResourceErrorCode,
} from './errors/dpop.js';
export { AuthorizationPending, ExpiredToken, SlowDown } from './errors/device-flow.js';
export { RegistrationError, type RegistrationErrorCode } from './errors/registration.js';
export { UnsafeAuthorizationRequest } from './errors/unsafe-authorization-request.js';
