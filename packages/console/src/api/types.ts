/**
 * The shapes of the admin API (docs/admin-api.md), from `schema.d.ts`, which is generated from
 * the OpenAPI document the server publishes (scripts/api-types.ts). Times are milliseconds since
 * the epoch. Only what the console adds itself (choices it offers, the audit query) is written
 * here by hand.
 */
import type { components, paths } from './schema';

type Schemas = components['schemas'];

export type Role = Schemas['Role'];
export type Tier = Schemas['Tier'];
export type ClientType = Schemas['ClientType'];
/** Who may use dynamic client registration (RFC 7591): anyone, holders of an initial access token, nobody. */
export type RegistrationPolicy = Schemas['RegistrationPolicy'];
export type Session = Schemas['Session'];
export type SessionOperator = Session['operator'];
export type Environment = Schemas['Environment'];
/** A loopback host a redirect URI may name: 127.0.0.1, [::1] or localhost (issue #18). */
export type LoopbackHost = Schemas['LoopbackHost'];
/** A registration the environment's loopback policy refuses: it no longer matches. */
export type LoopbackViolation = Schemas['LoopbackViolation'];
export type Client = Schemas['Client'];
export type ClientKind = Client['kind'];
export type GrantType = Client['grantTypes'][number];
export type RegisteredRedirectUri = Client['redirectUris'][number];
/** A protected resource (RFC 8707) registered in an environment, with the scopes it defines. */
export type ProtectedResource = Schemas['ProtectedResource'];
export type User = Schemas['User'];
/**
 * What a user granted a client: user scopes, scopes at each resource, and for an agent (a client
 * with token exchange) that it may act for the user (RFC 8693).
 */
export type Consent = Schemas['Consent'];
export type Operator = Schemas['Operator'];
export type LintWarning = Schemas['LintWarning'];
/** A URI the policy refuses. */
export type Refused = Schemas['RefusedUri'];
export type Impersonation = Schemas['Impersonation'];
export type AuditEntry = Schemas['AuditEntry'];
export type ChainVerification = Schemas['AuditVerification'];
export type RefusedRedirect = Schemas['RefusedRedirect'];
export type RedirectDiff = NonNullable<RefusedRedirect['diff']>;
export type PromotionPlan = Schemas['PromotionPlan'];

type Method = 'get' | 'post' | 'patch' | 'delete';
/** The JSON body a path and method answer with on success. */
export type Answer<P extends keyof paths, M extends Method> = paths[P][M] extends {
  readonly responses: infer R;
}
  ? R extends { readonly 200: { content: { 'application/json': infer T } } }
    ? T
    : R extends { readonly 201: { content: { 'application/json': infer T } } }
      ? T
      : never
  : never;
/** The JSON body a path and method take. */
export type Body<P extends keyof paths, M extends Method> = paths[P][M] extends {
  readonly requestBody?: { readonly content: { readonly 'application/json': infer T } };
}
  ? T
  : never;

export type PromotionResult = Answer<'/environments/{env}/clients/{clientId}/promote', 'post'>;
export type CreatedClient = Answer<'/environments/{env}/clients', 'post'>;
/** An initial access token for dynamic registration: the server keeps only its hash. */
export type IssuedInitialAccessToken = Answer<'/environments/{env}/initial-access-tokens', 'post'>;
export type AuditQuery = NonNullable<paths['/audit']['get']['parameters']['query']>;
export type AuditPage = Answer<'/audit', 'get'>;

/** `expiresIn` values offered by the console for an initial access token. */
export type TokenLifetime = '1h' | '1d' | '7d';

/** `expiresIn` values offered by the console for a new redirect URI. */
export type ExpiresIn = '1h' | '1d' | '7d' | '30d';

export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:token-exchange',
] as const satisfies readonly GrantType[];
