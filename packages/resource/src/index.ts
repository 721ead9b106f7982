export {
  createResourceServer,
  type AuthenticateOptions,
  type AuthOutcome,
  type ResourceServer,
  type ResourceServerOptions,
} from './resource-server.js';
export type {
  IntrospectionOptions,
  RevocationOptions,
  RevocationStatus,
} from './revocation-check.js';
export type { RevocationFeedStatus } from './revocation-feed.js';
export type { AuthInfo } from './auth-info.js';
export type { AuthFailure } from './failure.js';
export type { VerifyResult } from './verify.js';
export {
  protectedResourceMetadata,
  type MetadataOptions,
  type ProtectedResourceMetadata,
} from './metadata.js';
export { protectedResourceMetadataUrl } from './urls.js';
export {
  authorizationHeaders,
  extractBearerToken,
  type BearerRequest,
  type TokenExtraction,
} from './bearer-token.js';
export {
  authChallenge,
  bearerChallenge,
  quotedString,
  sanitizeErrorDescription,
  type BearerChallengeParams,
  type BearerErrorCode,
} from './challenge.js';
