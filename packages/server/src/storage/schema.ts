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
  /** 0/1: whether support operators may impersonate users here (off by default). */
  impersonation_enabled: Generated<number>;
  /** Dynamic client registration: `open`, `token` (initial access token) or `off`. */
  registration: Generated<string>;
  /** 0/1, development only: Client ID Metadata Documents may be fetched from loopback. */
  allow_loopback_documents: Generated<number>;
  /** 0/1: Client ID Metadata Documents are accepted (only where allowed explicitly). */
  metadata_documents: Generated<number>;
  require_par: Generated<number>;
  /** 0/1 (migration 0014): every token request here must carry a DPoP proof (RFC 9449). */
  require_dpop: Generated<number>;
  /** Seconds a just-rotated refresh token still gets a successor (migration 0014); 0: none. */
  refresh_grace_seconds: Generated<number>;
  /**
   * JSON list of the loopback hosts redirect URIs may name here (migration 0015): a subset of
   * `127.0.0.1`, `[::1]`, `localhost`. Null: all three (the default).
   */
  loopback_hosts: string | null;
  created_at: number;
}

export interface SigningKeyTable {
  kid: string;
  environment: string;
  alg: string;
  /** Private JWK as JSON, sealed with AES-256-GCM under GATEHOUSE_SECRET_KEY (`enc:v1:`). */
  private_jwk: string;
  public_jwk: string;
  /** `active` (in the JWKS; signs from `activates_at`) or `retired` (neither). */
  status: string;
  /** When it starts signing; null: from creation. Published in the JWKS before that. */
  activates_at: number | null;
  retired_at: number | null;
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
  /** JSON object: redirect URI -> expiry (ms). URIs without an entry never expire. */
  redirect_uri_expiries: Generated<string>;
  /** Set when a declarative file (`gatehouse apply`) manages the client: the file's key for it. */
  managed_by: string | null;
  /** `<environment>/<client_id>` this client was promoted from. */
  promoted_from: string | null;
  /** `registered` (by an operator), `dynamic` (RFC 7591) or `metadata_document`. */
  kind: Generated<string>;
  /** JSON: RFC 7591 metadata kept beyond the columns above. Client-supplied: never trusted text. */
  metadata: Generated<string>;
  /** SHA-256 of the RFC 7592 registration access token (dynamic clients). */
  registration_token_hash: string | null;
  /** When a metadata document was last fetched (ms). */
  fetched_at: number | null;
  /** JSON list of RFC 8707 resources this client may ask for; null: any the environment allows. */
  allowed_resources: string | null;
  /** JSON list of audiences this client may obtain by token exchange (RFC 8693); null: none. */
  exchange_audiences: string | null;
  /** JSON list of the scopes this client may be granted without a resource (client_credentials). */
  scopes: Generated<string>;
  /** Issue #16 (migration 0013): null means RS256, the OIDC default. */
  id_token_signed_response_alg: string | null;
  /** JSON list, matched like redirect URIs (RP-Initiated Logout §3.1). */
  post_logout_redirect_uris: Generated<string>;
  backchannel_logout_uri: string | null;
  /** A JWK Set as JSON (RFC 7591 `jwks`), for private_key_jwt. */
  jwks: string | null;
  jwks_uri: string | null;
  /** Null: implied by the type (a secret, or `none` for a public client). */
  token_endpoint_auth_method: string | null;
  require_par: Generated<number>;
  pkce_exempt_with_nonce: Generated<number>;
  /** 0/1 (migration 0014): token requests must carry a DPoP proof (RFC 9449). */
  require_dpop: Generated<number>;
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
  email_verified: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface SessionTable {
  id_hash: string;
  environment: string;
  user_id: string;
  /** The public session id (ID token `sid`); null for sessions from before 0013. */
  sid: string | null;
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
  /** 0/1: the authorization request carried redirect_uri, so the token request must too. */
  redirect_uri_sent: Generated<number>;
  code_challenge: string;
  scope: string;
  nonce: string | null;
  resource: string | null;
  auth_time: number;
  expires_at: number;
  consumed_at: number | null;
  impersonation_id: string | null;
  /** The grant the code was spent on (set with consumed_at): a replay revokes it (migration 0012). */
  grant_id: string | null;
  /** JSON { sid?, amr?, acr? } for the ID tokens issued later (migration 0013). */
  session_claims: string | null;
  /** RFC 9449 §10: the DPoP key thumbprint the code is bound to (migration 0014). */
  dpop_jkt: Generated<string | null>;
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
  impersonation_id: string | null;
  /** JSON { sid?, amr?, acr? } for the ID tokens issued later (migration 0013). */
  session_claims: string | null;
  /** RFC 9449 §5: the DPoP key thumbprint a rotation must prove (migration 0014). */
  dpop_jkt: Generated<string | null>;
  /** Successors handed out for this token inside the refresh grace window (migration 0014). */
  grace_successors: Generated<number>;
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
  impersonation_id: string | null;
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
  /** 64 hex digits: SHA-256 (version 1); `v2:` and 64 hex digits: HMAC-SHA-256 (version 2). */
  hash: string;
}

/**
 * Where the audit chain starts once its oldest entries were removed (retention): the first entry
 * kept and the hash it links to, MACed under the chain key (storage/audit/anchor.ts).
 */
export interface AuditAnchorTable {
  name: string;
  first_seq: number;
  prev_hash: string;
  /** How many entries were removed, over every prune. */
  removed: number;
  removed_at: number;
  mac: string;
}

/** How far an export sink without a memory of its own (stdout) got: its last entry. */
export interface AuditExportCursorTable {
  name: string;
  seq: number;
  hash: string;
  updated_at: number;
}

export interface RevocationTable {
  /** `family` (a refresh-token family) or `code` (everything issued from one authorization code). */
  kind: string;
  key: string;
  environment: string;
  revoked_at: number;
}

/**
 * A revocation as an event (migration 0012): every token whose claim named by `kind` equals `key`
 * and that was issued at or before `issued_before` is revoked. Kept until `expires_at`, when no
 * token it covers can still be valid. `seq` orders the feed resource servers follow.
 */
export interface RevocationEventTable {
  seq: Generated<number>;
  environment: string;
  /** `token` (jti), `grant` (grant_id), `user` (sub), `client` (client_id), `impersonation`. */
  kind: string;
  key: string;
  issued_before: number;
  expires_at: number;
  created_at: number;
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
  /** JSON { sid?, amr?, acr? } for the ID tokens issued later (migration 0013). */
  session_claims: string | null;
  /** The grant it was spent on, set with `consumed` (migration 0014). */
  grant_id: Generated<string | null>;
  created_at: number;
}

export interface OperatorTable {
  id: string;
  email: string;
  email_key: string;
  /** `admin`, `support` or `viewer`. */
  role: string;
  password_hash: string;
  disabled: number;
  created_at: number;
  updated_at: number;
}

export interface OperatorSessionTable {
  id_hash: string;
  operator_id: string;
  /** Sent back in a header on every change; not a secret on its own (the cookie is). */
  csrf_token: string;
  expires_at: number;
  created_at: number;
}

export interface RefusedRedirectTable {
  environment: string;
  client_id: string;
  redirect_uri: string;
  policy_code: string;
  count: number;
  first_seen_at: number;
  last_seen_at: number;
}

/**
 * One registered redirect URI (or post-logout URI) of a client (migration 0015): who registered it,
 * how and when, and how it has been used. Rows follow the client's lists (storage/clients.ts);
 * the counters are added to in batches (services/redirect-usage.ts), never set.
 */
export interface RedirectRegistrationTable {
  environment: string;
  client_id: string;
  /** `redirect` or `post_logout`. */
  kind: string;
  uri: string;
  registered_at: number;
  /** The audit actor (`operator:<id>`, `admin:cli`, `system`); null when registered before 0015. */
  registered_by: string | null;
  /** How: console, cli, declarative, dynamic, metadata_document, promotion, system, unknown. */
  channel: string;
  /** The last successful authorization (a code issued) or logout return to it. */
  last_used_at: number | null;
  /** Successful authorizations (codes issued) or logout returns. */
  use_count: Generated<number>;
  /** Authorization requests that matched it. */
  request_count: Generated<number>;
}

export interface ImpersonationTable {
  id: string;
  environment: string;
  operator_id: string;
  user_id: string;
  client_id: string;
  reason: string;
  /** SHA-256 of the cookie that carries the impersonation in the operator's browser. */
  cookie_hash: string;
  started_at: number;
  expires_at: number;
  ended_at: number | null;
  /** `ended` (by an operator) or `expired`. */
  end_reason: string | null;
}

export interface ResourceTable {
  environment: string;
  /** The RFC 8707 resource indicator, exactly as clients send it and tokens carry it in `aud`. */
  uri: string;
  name: string;
  /** JSON list of the scopes this resource defines. */
  scopes: string;
  /**
   * The client that acts for this resource (migration 0012): it may introspect tokens for the
   * resource's audience (RFC 7662 §2.1) and read the environment's revocation feed.
   */
  client_id: string | null;
  /** Null: ES256. Issue #16: a resource may ask for RS256 access tokens. */
  access_token_alg: string | null;
  created_at: number;
}

export interface InitialAccessTokenTable {
  token_hash: string;
  environment: string;
  expires_at: number;
  created_at: number;
}

export interface AttemptTable {
  key: string;
  at: number;
}

/** Attempts per key in the current window (migration 0008; `attempts` is no longer written). */
export interface AttemptCounterTable {
  key: string;
  count: number;
  opened_at: number;
  expires_at: number;
}

export interface SessionClientTable {
  environment: string;
  sid: string;
  client_id: string;
  user_id: string;
  expires_at: number;
  created_at: number;
}

export interface LogoutDeliveryTable {
  id: string;
  environment: string;
  client_id: string;
  uri: string;
  sub: string;
  sid: string | null;
  /** 'pending' | 'delivered' | 'failed' */
  status: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface ClientAssertionJtiTable {
  environment: string;
  client_id: string;
  jti: string;
  expires_at: number;
}

export interface PushedAuthorizationRequestTable {
  request_uri_hash: string;
  environment: string;
  client_id: string;
  params: string;
  expires_at: number;
  consumed_at: number | null;
  created_at: number;
}

export interface DpopProofJtiTable {
  environment: string;
  /** RFC 7638 thumbprint of the proof's key. */
  jkt: string;
  jti: string;
  expires_at: number;
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
  audit_export_cursors: AuditExportCursorTable;
  audit_anchor: AuditAnchorTable;
  revocations: RevocationTable;
  revocation_events: RevocationEventTable;
  device_codes: DeviceCodeTable;
  operators: OperatorTable;
  operator_sessions: OperatorSessionTable;
  refused_redirects: RefusedRedirectTable;
  /** Refused post_logout_redirect_uri values (migration 0016), as `refused_redirects`. */
  refused_post_logout_redirects: RefusedRedirectTable;
  redirect_registrations: RedirectRegistrationTable;
  impersonations: ImpersonationTable;
  resources: ResourceTable;
  initial_access_tokens: InitialAccessTokenTable;
  attempts: AttemptTable;
  attempt_counters: AttemptCounterTable;
  session_clients: SessionClientTable;
  logout_deliveries: LogoutDeliveryTable;
  client_assertion_jtis: ClientAssertionJtiTable;
  dpop_proof_jtis: DpopProofJtiTable;
  pushed_authorization_requests: PushedAuthorizationRequestTable;
}
