export { loopbackLogin, pasteLogin, type LoginOptions } from './login-flow.js';
export { login, heldScope, type ProfileLoginOptions } from './profile-login.js';
export {
  authorizationHeaders,
  credential,
  fetchWithProfile,
  type ApiRequestInit,
  type ApiRequestTarget,
  type AuthorizationHeaders,
  type ProfileOptions,
} from './api-request.js';
export { bindingKey, profileDpopKey, serverTakesDpop } from './dpop.js';
export {
  generateDpopKey,
  jwkThumbprint,
  loadDpopKey,
  type DpopKey,
  type StoredDpopKey,
} from './dpop-key.js';
export { dpopProof, type ProofTarget } from './dpop-proof.js';
export {
  startListener,
  type CallbackListener,
  type ListenerOptions,
  type LoopbackHost,
} from './loopback-listener.js';
export { discover, LoginError, type ServerOptions } from './server-metadata.js';
export { browserAvailable, browserUnavailableReason, openInBrowser } from './browser.js';
export {
  assertProfileName,
  configDir,
  FileTokenStore,
  keepsDpopKeys,
  KeyringTokenStore,
  openTokenStore,
  PROFILE_NAME,
  withProfileLock,
  type DpopKeyStore,
  type TokenStore,
} from './token-store.js';
export { validAccessToken, logout, type LogoutResult } from './session.js';
export type { StoredTokens } from './tokens.js';
export {
  deviceLogin,
  supportsDeviceFlow,
  type DeviceCodeDisplay,
  type DeviceLoginOptions,
} from './device-flow.js';
export { useProxyFromEnvironment } from './proxy.js';
export {
  formatDoctorReport,
  listenersOn,
  noProxyExempts,
  runDoctor,
  type Check,
  type CheckGroup,
  type CheckStatus,
  type DoctorOptions,
  type DoctorReport,
  type DoctorVerdict,
  type Fallback,
  type PortListener,
} from './doctor/index.js';
