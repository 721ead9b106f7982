/**
 * The shapes of the admin API (docs/admin-api.md). Times are milliseconds since the epoch.
 */

export type Role = 'admin' | 'support' | 'viewer';
export type Tier = 'development' | 'staging' | 'production';
export type ClientType = 'web' | 'native';
/** Who may use dynamic client registration (RFC 7591): anyone, holders of an initial access token, nobody. */
export type RegistrationPolicy = 'open' | 'token' | 'off';

export interface SessionOperator {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
}

export interface Session {
  readonly operator: SessionOperator;
  readonly csrfToken: string;
}

export interface Environment {
  readonly name: string;
  readonly tier: Tier;
  readonly issuer: string;
  readonly impersonationEnabled: boolean;
  readonly registration: RegistrationPolicy;
  /** Development tier only: Client ID Metadata Documents may be fetched from loopback addresses. */
  readonly allowLoopbackDocuments: boolean;
  readonly clientCount: number;
  readonly userCount: number;
  readonly createdAt: number;
}

export interface RegisteredRedirectUri {
  readonly uri: string;
  readonly expiresAt: number | null;
}

export type ClientKind = 'registered' | 'dynamic' | 'metadata_document';

export interface Client {
  readonly clientId: string;
  readonly environment: string;
  readonly name: string;
  readonly type: ClientType;
  readonly grantTypes: readonly string[];
  readonly skipConsent: boolean;
  readonly hasSecret: boolean;
  readonly redirectUris: readonly RegisteredRedirectUri[];
  /** Set when a declarative file manages the client. */
  readonly managedBy: string | null;
  /** `<environment>/<clientId>` of the client this one was promoted from. */
  readonly promotedFrom: string | null;
  /** How it came to exist: by an operator, by dynamic registration, or from a metadata document. */
  readonly kind: ClientKind;
  /** RFC 8707 resources it may ask for; null: any the environment allows. */
  readonly allowedResources?: readonly string[] | null;
  /** Token exchange (RFC 8693) audiences; null: none. */
  readonly exchangeAudiences?: readonly string[] | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A protected resource (RFC 8707) registered in an environment, with the scopes it defines. */
export interface ProtectedResource {
  readonly environment: string;
  readonly uri: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
}

/** `expiresIn` values offered by the console for an initial access token. */
export type TokenLifetime = '1h' | '1d' | '7d';

/** An initial access token for dynamic registration: the server keeps only its hash. */
export interface IssuedInitialAccessToken {
  readonly initialAccessToken: string;
  readonly expiresAt: number;
}

export interface User {
  readonly id: string;
  readonly environment: string;
  readonly email: string;
  readonly name: string | null;
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface Operator {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly createdAt: number;
}

export interface LintWarning {
  readonly code: string;
  readonly message: string;
  readonly uris: readonly string[];
}

/** A URI the policy refuses. */
export interface Refused {
  readonly uri: string;
  readonly code: string;
  readonly message: string;
  readonly suggestion?: string;
}

export interface Impersonation {
  readonly id: string;
  readonly environment: string;
  readonly operatorId: string;
  readonly operatorEmail: string;
  readonly userId: string;
  readonly userEmail: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly reason: string;
  readonly startedAt: number;
  readonly expiresAt: number;
  readonly endedAt: number | null;
  readonly endReason: 'ended' | 'expired' | null;
  readonly active: boolean;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  readonly environment: string | null;
  readonly type: string;
  readonly actor: string;
  readonly clientId: string | null;
  readonly userId: string | null;
  readonly data: Readonly<Record<string, unknown>>;
  readonly hash: string;
}

export type ChainVerification =
  | { readonly ok: true; readonly count: number }
  | { readonly ok: false; readonly count: number; readonly seq: number; readonly reason: string };

export interface RedirectDiff {
  readonly index: number;
  readonly expected: string;
  readonly actual: string;
  readonly component: string;
  readonly kind: string;
  /** A phrase completing "the request ...". */
  readonly description: string;
}

export interface RefusedRedirect {
  readonly uri: string;
  readonly count: number;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly closest: string | null;
  readonly diff: RedirectDiff | null;
  readonly registrable:
    { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };
}

export interface PromotionPlan {
  readonly from: string;
  readonly to: string;
  readonly action: 'create' | 'update';
  readonly targetClientId: string | null;
  readonly accepted: readonly string[];
  readonly refused: readonly Refused[];
  readonly skippedExpiring: readonly string[];
  readonly grantTypes: readonly string[];
}

export interface PromotionResult {
  readonly plan: PromotionPlan;
  readonly applied: boolean;
  readonly client?: Client;
  readonly clientSecret?: string;
}

export interface CreatedClient {
  readonly client: Client;
  readonly clientSecret?: string;
  readonly warnings: readonly LintWarning[];
}

export interface AuditQuery {
  readonly environment?: string;
  readonly type?: string;
  readonly clientId?: string;
  readonly userId?: string;
  readonly operator?: string;
  readonly since?: number;
  readonly until?: number;
  readonly before?: number;
  readonly limit?: number;
}

export interface AuditPage {
  readonly entries: readonly AuditEntry[];
  readonly verification: ChainVerification;
}

/** `expiresIn` values offered by the console for a new redirect URI. */
export type ExpiresIn = '1h' | '1d' | '7d' | '30d';

export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:token-exchange',
] as const;
