export { createApp } from './app.js';
export {
  openGatehouse,
  startServer,
  firstStart,
  type DemoCredentials,
  type RunningServer,
} from './bootstrap.js';
export {
  resolveServerConfig,
  ConfigError,
  type ServerConfig,
  type ServerConfigInput,
} from './config.js';
export { systemClock, type Clock } from './clock.js';
export { InputError } from './services/input-error.js';
export type { ServiceContext } from './services/context.js';
export {
  createEnvironment,
  ensureDefaultEnvironments,
  requireEnvironment,
} from './services/environments.js';
export {
  createClient,
  updateClient,
  deleteClient,
  rotateClientSecret,
  requireClient,
  GRANT_TYPES,
  type ClientSpec,
  type CreatedClient,
  type ClientUpdate,
} from './services/clients.js';
export {
  createUser,
  requireUser,
  setUserDisabled,
  deleteUser,
  type UserSpec,
} from './services/users.js';
export { redactUrl } from './storage/database.js';
export type { Stores } from './storage/index.js';
export type { Client, ClientType, GrantType } from './storage/clients.js';
export type { User } from './storage/users.js';
export type { Environment, Tier } from './storage/environments.js';
export type { AuditEntry, AuditVerification } from './storage/audit.js';
export { createStores } from './storage/index.js';
export { openDatabase, type DatabaseHandle, type DatabaseTarget } from './storage/database.js';
