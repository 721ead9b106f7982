import { LOOPBACK_HOSTS } from '@gatehouse/redirect-policy';
import { generateKeysOfEveryAlg, KEY_ALGS } from '../crypto/signing-keys.js';
import {
  ENVIRONMENT_NAME,
  REGISTRATION_POLICIES,
  type Environment,
  type EnvironmentSettings,
  type Tier,
} from '../storage/environments.js';
import type { ServiceContext } from './context.js';
import { InputError } from './input-error.js';
import { checkLoopbackHosts, loopbackViolations } from './loopback-policy.js';

/**
 * The environment a request is for, and its issuer. Handlers get it from the HTTP layer (which
 * resolves it from the URL); grants name it too, so it lives here, below both. A value of this
 * type is called `requestEnv` everywhere; `ctx` is always a ServiceContext (services/context.ts).
 */
export interface EnvironmentContext {
  readonly environment: Environment;
  readonly issuer: string;
}

/**
 * The refresh grace window of a new environment, as the migration gives existing ones: long
 * enough for several windows of one app waking together, short enough that a token copied
 * elsewhere is reused long after (issue #17).
 */
export const DEFAULT_REFRESH_GRACE_SECONDS = 5;
/** The longest grace window an environment may have: past a minute, reuse is not a race. */
export const MAX_REFRESH_GRACE_SECONDS = 60;

export const DEFAULT_ENVIRONMENTS: readonly { name: string; tier: Tier }[] = [
  { name: 'development', tier: 'development' },
  { name: 'staging', tier: 'staging' },
  { name: 'production', tier: 'production' },
];

/** Creates an environment with its own signing key. */
export async function createEnvironment(
  ctx: ServiceContext,
  name: string,
  tier: Tier,
): Promise<Environment> {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new InputError(
      `"${name}" is not a valid environment name: use 1-32 lower-case letters, digits and dashes, starting with a letter`,
      'invalid_environment_name',
    );
  }
  if ((await ctx.stores.environments.get(name)) !== undefined) {
    throw new InputError(`environment "${name}" exists already`, 'environment_exists');
  }
  // A key per algorithm (ES256 for access tokens, RS256 for ID tokens by default), rotated
  // together; generated before the environment is stored (off the event loop, which keeps
  // serving meanwhile: crypto/signing-keys.ts), so it never exists without them for that long.
  const keys = await generateKeysOfEveryAlg();
  const now = ctx.clock();
  const environment: Environment = {
    name,
    tier,
    impersonationEnabled: false,
    registration: tier === 'development' ? 'open' : 'token',
    allowLoopbackDocuments: false,
    requirePar: false,
    requireDpop: false,
    refreshGraceSeconds: DEFAULT_REFRESH_GRACE_SECONDS,
    loopbackHosts: LOOPBACK_HOSTS,
    // Clients that describe themselves: where the environment allows them explicitly; a new
    // development environment does, for local tests and MCP clients.
    metadataDocuments: tier === 'development',
    createdAt: now,
  };
  if (!(await ctx.stores.environments.create(environment))) {
    throw new InputError(`environment "${name}" exists already`, 'environment_exists');
  }
  const kids: string[] = [];
  for (const [i, alg] of KEY_ALGS.entries()) {
    const key = keys[i];
    if (key === undefined) throw new Error(`no ${alg} key was generated`);
    await ctx.stores.keys.add({
      ...key,
      environment: name,
      alg,
      status: 'active',
      activatesAt: null,
      retiredAt: null,
      createdAt: now,
    });
    kids.push(key.kid);
  }
  await ctx.stores.audit.append(
    {
      environment: name,
      type: 'environment.created',
      actor: ctx.actor,
      data: { tier, kid: kids[0], kids },
    },
    now,
  );
  return environment;
}

/** Creates the three standard environments that do not exist yet; returns the ones it created. */
export async function ensureDefaultEnvironments(ctx: ServiceContext): Promise<Environment[]> {
  const created: Environment[] = [];
  for (const { name, tier } of DEFAULT_ENVIRONMENTS) {
    if ((await ctx.stores.environments.get(name)) === undefined)
      created.push(await createEnvironment(ctx, name, tier));
  }
  return created;
}

/**
 * The settings `updateEnvironmentSettings` changes; each absent one keeps its value. Impersonation
 * is switched on its own, audited as such (services/impersonation.ts).
 */
export type EnvironmentSettingsInput = Omit<EnvironmentSettings, 'impersonationEnabled'>;

/** The settings an audit entry records, before and after a change. */
function auditedEnvironmentSettings(environment: Environment) {
  return {
    registration: environment.registration,
    allowLoopbackDocuments: environment.allowLoopbackDocuments,
    metadataDocuments: environment.metadataDocuments,
    requirePar: environment.requirePar,
    requireDpop: environment.requireDpop,
    refreshGraceSeconds: environment.refreshGraceSeconds,
    loopbackHosts: [...environment.loopbackHosts],
  };
}

/** Refuses a refresh grace window that is not a whole number of seconds from 0 to 60. */
export function checkRefreshGraceSeconds(value: unknown): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value > MAX_REFRESH_GRACE_SECONDS
  )
    throw new InputError(
      `the refresh grace must be a whole number of seconds from 0 (no grace) to ${MAX_REFRESH_GRACE_SECONDS}`,
      'invalid_refresh_grace',
    );
  return value;
}

/**
 * Dynamic registration policy (RFC 7591), whether metadata-document clients are accepted,
 * (development only) loopback metadata documents, whether every client must push its
 * authorization requests (RFC 9126 §5, `requirePar`) or send DPoP proofs with its token requests
 * (RFC 9449, `requireDpop`), and the refresh grace window (issue #17: seconds in which a
 * just-rotated refresh token presented again by its client gets a successor; 0 turns it off),
 * and the loopback hosts redirect URIs may name (issue #18, services/loopback-policy.ts; null:
 * all three). A loopback policy that existing registrations violate is still set: they stop
 * matching at once, the audit entry counts them and `loopbackViolations` lists them.
 * The policies are independent: `registration` says nothing about metadata documents. Every
 * setting is checked before anything is written.
 */
export async function updateEnvironmentSettings(
  ctx: ServiceContext,
  name: string,
  settings: EnvironmentSettingsInput,
): Promise<Environment> {
  const current = await requireEnvironment(ctx, name);
  if (settings.registration !== undefined && !REGISTRATION_POLICIES.includes(settings.registration))
    throw new InputError(
      `registration must be ${REGISTRATION_POLICIES.join(', ')}`,
      'invalid_registration_policy',
    );
  // Loopback documents exist for local tests; elsewhere they would open the SSRF guard.
  if (settings.allowLoopbackDocuments === true && current.tier !== 'development')
    throw new InputError(
      'loopback metadata documents can be allowed in a development environment only',
      'development_only',
    );
  if (settings.refreshGraceSeconds !== undefined)
    checkRefreshGraceSeconds(settings.refreshGraceSeconds);
  const loopbackHosts =
    settings.loopbackHosts === undefined ? undefined : checkLoopbackHosts(settings.loopbackHosts);
  const next: Environment = {
    ...current,
    ...(settings.registration === undefined ? {} : { registration: settings.registration }),
    ...(settings.allowLoopbackDocuments === undefined
      ? {}
      : { allowLoopbackDocuments: settings.allowLoopbackDocuments }),
    ...(settings.metadataDocuments === undefined
      ? {}
      : { metadataDocuments: settings.metadataDocuments }),
    ...(settings.requirePar === undefined ? {} : { requirePar: settings.requirePar }),
    ...(settings.requireDpop === undefined ? {} : { requireDpop: settings.requireDpop }),
    ...(settings.refreshGraceSeconds === undefined
      ? {}
      : { refreshGraceSeconds: settings.refreshGraceSeconds }),
    ...(loopbackHosts === undefined ? {} : { loopbackHosts: loopbackHosts ?? LOOPBACK_HOSTS }),
  };
  const before = auditedEnvironmentSettings(current);
  const after = auditedEnvironmentSettings(next);
  if (JSON.stringify(before) !== JSON.stringify(after)) {
    await ctx.stores.environments.update(name, {
      ...settings,
      ...(loopbackHosts === undefined ? {} : { loopbackHosts }),
    });
    // Registrations the new loopback policy refuses stop matching now: the record says how many.
    const refused =
      JSON.stringify(before.loopbackHosts) === JSON.stringify(after.loopbackHosts)
        ? {}
        : { refusedLoopbackRegistrations: (await loopbackViolations(ctx, next)).length };
    await ctx.stores.audit.append(
      {
        environment: name,
        type: 'environment.settings_changed',
        actor: ctx.actor,
        data: { before, after, ...refused },
      },
      ctx.clock(),
    );
  }
  return next;
}

export async function requireEnvironment(ctx: ServiceContext, name: string): Promise<Environment> {
  const environment = await ctx.stores.environments.get(name);
  if (environment === undefined) {
    const known = (await ctx.stores.environments.list()).map((e) => e.name).join(', ');
    throw new InputError(
      `no environment "${name}" (known: ${known || 'none'})`,
      'unknown_environment',
    );
  }
  return environment;
}
