/**
 * Table shapes, shared by SQLite and PostgreSQL. Times are milliseconds since the epoch (bigint;
 * PostgreSQL's int8 is parsed to a number, exact up to 2^53). Booleans are 0/1 integers. Lists are
 * JSON text. Secrets, codes and tokens appear only as SHA-256 hashes.
 */
import type { Generated } from 'kysely';

export interface EnvironmentTable {
  name: string;
  /** Which built-in rules apply: development, staging or production. */
  tier: string;
  created_at: number;
}

export interface SigningKeyTable {
  kid: string;
  environment: string;
  alg: string;
  /** Private JWK as JSON. Encrypted at rest with issue #7. */
  private_jwk: string;
  public_jwk: string;
  /** `active` signs; `published` is only in the JWKS; `retired` is neither. */
  status: string;
  created_at: number;
}

export interface ClientTable {
  client_id: string;
  environment: string;
  name: string;
  /** `web` (confidential) or `native` (public). */
  type: string;
  secret_hash: string | null;
  redirect_uris: string;
  grant_types: string;
  skip_consent: number;
  created_at: number;
  updated_at: number;
}

export interface UserTable {
  id: string;
  environment: string;
  email: string;
  /** Lower-cased email, unique per environment. */
  email_key: string;
  name: string | null;
  password_hash: string | null;
  disabled: number;
  created_at: number;
  updated_at: number;
}

export interface SessionTable {
  id_hash: string;
  environment: string;
  user_id: string;
  auth_time: number;
  expires_at: number;
  created_at: number;
}

export interface ConsentTable {
  environment: string;
  user_id: string;
  client_id: string;
  /** Space-separated scopes, sorted. */
  scope: string;
  created_at: number;
}

export interface AuthorizationRequestTable {
  id_hash: string;
  environment: string;
  client_id: string;
  /** The validated request as JSON. */
  params: string;
  expires_at: number;
  created_at: number;
}

export interface AuthorizationCodeTable {
  code_hash: string;
  environment: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  code_challenge: string;
  scope: string;
  nonce: string | null;
  resource: string | null;
  auth_time: number;
  expires_at: number;
  consumed_at: number | null;
  created_at: number;
}

export interface RefreshTokenTable {
  token_hash: string;
  /** Every token rotated from one grant shares a family; reuse revokes it whole. */
  family_id: string;
  environment: string;
  client_id: string;
  user_id: string;
  scope: string;
  resource: string | null;
  auth_time: number;
  /** The code the family came from, so a replayed code revokes it. */
  code_hash: string | null;
  expires_at: number;
  rotated_at: number | null;
  revoked_at: number | null;
  created_at: number;
}

export interface AccessTokenTable {
  jti: string;
  environment: string;
  client_id: string;
  user_id: string | null;
  family_id: string | null;
  code_hash: string | null;
  expires_at: number;
  revoked_at: number | null;
  created_at: number;
}

export interface AuditTable {
  seq: number;
  at: number;
  environment: string | null;
  type: string;
  /** Who acted: `user:<id>`, `client:<id>`, `admin:cli`, `system`. */
  actor: string;
  client_id: string | null;
  user_id: string | null;
  /** Event details as JSON; never a secret, code or token value. */
  data: string;
  prev_hash: string;
  hash: string;
}

export interface RevocationTable {
  /** `family` (a refresh-token family) or `code` (everything issued from one authorization code). */
  kind: string;
  key: string;
  environment: string;
  revoked_at: number;
}

export interface DeviceCodeTable {
  device_code_hash: string;
  /** Normalised: upper case, no dash. */
  user_code: string;
  environment: string;
  client_id: string;
  scope: string;
  resource: string | null;
  /** `pending`, `approved`, `denied` or `consumed`. */
  status: string;
  user_id: string | null;
  auth_time: number | null;
  interval_s: number;
  last_polled_at: number | null;
  expires_at: number;
  created_at: number;
}

export interface MigrationLockPlaceholder {
  id: Generated<number>;
}

export interface Database {
  environments: EnvironmentTable;
  signing_keys: SigningKeyTable;
  clients: ClientTable;
  users: UserTable;
  sessions: SessionTable;
  consents: ConsentTable;
  authorization_requests: AuthorizationRequestTable;
  authorization_codes: AuthorizationCodeTable;
  refresh_tokens: RefreshTokenTable;
  access_tokens: AccessTokenTable;
  audit_log: AuditTable;
  revocations: RevocationTable;
  device_codes: DeviceCodeTable;
}
