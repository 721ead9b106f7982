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
  extractAccessToken,
  extractBearerToken,
  headerValues,
  type AccessTokenExtraction,
  type BearerRequest,
  type TokenExtraction,
  type TokenScheme,
} from './bearer-token.js';
export {
  authChallenge,
  bearerChallenge,
  dpopChallenge,
  quotedString,
  sanitizeErrorDescription,
  type BearerChallengeParams,
  type BearerErrorCode,
  type DpopChallengeParams,
  type DpopErrorCode,
} from './challenge.js';
export { DEFAULT_DPOP_ALGORITHMS, type DpopOptions } from './dpop.js';
export { hmacNonces, type DpopNonceSource } from './dpop-nonce.js';
export { accessTokenHash } from './dpop-proof.js';
export { MemoryReplayCache, type DpopReplayStore } from './dpop-replay.js';
export type { RequiredScopes } from './adapter-request.js';
