import { matchRedirectUri, validateRedirectUri } from '@gatehouse/redirect-policy';
import type { Client, GrantType } from '../../storage/clients.js';
import {
  LOOPBACK_HOSTS,
  type Environment,
  type EnvironmentSettings,
  type LoopbackHost,
} from '../../storage/environments.js';
import {
  checkGrants,
  createClient,
  defaultGrantTypes,
  redirectPolicyFor,
  registeredDefaults,
  updateClient,
} from '../clients.js';
import {
  checkClientSettings,
  mergeSettings,
  settingsOf,
  type ClientSettings,
  type ClientSettingsInput,
} from '../client-settings.js';
import type { ServiceContext } from '../context.js';
import { checkRefreshGraceSeconds, updateEnvironmentSettings } from '../environments.js';
import {
  checkLoopbackHosts,
  loopbackViolations,
  type LoopbackViolation,
} from '../loopback-policy.js';
import { parseDuration } from '../duration.js';
import { checkClientName } from '../client-name.js';
import { InputError } from '../input-error.js';
import type { DeclaredClient, DeclaredEnvironmentSettings, DeclaredState } from './schema.js';
import { applyUserChanges, planUsers, type UserChange } from './users.js';

export interface UriPair {
  /** A registered URI the file drops... */
  readonly registered: string;
  /** ...and the file's URI nearest to it: usually the same URI with a typo fixed or made. */
  readonly declared: string;
  /** Index of the first character where they differ. */
  readonly index: number;
}

export interface ClientChange {
  readonly key: string;
  readonly environment: string;
  readonly action: 'create' | 'update' | 'unchanged';
  readonly clientId: string | null;
  readonly name?: { readonly from: string | null; readonly to: string };
  readonly grantTypes?: {
    readonly from: readonly GrantType[] | null;
    readonly to: readonly GrantType[];
  };
  readonly skipConsent?: { readonly from: boolean | null; readonly to: boolean };
  readonly scopes?: { readonly from: readonly string[] | null; readonly to: readonly string[] };
  /**
   * The issue #16 and #17 settings that change, by name: each from (null: a new client) and to.
   * A new client's include the defaults of where it is registered (`registeredDefaults`).
   */
  readonly settings?: Readonly<Record<string, { readonly from: unknown; readonly to: unknown }>>;
  readonly addedUris: readonly { readonly uri: string; readonly expiresAt: number | null }[];
  readonly removedUris: readonly string[];
  readonly expiryChanges: readonly {
    readonly uri: string;
    readonly from: number | null;
    readonly to: number | null;
  }[];
  /** Dropped and added URIs side by side, compared character by character. */
  readonly pairs: readonly UriPair[];
}

export type PlanProblem = {
  readonly key: string;
  readonly environment: string;
  readonly uri?: string;
  readonly code: string;
  readonly message: string;
};

/** An environment's declared settings against what it has (issue #17). */
export interface EnvironmentChange {
  readonly environment: string;
  readonly action: 'update' | 'unchanged';
  /** The settings that change, by name. */
  readonly settings: Readonly<Record<string, { readonly from: unknown; readonly to: unknown }>>;
  /**
   * Registrations the declared loopback policy refuses (issue #18), of clients the file does not
   * declare there: applied, the policy is set anyway and they stop matching at once.
   */
  readonly loopbackViolations?: readonly LoopbackViolation[];
}

export interface StatePlan {
  /** The declared environment settings (the file's `environments`); absent: none declared. */
  readonly environments: readonly EnvironmentChange[];
  readonly changes: readonly ClientChange[];
  /** The declared users: created, email_verified changed, or unchanged (declarative/users.ts). */
  readonly users: readonly UserChange[];
  /** What the policy or the server refuses: with any, nothing is applied. */
  readonly problems: readonly PlanProblem[];
  /** Clients marked as managed by a key the file no longer declares: kept, reported. */
  readonly orphans: readonly {
    readonly environment: string;
    readonly clientId: string;
    readonly key: string;
  }[];
  readonly changeCount: number;
}

/** The settings a declared client asks for in one environment (absent ones: left as they are). */
export function declaredSettings(
  declared: DeclaredClient,
  environment: string,
): ClientSettingsInput {
  const env = declared.environments[environment];
  return {
    ...declared.settings,
    ...(env?.postLogoutRedirectUris === undefined
      ? {}
      : { postLogoutRedirectUris: env.postLogoutRedirectUris }),
    ...(env?.backchannelLogoutUri === undefined
      ? {}
      : { backchannelLogoutUri: env.backchannelLogoutUri }),
  };
}

/** The settings that differ between what a client has (undefined: none yet) and will have. */
function settingsChanges(
  current: ClientSettings | undefined,
  next: ClientSettings,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  const defaults = settingsOf({});
  for (const key of Object.keys(next) as (keyof ClientSettings)[]) {
    const from = current === undefined ? null : current[key];
    if (JSON.stringify(current?.[key] ?? defaults[key]) !== JSON.stringify(next[key]))
      changes[key] = { from, to: next[key] };
  }
  return changes;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Where two strings first differ. */
function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * Pairs each dropped URI with the nearest added one (the redirect policy's explainer picks it).
 * The index is measured on the two strings as printed: the explainer's own index refers to the
 * closest URI rewritten for the request (a wildcard's label, a loopback port), not as written.
 */
function pairUris(removed: readonly string[], added: readonly string[]): UriPair[] {
  if (added.length === 0) return [];
  return removed.flatMap((registered) => {
    const match = matchRedirectUri(registered, added);
    if (match.ok || match.closest === undefined) return [];
    return [
      {
        registered,
        declared: match.closest,
        index: firstDifference(registered, match.closest),
      },
    ];
  });
}

async function planClient(
  ctx: ServiceContext,
  declared: DeclaredClient,
  environment: string,
  now: number,
  problems: PlanProblem[],
  loopbackHosts: ReadonlyMap<string, readonly LoopbackHost[]>,
): Promise<ClientChange | undefined> {
  const stored = await ctx.stores.environments.get(environment);
  // The file's own loopback policy for the environment, if it declares one, judges its URIs.
  const declaredHosts = loopbackHosts.get(environment);
  const env =
    stored === undefined || declaredHosts === undefined
      ? stored
      : { ...stored, loopbackHosts: declaredHosts };
  if (env === undefined) {
    problems.push({
      key: declared.key,
      environment,
      code: 'unknown_environment',
      message: `no environment "${environment}"`,
    });
    return undefined;
  }
  const settings = declared.environments[environment] ?? { redirectUris: [] };
  const desired = new Map<string, { expiresIn?: string; expiresAt?: number }>();
  for (const entry of settings.redirectUris) {
    if (desired.has(entry.uri))
      problems.push({
        key: declared.key,
        environment,
        uri: entry.uri,
        code: 'duplicate_redirect_uri',
        message: 'listed twice',
      });
    desired.set(entry.uri, entry);
  }
  const policy = redirectPolicyFor(env, declared.type);
  for (const uri of desired.keys()) {
    const result = validateRedirectUri(uri, policy);
    if (!result.ok)
      problems.push({
        key: declared.key,
        environment,
        uri,
        code: result.code,
        message: result.message,
      });
  }
  for (const [uri, entry] of desired) {
    if (entry.expiresIn !== undefined) {
      try {
        parseDuration(entry.expiresIn);
      } catch (error) {
        problems.push({
          key: declared.key,
          environment,
          uri,
          code: 'invalid_duration',
          message: (error as Error).message,
        });
      }
    }
    if (entry.expiresAt !== undefined && entry.expiresAt <= now)
      problems.push({
        key: declared.key,
        environment,
        uri,
        code: 'expired',
        message: 'expiresAt is in the past',
      });
  }

  const existing = (await ctx.stores.clients.list(environment)).find(
    (c) => c.managedBy === declared.key,
  );
  if (existing !== undefined && existing.type !== declared.type)
    problems.push({
      key: declared.key,
      environment,
      code: 'type_change',
      message: `the client is ${existing.type}; a client's type cannot change (delete it and apply again)`,
    });
  // The name as the service checks it: a file holding a name stored before names were checked
  // (a bidirectional override, a control) gets a problem here, not a refused apply.
  try {
    checkClientName(declared.name);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    problems.push({ key: declared.key, environment, code: error.code, message: error.message });
  }
  // The grant rules, checked here too, so that plan already says what apply would refuse.
  const wanted = [...desired.keys()];
  try {
    checkGrants(
      declared.type,
      declared.grantTypes ?? existing?.grantTypes ?? defaultGrantTypes(declared.type, wanted),
      wanted,
    );
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    problems.push({ key: declared.key, environment, code: error.code, message: error.message });
  }
  // The settings, checked as the service will check them, so that plan already refuses them. A
  // new client starts from the defaults of where it is registered, as the service creates it.
  const nextSettings = mergeSettings(
    existing === undefined
      ? settingsOf(registeredDefaults(env, declared.type))
      : settingsOf(existing),
    declaredSettings(declared, environment),
  );
  try {
    checkClientSettings(env, declared.type, nextSettings);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    problems.push({ key: declared.key, environment, code: error.code, message: error.message });
  }
  const settingsChanged = settingsChanges(
    existing === undefined ? undefined : settingsOf(existing),
    nextSettings,
  );
  const settingsChange =
    Object.keys(settingsChanged).length === 0 ? {} : { settings: settingsChanged };
  const expiryFor = (uri: string, current: Client | undefined): number | null => {
    const entry = desired.get(uri);
    if (entry?.expiresAt !== undefined) return entry.expiresAt;
    if (entry?.expiresIn === undefined) return null;
    // A relative expiry is set when the URI first appears; re-applying the file keeps it.
    const kept = current?.redirectUriExpiries[uri];
    if (kept !== undefined) return kept;
    try {
      return now + parseDuration(entry.expiresIn);
    } catch {
      return null;
    }
  };
  if (existing === undefined) {
    return {
      key: declared.key,
      environment,
      action: 'create',
      clientId: null,
      name: { from: null, to: declared.name },
      ...(declared.grantTypes === undefined
        ? {}
        : { grantTypes: { from: null, to: declared.grantTypes } }),
      ...(declared.skipConsent === undefined
        ? {}
        : { skipConsent: { from: null, to: declared.skipConsent } }),
      ...(declared.scopes === undefined ? {} : { scopes: { from: null, to: declared.scopes } }),
      ...settingsChange,
      addedUris: wanted.map((uri) => ({ uri, expiresAt: expiryFor(uri, undefined) })),
      removedUris: [],
      expiryChanges: [],
      pairs: [],
    };
  }
  const added = wanted.filter((uri) => !existing.redirectUris.includes(uri));
  const removed = existing.redirectUris.filter((uri) => !desired.has(uri));
  const expiryChanges = wanted
    .filter((uri) => existing.redirectUris.includes(uri))
    .map((uri) => ({
      uri,
      from: existing.redirectUriExpiries[uri] ?? null,
      to: expiryFor(uri, existing),
    }))
    .filter((c) => c.from !== c.to);
  const change: ClientChange = {
    key: declared.key,
    environment,
    action: 'update',
    clientId: existing.clientId,
    // Compared as the service stores it (trimmed), or a padded name would be a change forever.
    ...(declared.name.trim() === existing.name
      ? {}
      : { name: { from: existing.name, to: declared.name.trim() } }),
    ...(declared.grantTypes === undefined || sameList(declared.grantTypes, existing.grantTypes)
      ? {}
      : { grantTypes: { from: existing.grantTypes, to: declared.grantTypes } }),
    ...(declared.skipConsent === undefined || declared.skipConsent === existing.skipConsent
      ? {}
      : { skipConsent: { from: existing.skipConsent, to: declared.skipConsent } }),
    ...(declared.scopes === undefined || sameList(declared.scopes, existing.scopes)
      ? {}
      : { scopes: { from: existing.scopes, to: declared.scopes } }),
    ...settingsChange,
    addedUris: added.map((uri) => ({ uri, expiresAt: expiryFor(uri, existing) })),
    removedUris: removed,
    expiryChanges,
    pairs: pairUris(removed, added),
  };
  const changed =
    change.name !== undefined ||
    change.grantTypes !== undefined ||
    change.skipConsent !== undefined ||
    change.scopes !== undefined ||
    change.settings !== undefined ||
    added.length > 0 ||
    removed.length > 0 ||
    expiryChanges.length > 0;
  return changed ? change : { ...change, action: 'unchanged' };
}

/** The settings an environment declares, against what it has; refusals go to `problems`. */
async function planEnvironment(
  ctx: ServiceContext,
  name: string,
  declared: DeclaredEnvironmentSettings,
  problems: PlanProblem[],
  loopbackHosts: Map<string, readonly LoopbackHost[]>,
): Promise<EnvironmentChange | undefined> {
  const env = await ctx.stores.environments.get(name);
  const problem = (code: string, message: string) =>
    problems.push({ key: 'environment settings', environment: name, code, message });
  if (env === undefined) {
    problem('unknown_environment', `no environment "${name}"`);
    return undefined;
  }
  if (declared.refreshGraceSeconds !== undefined)
    try {
      checkRefreshGraceSeconds(declared.refreshGraceSeconds);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problem(error.code, error.message);
    }
  const settings: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of ['requireDpop', 'refreshGraceSeconds'] as const)
    if (declared[key] !== undefined && declared[key] !== env[key])
      settings[key] = { from: env[key], to: declared[key] };
  if (declared.loopbackHosts !== undefined)
    try {
      const hosts = checkLoopbackHosts(declared.loopbackHosts) ?? LOOPBACK_HOSTS;
      loopbackHosts.set(name, hosts);
      if (JSON.stringify(hosts) !== JSON.stringify(env.loopbackHosts))
        settings.loopbackHosts = { from: env.loopbackHosts, to: hosts };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problem(error.code, error.message);
    }
  return {
    environment: name,
    action: Object.keys(settings).length === 0 ? 'unchanged' : 'update',
    settings,
  };
}

/**
 * The registrations a declared loopback policy refuses, of the clients the file does not declare
 * in that environment (the file's own clients have their declared URIs judged as problems).
 */
async function undeclaredViolations(
  ctx: ServiceContext,
  state: DeclaredState,
  name: string,
  loopbackHosts: ReadonlyMap<string, readonly LoopbackHost[]>,
): Promise<LoopbackViolation[]> {
  const env = (await ctx.stores.environments.get(name)) as Environment;
  const hosts = loopbackHosts.get(name) ?? env.loopbackHosts;
  const declaredHere = new Set(
    state.clients.filter((c) => c.environments[name] !== undefined).map((c) => c.key),
  );
  const managed = new Map(
    (await ctx.stores.clients.list(name)).map((c) => [c.clientId, c.managedBy]),
  );
  return (await loopbackViolations(ctx, { ...env, loopbackHosts: hosts })).filter((v) => {
    const key = managed.get(v.clientId);
    return key === null || key === undefined || !declaredHere.has(key);
  });
}

/** Compares a declared state with the server's, without writing anything. */
export async function planState(ctx: ServiceContext, state: DeclaredState): Promise<StatePlan> {
  const now = ctx.clock();
  const problems: PlanProblem[] = [];
  const environments: EnvironmentChange[] = [];
  const loopbackHosts = new Map<string, readonly LoopbackHost[]>();
  for (const [name, declared] of Object.entries(state.environments ?? {})) {
    const change = await planEnvironment(ctx, name, declared, problems, loopbackHosts);
    if (change === undefined) continue;
    environments.push(
      change.settings.loopbackHosts === undefined
        ? change
        : {
            ...change,
            loopbackViolations: await undeclaredViolations(ctx, state, name, loopbackHosts),
          },
    );
  }
  const changes: ClientChange[] = [];
  for (const declared of state.clients)
    for (const environment of Object.keys(declared.environments)) {
      const change = await planClient(ctx, declared, environment, now, problems, loopbackHosts);
      if (change !== undefined) changes.push(change);
    }
  // A managed client is orphaned when the file drops its key, or only its environment.
  const declaredEnvironments = new Map(
    state.clients.map((c) => [c.key, new Set(Object.keys(c.environments))]),
  );
  const orphans = [];
  for (const env of await ctx.stores.environments.list())
    for (const client of await ctx.stores.clients.list(env.name))
      if (
        client.managedBy !== null &&
        declaredEnvironments.get(client.managedBy)?.has(env.name) !== true
      )
        orphans.push({ environment: env.name, clientId: client.clientId, key: client.managedBy });
  const users = await planUsers(ctx, state.users ?? [], problems);
  return {
    environments,
    changes,
    users,
    problems,
    orphans,
    changeCount:
      environments.filter((e) => e.action !== 'unchanged').length +
      changes.filter((c) => c.action !== 'unchanged').length +
      users.filter((u) => u.action !== 'unchanged').length,
  };
}

export interface AppliedClient {
  readonly key: string;
  readonly environment: string;
  readonly action: 'create' | 'update';
  readonly clientId: string;
  /**
   * For a web client created now, or one that stops using private_key_jwt: its secret, shown
   * once.
   */
  readonly clientSecret?: string;
}

/**
 * Applies a declared state all or nothing: everything is checked first (nothing is written when
 * the policy refuses anything), then every change runs in one transaction.
 */
export async function applyState(
  ctx: ServiceContext,
  state: DeclaredState,
  transaction: <T>(work: (ctx: ServiceContext) => Promise<T>) => Promise<T>,
): Promise<{ plan: StatePlan; applied: AppliedClient[]; appliedUsers: UserChange[] }> {
  const plan = await planState(ctx, state);
  if (plan.problems.length > 0) {
    const first = plan.problems[0] as PlanProblem;
    throw new InputError(
      `${plan.problems.length} problem(s), nothing applied; the first: ${first.environment}/${first.key}${first.uri === undefined ? '' : ` ${first.uri}`}: ${first.message}`,
      'plan_refused',
      plan.problems,
    );
  }
  const byKey = new Map(state.clients.map((c) => [c.key, c]));
  let appliedUsers: UserChange[] = [];
  const applied = await transaction(async (transactionCtx) => {
    // The inventory records what the file registers as registered by the declarative file.
    const tx: ServiceContext = { ...transactionCtx, channel: 'declarative' };
    // Environment settings first (audited by the service like any change), in the same
    // transaction as the clients: all or nothing.
    for (const change of plan.environments)
      if (change.action === 'update')
        await updateEnvironmentSettings(
          tx,
          change.environment,
          // The loopback hosts were checked by plan; the service checks them again.
          (state.environments?.[change.environment] ?? {}) as EnvironmentSettings,
        );
    // In the same transaction as the clients: all or nothing.
    appliedUsers = await applyUserChanges(tx, plan.users, state.users ?? []);
    const done: AppliedClient[] = [];
    for (const change of plan.changes) {
      if (change.action === 'unchanged') continue;
      const declared = byKey.get(change.key) as DeclaredClient;
      const uris = (declared.environments[change.environment]?.redirectUris ?? []).map(
        (e) => e.uri,
      );
      const expiries: Record<string, number | null> = {};
      for (const { uri, expiresAt } of change.addedUris) expiries[uri] = expiresAt;
      for (const { uri, to } of change.expiryChanges) expiries[uri] = to;
      if (change.action === 'create') {
        const created = await createClient(tx, {
          environment: change.environment,
          type: declared.type,
          name: declared.name,
          redirectUris: uris,
          ...(declared.grantTypes === undefined ? {} : { grantTypes: declared.grantTypes }),
          ...(declared.skipConsent === undefined ? {} : { skipConsent: declared.skipConsent }),
          ...(declared.scopes === undefined ? {} : { scopes: declared.scopes }),
          ...declaredSettings(declared, change.environment),
          redirectUriExpiries: Object.fromEntries(
            Object.entries(expiries).filter((e): e is [string, number] => e[1] !== null),
          ),
          managedBy: declared.key,
        });
        done.push({
          key: change.key,
          environment: change.environment,
          action: 'create',
          clientId: created.client.clientId,
          ...(created.clientSecret === undefined ? {} : { clientSecret: created.clientSecret }),
        });
      } else {
        const { clientSecret } = await updateClient(
          tx,
          change.environment,
          change.clientId as string,
          {
            name: declared.name,
            setRedirectUris: uris,
            redirectUriExpiries: expiries,
            ...(declared.grantTypes === undefined ? {} : { grantTypes: declared.grantTypes }),
            ...(declared.skipConsent === undefined ? {} : { skipConsent: declared.skipConsent }),
            ...(declared.scopes === undefined ? {} : { scopes: declared.scopes }),
            ...declaredSettings(declared, change.environment),
            auditType: 'client.applied',
          },
        );
        done.push({
          key: change.key,
          environment: change.environment,
          action: 'update',
          clientId: change.clientId as string,
          ...(clientSecret === undefined ? {} : { clientSecret }),
        });
      }
    }
    return done;
  });
  return { plan, applied, appliedUsers };
}
