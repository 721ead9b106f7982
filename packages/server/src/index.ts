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
  createOperator,
  requireOperator,
  setOperatorDisabled,
  operatorView,
  isOperatorRole,
  type OperatorSpec,
} from './services/operators.js';
export { OPERATOR_ROLES, type Operator, type OperatorRole } from './storage/operators.js';
export {
  addRedirectUri,
  removeRedirectUri,
  removeExpiredRedirectUris,
  refusedRedirectsOf,
  type RefusedRedirectView,
} from './services/redirects.js';
export { parseDuration } from './services/duration.js';
export {
  planPromotion,
  promoteClient,
  type PromotionPlan,
  type PromotionResult,
} from './services/promote.js';
export {
  startImpersonation,
  endImpersonation,
  endExpiredImpersonations,
  setImpersonationEnabled,
} from './services/impersonation.js';
export { runHousekeeping } from './services/housekeeping.js';
export { pruneAudit, type AuditPruneResult } from './services/audit-retention.js';
export { accountForJti, type TokenAccount } from './services/token-audit.js';
export { withTransaction } from './storage/transaction.js';
export {
  createClient,
  updateClient,
  deleteClient,
  rotateClientSecret,
  requireClient,
  redirectPolicyFor,
  refusedUris,
  type RefusedUri,
  type ClientSpec,
  type CreatedClient,
  type ClientUpdate,
} from './services/clients.js';
export { clientView, type ClientView } from './services/client-view.js';
export {
  ID_TOKEN_ALGS,
  TOKEN_ENDPOINT_AUTH_METHODS,
  checkJwks,
  type ClientSettingsInput,
  type JwkSet,
} from './services/client-settings.js';
export { listConsents, revokeConsent, type ConsentView } from './services/consents.js';
export {
  createUser,
  requireUser,
  setUserDisabled,
  setUserEmailVerified,
  deleteUser,
  type UserSpec,
} from './services/users.js';
export {
  importUsers,
  parseUserImport,
  type ImportedUser,
  type ImportResult,
} from './services/user-import.js';
export { redactUrl } from './storage/database.js';
export { gatehouseDatabaseExists } from './storage/existing.js';
export { databaseTarget } from './bootstrap.js';
export type { Stores } from './storage/index.js';
export { activeRedirectUris, type Client, type ClientType } from './storage/clients.js';
export {
  GRANT_TYPES,
  OIDC_SCOPES,
  DEVICE_CODE_GRANT,
  TOKEN_EXCHANGE_GRANT,
  type GrantType,
} from './protocol.js';
export type { User } from './storage/users.js';
export type { Environment, Tier } from './storage/environments.js';
export type {
  AuditEntry,
  AuditVerification,
  Checkpoint,
  ExportVerification,
} from './storage/audit.js';
export { latestCheckpoint } from './storage/audit.js';
export { createStores } from './storage/index.js';
export { openDatabase, type DatabaseHandle, type DatabaseTarget } from './storage/database.js';
export {
  backupSqlite,
  restoreSqlite,
  BackupError,
  type BackupResult,
  type RestoreResult,
} from './storage/backup.js';
export {
  parseDeclaredState,
  interpolate,
  type DeclaredState,
  type DeclaredClient,
  type DeclaredEnvironmentSettings,
} from './services/declarative/schema.js';
export {
  planState,
  applyState,
  type StatePlan,
  type ClientChange,
  type EnvironmentChange,
  type PlanProblem,
  type AppliedClient,
} from './services/declarative/plan.js';
export type { DeclaredUser, UserChange } from './services/declarative/users.js';
export {
  registerResource,
  removeResource,
  setResourceClient,
  setResourceAccessTokenAlg,
  decideResource,
  type ResourceSpec,
} from './services/resources.js';
export type { Resource } from './storage/resources.js';
export { updateEnvironmentSettings } from './services/environments.js';
export {
  checkLoopbackHosts,
  loopbackViolations,
  type LoopbackViolation,
} from './services/loopback-policy.js';
export { LOOPBACK_HOSTS, type LoopbackHost } from './storage/environments.js';
export { REGISTRATION_POLICIES, type RegistrationPolicy } from './storage/environments.js';
export {
  createInitialAccessToken,
  revokeInitialAccessTokens,
  registerDynamicClient,
  RegistrationError,
} from './services/dynamic-clients.js';
export { DocumentFetcher, type DocumentFetcherOptions } from './net/document-fetcher.js';
export {
  listKeys,
  rotateKey,
  retireKeys,
  DEFAULT_ROTATION_OVERLAP_MS,
  type KeyView,
  type KeyRole,
} from './services/keys.js';
export {
  redirectReport,
  DEFAULT_EXPIRING_DAYS,
  DEFAULT_UNUSED_DAYS,
  type RedirectReport,
  type ReportOptions,
} from './services/redirect-report.js';
export {
  formatRedirectReport,
  REPORT_FORMATS,
  type ReportFormat,
} from './services/redirect-report-format.js';
