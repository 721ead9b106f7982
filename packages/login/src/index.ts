export { loopbackLogin, pasteLogin, type LoginOptions } from './login-flow.js';
export {
  startListener,
  type CallbackListener,
  type ListenerOptions,
  type LoopbackHost,
} from './loopback-listener.js';
export { discover, LoginError, type ServerOptions } from './server-metadata.js';
export { browserAvailable, openInBrowser } from './browser.js';
export {
  assertProfileName,
  configDir,
  FileTokenStore,
  KeyringTokenStore,
  openTokenStore,
  PROFILE_NAME,
  withProfileLock,
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
