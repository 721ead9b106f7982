import { GRANT_TYPES, type GrantType } from '../../protocol.js';
import type { ClientType } from '../../storage/clients.js';
import type { ClientSettingsInput } from '../client-settings.js';
import { InputError } from '../input-error.js';
import { parseDeclaredUsers, type DeclaredUser } from './users.js';

/** One redirect URI in a file: a string, or an object with an expiry (relative or absolute). */
export interface DeclaredRedirectUri {
  readonly uri: string;
  readonly expiresIn?: string;
  readonly expiresAt?: number;
}

export interface DeclaredClient {
  /** Stable identity of the client across environments and runs: it marks the managed client. */
  readonly key: string;
  readonly name: string;
  readonly type: ClientType;
  readonly grantTypes?: readonly GrantType[];
  readonly skipConsent?: boolean;
  /** Scopes it may be granted without a resource (client_credentials); absent: left as it is. */
  readonly scopes?: readonly string[];
  /**
   * The issue #16 and #17 settings the client has in every environment (idTokenSignedResponseAlg,
   * tokenEndpointAuthMethod, jwks, jwksUri, requirePar, pkceExemptWithNonce, requireDpop); each
   * absent one is left as it is (a new client gets its default). Checked by the client service when planned.
   */
  readonly settings: ClientSettingsInput;
  readonly environments: Readonly<Record<string, DeclaredEnvironment>>;
}

/** A client's registration in one environment: URIs differ per environment. */
export interface DeclaredEnvironment {
  readonly redirectUris: readonly DeclaredRedirectUri[];
  /** RP-Initiated Logout; absent: left as it is. */
  readonly postLogoutRedirectUris?: readonly string[];
  /** Back-Channel Logout; null removes it; absent: left as it is. */
  readonly backchannelLogoutUri?: string | null;
}

/** The client-level settings a file may give, with the JSON type each takes. */
const CLIENT_SETTINGS = {
  idTokenSignedResponseAlg: 'string',
  tokenEndpointAuthMethod: 'string',
  jwks: 'object',
  jwksUri: 'string',
  requirePar: 'boolean',
  pkceExemptWithNonce: 'boolean',
  requireDpop: 'boolean',
} as const;

/**
 * The environment settings a file may give (issue #17), each with its JSON type: whether every
 * token request must carry a DPoP proof (RFC 9449) and the refresh grace window in seconds. The
 * environments themselves are not declared: they must exist.
 */
export interface DeclaredEnvironmentSettings {
  readonly requireDpop?: boolean;
  readonly refreshGraceSeconds?: number;
  /**
   * Issue #18: the loopback hosts redirect URIs may name, e.g. [127.0.0.1, "[::1]"] to refuse
   * localhost (RFC 8252 §8.3); null: all three. Its hosts are the service's to check.
   */
  readonly loopbackHosts?: readonly string[] | null;
}
const ENVIRONMENT_SETTINGS = {
  requireDpop: 'boolean',
  refreshGraceSeconds: 'number',
  loopbackHosts: 'list of strings',
} as const;

export interface DeclaredState {
  readonly clients: readonly DeclaredClient[];
  /** Users per environment and their email_verified (declarative/users.ts); absent: none. */
  readonly users?: readonly DeclaredUser[];
  /** Settings of existing environments, by name; absent ones are left as they are. */
  readonly environments?: Readonly<Record<string, DeclaredEnvironmentSettings>>;
}

function parseEnvironmentSettings(value: unknown): Record<string, DeclaredEnvironmentSettings> {
  if (!isObject(value)) fail('environments', 'maps environment names to their settings');
  const environments: Record<string, DeclaredEnvironmentSettings> = {};
  for (const [name, raw] of Object.entries(value)) {
    const where = `environments.${name}`;
    if (!isObject(raw)) fail(where, 'settings are an object');
    onlyKeys(where, raw, Object.keys(ENVIRONMENT_SETTINGS));
    const settings: Record<string, unknown> = {};
    for (const [field, type] of Object.entries(ENVIRONMENT_SETTINGS)) {
      const given = raw[field];
      if (given === undefined) continue;
      // The grace's range and the loopback hosts are the service's to check (plan reports them).
      if (type === 'list of strings') {
        if (given !== null && !(Array.isArray(given) && given.every((h) => typeof h === 'string')))
          fail(where, `"${field}" must be a list of strings, or null for the default`);
      } else if (typeof given !== type) fail(where, `"${field}" must be a ${type}`);
      settings[field] = given;
    }
    environments[name] = settings;
  }
  return environments;
}

const KEY = /^[a-z][a-z0-9-]{0,62}$/;

function fail(where: string, message: string): never {
  throw new InputError(`${where}: ${message}`, 'invalid_file');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(where: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(value).filter((k) => !allowed.includes(k));
  if (extra.length > 0)
    fail(where, `unknown field "${extra[0] ?? ''}" (allowed: ${allowed.join(', ')})`);
}

function redirectEntry(where: string, value: unknown): DeclaredRedirectUri {
  if (typeof value === 'string') return { uri: value };
  if (!isObject(value)) fail(where, 'a redirect URI is a string or {uri, expiresIn | expiresAt}');
  onlyKeys(where, value, ['uri', 'expiresIn', 'expiresAt']);
  if (typeof value.uri !== 'string') fail(where, '"uri" must be a string');
  if (value.expiresIn !== undefined && value.expiresAt !== undefined)
    fail(where, 'give expiresIn or expiresAt, not both');
  if (value.expiresIn !== undefined) {
    if (typeof value.expiresIn !== 'string') fail(where, '"expiresIn" is a duration such as 7d');
    return { uri: value.uri, expiresIn: value.expiresIn };
  }
  if (value.expiresAt !== undefined) {
    const at =
      value.expiresAt instanceof Date
        ? value.expiresAt.getTime()
        : typeof value.expiresAt === 'string'
          ? Date.parse(value.expiresAt)
          : NaN;
    if (Number.isNaN(at)) fail(where, '"expiresAt" must be an ISO 8601 time');
    return { uri: value.uri, expiresAt: at };
  }
  return { uri: value.uri };
}

/** Checks the shape of a parsed file (YAML or JSON); the policy is checked by `planState`. */
export function parseDeclaredState(document: unknown): DeclaredState {
  if (!isObject(document))
    fail('file', 'the top level must be an object with "version" and "clients"');
  onlyKeys('file', document, ['version', 'environments', 'clients', 'users']);
  if (document.version !== 1) fail('file', '"version" must be 1');
  if (!Array.isArray(document.clients)) fail('file', '"clients" must be a list');
  const seen = new Set<string>();
  const clients = document.clients.map((raw: unknown, i): DeclaredClient => {
    const where = `clients[${i}]`;
    if (!isObject(raw)) fail(where, 'a client is an object');
    onlyKeys(where, raw, [
      'key',
      'name',
      'type',
      'grantTypes',
      'skipConsent',
      'scopes',
      ...Object.keys(CLIENT_SETTINGS),
      'environments',
    ]);
    if (typeof raw.key !== 'string' || !KEY.test(raw.key))
      fail(
        where,
        '"key" must be 1-63 lower-case letters, digits and dashes, starting with a letter',
      );
    const at = `clients.${raw.key}`;
    if (seen.has(raw.key)) fail(at, 'the key is used twice');
    seen.add(raw.key);
    if (typeof raw.name !== 'string') fail(at, '"name" must be a string');
    if (raw.type !== 'web' && raw.type !== 'native' && raw.type !== 'spa')
      fail(at, '"type" must be web, native or spa');
    const settings: Record<string, unknown> = {};
    for (const [field, type] of Object.entries(CLIENT_SETTINGS)) {
      const value = raw[field];
      if (value === undefined) continue;
      // null clears a nullable setting, as in the admin API.
      if (value === null && type !== 'boolean') settings[field] = null;
      else if (typeof value !== type || (type === 'object' && !isObject(value)))
        fail(at, `"${field}" must be ${type === 'object' ? 'an object' : `a ${type}`}`);
      else settings[field] = value;
    }
    if (raw.grantTypes !== undefined) {
      if (
        !Array.isArray(raw.grantTypes) ||
        raw.grantTypes.some((g) => !GRANT_TYPES.includes(g as GrantType))
      )
        fail(at, `"grantTypes" must list some of ${GRANT_TYPES.join(', ')}`);
    }
    if (raw.skipConsent !== undefined && typeof raw.skipConsent !== 'boolean')
      fail(at, '"skipConsent" must be true or false');
    if (
      raw.scopes !== undefined &&
      (!Array.isArray(raw.scopes) || raw.scopes.some((s) => typeof s !== 'string'))
    )
      fail(at, '"scopes" must be a list of scope names');
    if (!isObject(raw.environments)) fail(at, '"environments" maps environment names to settings');
    const environments: Record<string, DeclaredEnvironment> = {};
    for (const [env, settings] of Object.entries(raw.environments)) {
      const where = `${at}.environments.${env}`;
      if (!isObject(settings)) fail(where, 'settings are an object with "redirectUris"');
      onlyKeys(where, settings, ['redirectUris', 'postLogoutRedirectUris', 'backchannelLogoutUri']);
      const list = settings.redirectUris ?? [];
      if (!Array.isArray(list)) fail(where, '"redirectUris" must be a list');
      const postLogout = settings.postLogoutRedirectUris;
      if (
        postLogout !== undefined &&
        (!Array.isArray(postLogout) || postLogout.some((u) => typeof u !== 'string'))
      )
        fail(where, '"postLogoutRedirectUris" must be a list of URIs');
      const backchannel = settings.backchannelLogoutUri;
      if (backchannel !== undefined && backchannel !== null && typeof backchannel !== 'string')
        fail(where, '"backchannelLogoutUri" must be a URI or null');
      environments[env] = {
        redirectUris: list.map((entry: unknown, j) =>
          redirectEntry(`${where}.redirectUris[${j}]`, entry),
        ),
        ...(postLogout === undefined ? {} : { postLogoutRedirectUris: postLogout as string[] }),
        ...(backchannel === undefined ? {} : { backchannelLogoutUri: backchannel }),
      };
    }
    return {
      key: raw.key,
      name: raw.name,
      type: raw.type,
      ...(raw.grantTypes === undefined ? {} : { grantTypes: raw.grantTypes as GrantType[] }),
      ...(raw.skipConsent === undefined ? {} : { skipConsent: raw.skipConsent }),
      ...(raw.scopes === undefined ? {} : { scopes: raw.scopes as string[] }),
      settings: settings,
      environments,
    };
  });
  return {
    clients,
    ...(document.users === undefined ? {} : { users: parseDeclaredUsers(document.users) }),
    ...(document.environments === undefined
      ? {}
      : { environments: parseEnvironmentSettings(document.environments) }),
  };
}

/** What a substituted value may contain: RFC 3986 unreserved characters. */
const SAFE_VALUE = /^[A-Za-z0-9._~-]*$/;

/**
 * Replaces `${NAME}` in every string value with the variable's value, so application config and
 * Gatehouse are fed from the same values. Done on parsed values, never on the file's text, so a
 * value can never change the file's structure; and a value may hold only letters, digits and
 * `-._~`, so it can never change a URI's structure either (a branch name `x.evil.example/a` in
 * `https://pr-${BRANCH}.app.example.com/cb` would otherwise move the host). A refused value is
 * never echoed: the variable might hold a secret. Every problem is reported at once.
 */
export function interpolate(
  document: unknown,
  variables: Readonly<Record<string, string | undefined>>,
): unknown {
  const missing = new Set<string>();
  const unsafe = new Set<string>();
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string')
      return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
        const found = variables[name];
        if (found === undefined) {
          missing.add(name);
          return '';
        }
        if (!SAFE_VALUE.test(found)) {
          unsafe.add(name);
          return '';
        }
        return found;
      });
    if (Array.isArray(value)) return value.map(walk);
    if (isObject(value) && !(value instanceof Date))
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  const result = walk(document);
  const names = (set: Set<string>) => [...set].map((n) => `\${${n}}`).join(', ');
  if (missing.size > 0)
    throw new InputError(
      `the file uses ${names(missing)}, which ${missing.size === 1 ? 'is' : 'are'} not set`,
      'missing_variable',
    );
  if (unsafe.size > 0)
    throw new InputError(
      `${names(unsafe)} ${unsafe.size === 1 ? 'holds' : 'hold'} characters other than letters, digits and -._~, which could change a URI's structure; the value is not shown`,
      'unsafe_variable',
    );
  return result;
}
