/**
 * Typed functions for every admin API endpoint the console uses (paths relative to /admin/api).
 * Bodies and answers are the generated OpenAPI types (`Body`, `Answer`), so a change to the
 * server's shapes fails the console's type check.
 */
import { request } from './http';
import type {
  Answer,
  AuditPage,
  AuditQuery,
  Body,
  Client,
  Consent,
  CreatedClient,
  Environment,
  ExpiresIn,
  Impersonation,
  IssuedInitialAccessToken,
  LintWarning,
  LoopbackHost,
  LoopbackViolation,
  Operator,
  PromotionResult,
  ProtectedResource,
  RefusedRedirect,
  Session,
  Tier,
  TokenLifetime,
  User,
} from './types';

const seg = encodeURIComponent;
const envPath = (env: string): string => `/environments/${seg(env)}`;
const clientPath = (env: string, clientId: string): string =>
  `${envPath(env)}/clients/${seg(clientId)}`;

// Session

export function signIn(email: string, password: string): Promise<Session> {
  const body: Body<'/session', 'post'> = { email, password };
  return request('POST', '/session', { body, expectUnauthenticated: true });
}

export function getSession(): Promise<Session> {
  return request('GET', '/session', { expectUnauthenticated: true });
}

export function signOut(): Promise<void> {
  return request('DELETE', '/session', { expectUnauthenticated: true });
}

// Environments

export async function listEnvironments(): Promise<readonly Environment[]> {
  return (await request<Answer<'/environments', 'get'>>('GET', '/environments')).environments;
}

export async function createEnvironment(name: string, tier: Tier): Promise<Environment> {
  const body: Body<'/environments', 'post'> = { name, tier };
  const answer = await request<Answer<'/environments', 'post'>>('POST', '/environments', { body });
  return answer.environment;
}

/** What `PATCH /environments/{env}` changes; give at least one. */
export type EnvironmentSettings = Body<'/environments/{env}', 'patch'>;

export async function updateEnvironment(
  env: string,
  settings: EnvironmentSettings,
): Promise<Environment> {
  const answer = await request<Answer<'/environments/{env}', 'patch'>>('PATCH', envPath(env), {
    body: settings,
  });
  return answer.environment;
}

/**
 * Sets the loopback hosts redirect URIs may name (null: all three); the answer lists the
 * registrations the policy now refuses, which no longer match.
 */
export async function updateLoopbackHosts(
  env: string,
  loopbackHosts: readonly LoopbackHost[] | null,
): Promise<{ environment: Environment; violations: readonly LoopbackViolation[] }> {
  const answer = await request<Answer<'/environments/{env}', 'patch'>>('PATCH', envPath(env), {
    body: { loopbackHosts: loopbackHosts === null ? null : [...loopbackHosts] },
  });
  return { environment: answer.environment, violations: answer.loopbackViolations ?? [] };
}

/** A token for dynamic registration when it needs one; shown once. */
export function issueInitialAccessToken(
  env: string,
  expiresIn?: TokenLifetime,
): Promise<IssuedInitialAccessToken> {
  const body: Body<'/environments/{env}/initial-access-tokens', 'post'> =
    expiresIn === undefined ? {} : { expiresIn };
  return request('POST', `${envPath(env)}/initial-access-tokens`, { body });
}

// Resources

export async function listResources(env: string): Promise<readonly ProtectedResource[]> {
  type A = Answer<'/environments/{env}/resources', 'get'>;
  return (await request<A>('GET', `${envPath(env)}/resources`)).resources;
}

export async function registerResource(
  env: string,
  body: Body<'/environments/{env}/resources', 'post'>,
): Promise<ProtectedResource> {
  type A = Answer<'/environments/{env}/resources', 'post'>;
  return (await request<A>('POST', `${envPath(env)}/resources`, { body })).resource;
}

/** Links the resource to the confidential client its server authenticates as; null unlinks. */
export async function setResourceClient(
  env: string,
  uri: string,
  clientId: string | null,
): Promise<ProtectedResource> {
  type A = Answer<'/environments/{env}/resources', 'patch'>;
  const body: Body<'/environments/{env}/resources', 'patch'> = { clientId };
  return (await request<A>('PATCH', `${envPath(env)}/resources`, { query: { uri }, body }))
    .resource;
}

/** The algorithm of the resource's access tokens: RS256, or null for the default, ES256. */
export async function setResourceAccessTokenAlg(
  env: string,
  uri: string,
  accessTokenAlg: 'ES256' | 'RS256' | null,
): Promise<ProtectedResource> {
  type A = Answer<'/environments/{env}/resources', 'patch'>;
  const body: Body<'/environments/{env}/resources', 'patch'> = { accessTokenAlg };
  return (await request<A>('PATCH', `${envPath(env)}/resources`, { query: { uri }, body }))
    .resource;
}

export async function removeResource(env: string, uri: string): Promise<void> {
  await request('DELETE', `${envPath(env)}/resources`, { query: { uri } });
}

// Clients

export async function listClients(env: string): Promise<readonly Client[]> {
  type A = Answer<'/environments/{env}/clients', 'get'>;
  return (await request<A>('GET', `${envPath(env)}/clients`)).clients;
}

export type NewClient = Body<'/environments/{env}/clients', 'post'>;

export function createClient(env: string, client: NewClient): Promise<CreatedClient> {
  return request('POST', `${envPath(env)}/clients`, { body: client });
}

export async function getClient(env: string, clientId: string): Promise<Client> {
  type A = Answer<'/environments/{env}/clients/{clientId}', 'get'>;
  return (await request<A>('GET', clientPath(env, clientId))).client;
}

export async function deleteClient(env: string, clientId: string): Promise<void> {
  await request('DELETE', clientPath(env, clientId));
}

export function rotateSecret(
  env: string,
  clientId: string,
): Promise<Answer<'/environments/{env}/clients/{clientId}/secret', 'post'>> {
  return request('POST', `${clientPath(env, clientId)}/secret`);
}

export function addRedirectUri(
  env: string,
  clientId: string,
  uri: string,
  expiresIn?: ExpiresIn,
): Promise<{ readonly client: Client; readonly warnings: readonly LintWarning[] }> {
  const body: Body<'/environments/{env}/clients/{clientId}/redirect-uris', 'post'> =
    expiresIn === undefined ? { uri } : { uri, expiresIn };
  return request('POST', `${clientPath(env, clientId)}/redirect-uris`, { body });
}

export async function removeRedirectUri(
  env: string,
  clientId: string,
  uri: string,
): Promise<Client> {
  type A = Answer<'/environments/{env}/clients/{clientId}/redirect-uris', 'delete'>;
  const path = `${clientPath(env, clientId)}/redirect-uris`;
  return (await request<A>('DELETE', path, { query: { uri } })).client;
}

export async function listRefusedRedirects(
  env: string,
  clientId: string,
): Promise<readonly RefusedRedirect[]> {
  type A = Answer<'/environments/{env}/clients/{clientId}/refused-redirects', 'get'>;
  return (await request<A>('GET', `${clientPath(env, clientId)}/refused-redirects`)).refused;
}

export type PromoteOptions = Body<'/environments/{env}/clients/{clientId}/promote', 'post'>;

export function promoteClient(
  env: string,
  clientId: string,
  options: PromoteOptions,
): Promise<PromotionResult> {
  return request('POST', `${clientPath(env, clientId)}/promote`, { body: options });
}

export type ClientSettings = Body<'/environments/{env}/clients/{clientId}', 'patch'>;

export function updateClient(
  env: string,
  clientId: string,
  settings: ClientSettings,
): Promise<Answer<'/environments/{env}/clients/{clientId}', 'patch'>> {
  return request('PATCH', clientPath(env, clientId), { body: settings });
}

// Users

export async function listUsers(env: string): Promise<readonly User[]> {
  type A = Answer<'/environments/{env}/users', 'get'>;
  return (await request<A>('GET', `${envPath(env)}/users`)).users;
}

export async function createUser(
  env: string,
  user: Body<'/environments/{env}/users', 'post'>,
): Promise<User> {
  type A = Answer<'/environments/{env}/users', 'post'>;
  return (await request<A>('POST', `${envPath(env)}/users`, { body: user })).user;
}

export async function setUserDisabled(
  env: string,
  userId: string,
  disabled: boolean,
): Promise<User> {
  type A = Answer<'/environments/{env}/users/{userId}/disable', 'post'>;
  const action = disabled ? 'disable' : 'enable';
  return (await request<A>('POST', `${envPath(env)}/users/${seg(userId)}/${action}`)).user;
}

/** Whether the user's email is verified: what ID tokens and userinfo say as `email_verified`. */
export async function setUserEmailVerified(
  env: string,
  userId: string,
  emailVerified: boolean,
): Promise<User> {
  type A = Answer<'/environments/{env}/users/{userId}', 'patch'>;
  const body: Body<'/environments/{env}/users/{userId}', 'patch'> = { emailVerified };
  return (await request<A>('PATCH', `${envPath(env)}/users/${seg(userId)}`, { body })).user;
}

export async function deleteUser(env: string, userId: string): Promise<void> {
  await request('DELETE', `${envPath(env)}/users/${seg(userId)}`);
}

export async function listConsents(env: string, userId: string): Promise<readonly Consent[]> {
  type A = Answer<'/environments/{env}/users/{userId}/consents', 'get'>;
  return (await request<A>('GET', `${envPath(env)}/users/${seg(userId)}/consents`)).consents;
}

/** The client asks the user again, and an agent may no longer act for them by token exchange. */
export async function revokeConsent(env: string, userId: string, clientId: string): Promise<void> {
  await request('DELETE', `${envPath(env)}/users/${seg(userId)}/consents/${seg(clientId)}`);
}

// Impersonation

export async function listImpersonations(env: string): Promise<readonly Impersonation[]> {
  type A = Answer<'/environments/{env}/impersonations', 'get'>;
  return (await request<A>('GET', `${envPath(env)}/impersonations`)).impersonations;
}

export async function startImpersonation(
  env: string,
  start: Body<'/environments/{env}/impersonations', 'post'>,
): Promise<Impersonation> {
  type A = Answer<'/environments/{env}/impersonations', 'post'>;
  const path = `${envPath(env)}/impersonations`;
  return (await request<A>('POST', path, { body: start })).impersonation;
}

export async function endImpersonation(env: string, id: string): Promise<Impersonation> {
  type A = Answer<'/environments/{env}/impersonations/{id}/end', 'post'>;
  const path = `${envPath(env)}/impersonations/${seg(id)}/end`;
  return (await request<A>('POST', path)).impersonation;
}

// Audit

export function readAudit(query: AuditQuery): Promise<AuditPage> {
  return request('GET', '/audit', { query: { ...query } });
}

// Operators

export async function listOperators(): Promise<readonly Operator[]> {
  return (await request<Answer<'/operators', 'get'>>('GET', '/operators')).operators;
}

export async function createOperator(operator: Body<'/operators', 'post'>): Promise<Operator> {
  type A = Answer<'/operators', 'post'>;
  return (await request<A>('POST', '/operators', { body: operator })).operator;
}

export async function disableOperator(id: string): Promise<Operator> {
  type A = Answer<'/operators/{id}/disable', 'post'>;
  return (await request<A>('POST', `/operators/${seg(id)}/disable`)).operator;
}
