/**
 * Typed functions for every admin API endpoint the console uses (paths relative to /admin/api).
 */
import { request } from './http';
import type {
  AuditPage,
  AuditQuery,
  Client,
  ClientType,
  CreatedClient,
  Environment,
  ExpiresIn,
  Impersonation,
  IssuedInitialAccessToken,
  LintWarning,
  Operator,
  PromotionResult,
  ProtectedResource,
  RefusedRedirect,
  RegistrationPolicy,
  Role,
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
  return request('POST', '/session', { body: { email, password }, expectUnauthenticated: true });
}

export function getSession(): Promise<Session> {
  return request('GET', '/session', { expectUnauthenticated: true });
}

export function signOut(): Promise<void> {
  return request('DELETE', '/session', { expectUnauthenticated: true });
}

// Environments

export async function listEnvironments(): Promise<readonly Environment[]> {
  const answer = await request<{ environments: Environment[] }>('GET', '/environments');
  return answer.environments;
}

export async function createEnvironment(name: string, tier: Tier): Promise<Environment> {
  const answer = await request<{ environment: Environment }>('POST', '/environments', {
    body: { name, tier },
  });
  return answer.environment;
}

/** What `PATCH /environments/{env}` changes; give at least one. */
export interface EnvironmentSettings {
  readonly impersonationEnabled?: boolean;
  readonly registration?: RegistrationPolicy;
  /** Refused outside the development tier. */
  readonly allowLoopbackDocuments?: boolean;
}

export async function updateEnvironment(
  env: string,
  settings: EnvironmentSettings,
): Promise<Environment> {
  const answer = await request<{ environment: Environment }>('PATCH', envPath(env), {
    body: settings,
  });
  return answer.environment;
}

export function setImpersonationEnabled(
  env: string,
  impersonationEnabled: boolean,
): Promise<Environment> {
  return updateEnvironment(env, { impersonationEnabled });
}

/** A token for dynamic registration when it needs one; shown once. */
export function issueInitialAccessToken(
  env: string,
  expiresIn?: TokenLifetime,
): Promise<IssuedInitialAccessToken> {
  return request('POST', `${envPath(env)}/initial-access-tokens`, {
    body: expiresIn === undefined ? {} : { expiresIn },
  });
}

// Resources

export async function listResources(env: string): Promise<readonly ProtectedResource[]> {
  const answer = await request<{ resources: ProtectedResource[] }>(
    'GET',
    `${envPath(env)}/resources`,
  );
  return answer.resources;
}

export async function registerResource(
  env: string,
  resource: { readonly uri: string; readonly name: string; readonly scopes?: readonly string[] },
): Promise<ProtectedResource> {
  const answer = await request<{ resource: ProtectedResource }>(
    'POST',
    `${envPath(env)}/resources`,
    { body: resource },
  );
  return answer.resource;
}

export async function removeResource(env: string, uri: string): Promise<void> {
  await request('DELETE', `${envPath(env)}/resources`, { query: { uri } });
}

// Clients

export async function listClients(env: string): Promise<readonly Client[]> {
  const answer = await request<{ clients: Client[] }>('GET', `${envPath(env)}/clients`);
  return answer.clients;
}

export interface NewClient {
  readonly name: string;
  readonly type: ClientType;
  readonly redirectUris?: readonly string[];
  readonly grantTypes?: readonly string[];
  readonly skipConsent?: boolean;
}

export function createClient(env: string, client: NewClient): Promise<CreatedClient> {
  return request('POST', `${envPath(env)}/clients`, { body: client });
}

export async function getClient(env: string, clientId: string): Promise<Client> {
  const answer = await request<{ client: Client }>('GET', clientPath(env, clientId));
  return answer.client;
}

export async function deleteClient(env: string, clientId: string): Promise<void> {
  await request('DELETE', clientPath(env, clientId));
}

export function rotateSecret(
  env: string,
  clientId: string,
): Promise<{ client: Client; clientSecret: string }> {
  return request('POST', `${clientPath(env, clientId)}/secret`);
}

export function addRedirectUri(
  env: string,
  clientId: string,
  uri: string,
  expiresIn?: ExpiresIn,
): Promise<{ client: Client; warnings: readonly LintWarning[] }> {
  return request('POST', `${clientPath(env, clientId)}/redirect-uris`, {
    body: expiresIn === undefined ? { uri } : { uri, expiresIn },
  });
}

export async function removeRedirectUri(
  env: string,
  clientId: string,
  uri: string,
): Promise<Client> {
  const answer = await request<{ client: Client }>(
    'DELETE',
    `${clientPath(env, clientId)}/redirect-uris`,
    { query: { uri } },
  );
  return answer.client;
}

export async function listRefusedRedirects(
  env: string,
  clientId: string,
): Promise<readonly RefusedRedirect[]> {
  const answer = await request<{ refused: RefusedRedirect[] }>(
    'GET',
    `${clientPath(env, clientId)}/refused-redirects`,
  );
  return answer.refused;
}

export interface PromoteOptions {
  readonly to: string;
  readonly dryRun?: boolean;
  readonly dropRefused?: boolean;
}

export function promoteClient(
  env: string,
  clientId: string,
  options: PromoteOptions,
): Promise<PromotionResult> {
  return request('POST', `${clientPath(env, clientId)}/promote`, { body: options });
}

// Users

export async function listUsers(env: string): Promise<readonly User[]> {
  const answer = await request<{ users: User[] }>('GET', `${envPath(env)}/users`);
  return answer.users;
}

export async function createUser(
  env: string,
  user: { readonly email: string; readonly name?: string; readonly password: string },
): Promise<User> {
  const answer = await request<{ user: User }>('POST', `${envPath(env)}/users`, { body: user });
  return answer.user;
}

export async function setUserDisabled(
  env: string,
  userId: string,
  disabled: boolean,
): Promise<User> {
  const action = disabled ? 'disable' : 'enable';
  const answer = await request<{ user: User }>(
    'POST',
    `${envPath(env)}/users/${seg(userId)}/${action}`,
  );
  return answer.user;
}

export async function deleteUser(env: string, userId: string): Promise<void> {
  await request('DELETE', `${envPath(env)}/users/${seg(userId)}`);
}

// Impersonation

export async function listImpersonations(env: string): Promise<readonly Impersonation[]> {
  const answer = await request<{ impersonations: Impersonation[] }>(
    'GET',
    `${envPath(env)}/impersonations`,
  );
  return answer.impersonations;
}

export async function startImpersonation(
  env: string,
  start: {
    readonly userId: string;
    readonly clientId: string;
    readonly reason: string;
    readonly minutes: number;
  },
): Promise<Impersonation> {
  const answer = await request<{ impersonation: Impersonation }>(
    'POST',
    `${envPath(env)}/impersonations`,
    { body: start },
  );
  return answer.impersonation;
}

export async function endImpersonation(env: string, id: string): Promise<Impersonation> {
  const answer = await request<{ impersonation: Impersonation }>(
    'POST',
    `${envPath(env)}/impersonations/${seg(id)}/end`,
  );
  return answer.impersonation;
}

// Audit

export function readAudit(query: AuditQuery): Promise<AuditPage> {
  return request('GET', '/audit', { query: { ...query } });
}

// Operators

export async function listOperators(): Promise<readonly Operator[]> {
  const answer = await request<{ operators: Operator[] }>('GET', '/operators');
  return answer.operators;
}

export async function createOperator(operator: {
  readonly email: string;
  readonly role: Role;
  readonly password: string;
}): Promise<Operator> {
  const answer = await request<{ operator: Operator }>('POST', '/operators', { body: operator });
  return answer.operator;
}

export async function disableOperator(id: string): Promise<Operator> {
  const answer = await request<{ operator: Operator }>('POST', `/operators/${seg(id)}/disable`);
  return answer.operator;
}

export interface ClientSettings {
  readonly name?: string;
  readonly grantTypes?: readonly string[];
  readonly skipConsent?: boolean;
  /** Replaces the whole list; null: any resource the environment allows. */
  readonly allowedResources?: readonly string[] | null;
  /** Replaces the whole list; null: no token exchange. */
  readonly exchangeAudiences?: readonly string[] | null;
}

export function updateClient(
  env: string,
  clientId: string,
  settings: ClientSettings,
): Promise<{ client: Client; warnings: readonly LintWarning[] }> {
  return request('PATCH', clientPath(env, clientId), { body: settings });
}
