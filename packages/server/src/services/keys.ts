import {
  generateKeysOfEveryAlg,
  generateSigningKey,
  KEY_ALGS,
  type GeneratedKey,
  type KeyAlg,
} from '../crypto/signing-keys.js';
import type { SigningKeyRecord } from '../storage/keys.js';
import { ACCESS_TOKEN_TTL_S, ID_TOKEN_TTL_S } from '../tokens/issue.js';
import type { ServiceContext } from './context.js';
import { requireEnvironment } from './environments.js';
import { InputError } from './input-error.js';

/** Long enough for every process to see a new key in its JWKS before anyone signs with it. */
export const DEFAULT_ROTATION_OVERLAP_MS = 60_000;
/**
 * A superseded key stays published until every token it could have signed has expired: the
 * longest token lifetime, plus a margin for caches and clocks.
 */
export const RETIRE_AFTER_MS = Math.max(ACCESS_TOKEN_TTL_S, ID_TOKEN_TTL_S) * 1000 + 60_000;

export type KeyRole = 'signing' | 'next' | 'previous' | 'retired';

export interface KeyView {
  readonly kid: string;
  readonly alg: string;
  readonly role: KeyRole;
  readonly createdAt: number;
  readonly activatesAt: number;
  /** When a previous key may be retired: every token it signed has expired by then. */
  readonly retirableAt: number | null;
  readonly retiredAt: number | null;
}

type KeySummary = Omit<SigningKeyRecord, 'privateJwk'>;

const activation = (k: KeySummary): number => k.activatesAt ?? k.createdAt;

/**
 * Each key's role now: the one signing, the next (published, waiting), previous ones, retired.
 * Roles are per algorithm: an environment signs with one ES256 and one RS256 key at a time.
 */
export function keyRoles(keys: readonly KeySummary[], now: number): KeyView[] {
  const live = keys.filter((k) => k.status !== 'retired');
  const startedOf = (alg: string) =>
    live
      .filter((k) => k.alg === alg && activation(k) <= now)
      .sort((a, b) => activation(b) - activation(a));
  const started = new Map(
    Array.from(new Set(keys.map((k) => k.alg)), (alg) => [alg, startedOf(alg)]),
  );
  return keys.map((k) => {
    const sameAlg = started.get(k.alg) ?? [];
    const signing = sameAlg[0];
    const role: KeyRole =
      k.status === 'retired'
        ? 'retired'
        : k === signing
          ? 'signing'
          : activation(k) > now
            ? 'next'
            : 'previous';
    // A previous key stopped signing when a newer key started: the earliest later activation.
    const supersededAt =
      role === 'previous'
        ? Math.min(...sameAlg.filter((s) => activation(s) > activation(k)).map(activation))
        : null;
    return {
      kid: k.kid,
      alg: k.alg,
      role,
      createdAt: k.createdAt,
      activatesAt: activation(k),
      retirableAt: supersededAt === null ? null : supersededAt + RETIRE_AFTER_MS,
      retiredAt: k.retiredAt,
    };
  });
}

export async function listKeys(ctx: ServiceContext, environment: string): Promise<KeyView[]> {
  await requireEnvironment(ctx, environment);
  return keyRoles(await ctx.stores.keys.listAll(environment), ctx.clock());
}

/** What `rotateKey` made: the ES256 key (access tokens), with the keys made alongside it. */
export type RotatedKey = KeyView & {
  /** The keys of the other algorithms (RS256), published and activating with it. */
  readonly alongside: readonly KeyView[];
};

/**
 * Makes a new signing key of each algorithm (ES256 and RS256), all activating at the same time.
 * They are published in the JWKS at once and sign only after `overlapMs`, so every process and
 * every client that caches the JWKS knows them before they are used.
 */
export async function rotateKey(
  ctx: ServiceContext,
  environment: string,
  overlapMs: number = DEFAULT_ROTATION_OVERLAP_MS,
): Promise<RotatedKey> {
  await requireEnvironment(ctx, environment);
  if (!Number.isFinite(overlapMs) || overlapMs < 0 || overlapMs > 7 * 86_400_000)
    throw new InputError('the overlap must be from 0 to 7 days', 'invalid_overlap');
  await refuseIfWaiting(ctx, environment);
  // Generated off the event loop (crypto/signing-keys.ts); a rotation that started meanwhile
  // (another admin request or process) is looked for again before anything is written.
  const keys = await generateKeysOfEveryAlg();
  await refuseIfWaiting(ctx, environment);
  const now = ctx.clock();
  const kids: string[] = [];
  for (const [i, alg] of KEY_ALGS.entries()) {
    const key = keys[i];
    if (key === undefined) throw new Error(`no ${alg} key was generated`);
    await ctx.stores.keys.add({
      ...key,
      environment,
      alg,
      status: 'active',
      activatesAt: now + overlapMs,
      retiredAt: null,
      createdAt: now,
    });
    await ctx.stores.audit.append(
      {
        environment,
        type: 'key.rotated',
        actor: ctx.actor,
        data: { kid: key.kid, alg, activatesAt: now + overlapMs },
      },
      now,
    );
    kids.push(key.kid);
  }
  const views = await listKeys(ctx, environment);
  const made = kids.map((kid) => views.find((k) => k.kid === kid));
  const [main, ...alongside] = made;
  if (main === undefined || alongside.some((k) => k === undefined))
    throw new Error('the new key was not stored');
  return { ...main, alongside: alongside.filter((k) => k !== undefined) };
}

/** One rotation at a time: a second one while a key waits would leave two "next" keys. */
async function refuseIfWaiting(ctx: ServiceContext, environment: string): Promise<void> {
  const waiting = (await listKeys(ctx, environment)).find((k) => k.role === 'next');
  if (waiting !== undefined)
    throw new InputError(
      `key ${waiting.kid} is already waiting to sign from ${new Date(waiting.activatesAt).toISOString()}; rotate again after that`,
      'rotation_pending',
    );
}

/** How far apart the clocks of processes sharing a database may be. */
const CLOCK_SKEW_MS = 5_000;

/**
 * When a key added beside the environment's live keys starts signing: now, unless a live key of
 * another algorithm already signs, then just before the earliest of those. A process of the
 * version before RS256 keys (still serving during a rolling upgrade, docs/deployment.md) signs
 * with the newest active key whatever its algorithm, as ES256: an RSA key activating now would
 * be its choice, and every token it issued until drained would be unverifiable. Activating in the
 * past changes nothing here: it is the only key of its algorithm, so it signs from now anyway.
 */
function activationBeside(keys: readonly KeySummary[], alg: string, now: number): number | null {
  const signingOthers = keys
    .filter((k) => k.status === 'active' && k.alg !== alg && activation(k) <= now)
    .map(activation);
  return signingOthers.length === 0 ? null : Math.min(...signingOthers) - 1;
}

/**
 * How many keys start-up and housekeeping generate at once: as many as libuv's thread pool has
 * threads by default, so a repair of hundreds of environments neither waits for one key at a time
 * nor queues the pool's file, DNS and password-hashing work behind all of them.
 */
export const KEY_GENERATION_CONCURRENCY = 4;

/** `work` for each item, at most `limit` at a time; the results in the items' order. */
async function eachBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Every environment has a live key of each algorithm: one from before RS256 keys existed
 * (migration 0013) gets its RSA key at start-up, signing at once (no token of it exists yet, so
 * nothing can have cached a JWKS without it and still need it). Returns the kids added.
 *
 * What is missing is found first, then generated `concurrency` keys at a time in the thread pool
 * (an RSA key is 40-700 ms of CPU: one at a time, 200 environments from before 0013 held the
 * first start for seconds), then written in the environments' order, each dated from when it was
 * found missing.
 */
export async function ensureKeysOfEveryAlg(
  ctx: ServiceContext,
  options: { readonly concurrency?: number } = {},
): Promise<string[]> {
  const missing: {
    environment: string;
    alg: KeyAlg;
    activatesAt: number | null;
    createdAt: number;
  }[] = [];
  for (const env of await ctx.stores.environments.list()) {
    const keys = await ctx.stores.keys.listAll(env.name);
    for (const alg of KEY_ALGS) {
      const now = ctx.clock();
      // A key that signs now, not merely a live one: a rotation made before this (by an upgraded
      // CLI on a database from before 0013) leaves only an RS256 key that signs later. Within a
      // few seconds counts as now: another process's clock may be that far ahead of this one's.
      if (
        keys.some(
          (k) => k.alg === alg && k.status === 'active' && activation(k) <= now + CLOCK_SKEW_MS,
        )
      )
        continue;
      missing.push({
        environment: env.name,
        alg,
        activatesAt: activationBeside(keys, alg, now),
        createdAt: now,
      });
    }
  }
  const generated: GeneratedKey[] = await eachBounded(
    missing,
    options.concurrency ?? KEY_GENERATION_CONCURRENCY,
    (m) => generateSigningKey(m.alg),
  );
  const added: string[] = [];
  for (const [i, m] of missing.entries()) {
    const key = generated[i];
    if (key === undefined) throw new Error(`no ${m.alg} key was generated for ${m.environment}`);
    await ctx.stores.keys.add({
      ...key,
      environment: m.environment,
      alg: m.alg,
      status: 'active',
      activatesAt: m.activatesAt,
      retiredAt: null,
      createdAt: m.createdAt,
    });
    await ctx.stores.audit.append(
      {
        environment: m.environment,
        type: 'key.rotated',
        actor: ctx.actor,
        data: { kid: key.kid, alg: m.alg, activatesAt: m.activatesAt ?? m.createdAt },
      },
      ctx.clock(),
    );
    added.push(key.kid);
  }
  return added;
}

/**
 * Retires previous keys whose tokens have all expired (or one named key). The signing and the
 * next key are never retired; a previous key before its time only with `force` (a compromise:
 * every token it signed stops verifying).
 */
export async function retireKeys(
  ctx: ServiceContext,
  environment: string,
  options: { readonly kid?: string; readonly force?: boolean } = {},
): Promise<KeyView[]> {
  const now = ctx.clock();
  const keys = await listKeys(ctx, environment);
  let chosen: KeyView[];
  if (options.kid !== undefined) {
    const key = keys.find((k) => k.kid === options.kid);
    if (key === undefined)
      throw new InputError(`no key ${options.kid} in ${environment}`, 'unknown_key');
    if (key.role === 'retired') return [];
    if (key.role === 'signing' || key.role === 'next')
      throw new InputError(
        `key ${key.kid} is the ${key.role === 'signing' ? 'signing' : 'next'} key; rotate first`,
        'key_in_use',
      );
    if ((key.retirableAt ?? Infinity) > now && options.force !== true)
      throw new InputError(
        `tokens signed with ${key.kid} may be valid until ${new Date(key.retirableAt ?? now).toISOString()}; wait, or use --force (they stop verifying at once)`,
        'key_still_needed',
      );
    // Its partners (the keys of the other algorithms made with it by the same rotation) go with
    // it: a rotation moves all of them, and so does a retirement.
    const partners = keys.filter(
      (k) =>
        k.kid !== key.kid &&
        k.alg !== key.alg &&
        k.activatesAt === key.activatesAt &&
        k.role === 'previous' &&
        ((k.retirableAt ?? Infinity) <= now || options.force === true),
    );
    chosen = [key, ...partners];
  } else {
    chosen = keys.filter((k) => k.role === 'previous' && (k.retirableAt ?? Infinity) <= now);
  }
  const retired: KeyView[] = [];
  for (const key of chosen) {
    if (!(await ctx.stores.keys.retire(environment, key.kid, now))) continue;
    await ctx.stores.audit.append(
      {
        environment,
        type: 'key.retired',
        actor: ctx.actor,
        data: {
          kid: key.kid,
          alg: key.alg,
          forced: options.force === true && (key.retirableAt ?? Infinity) > now,
        },
      },
      now,
    );
    retired.push({ ...key, role: 'retired', retiredAt: now });
  }
  return retired;
}

/** Housekeeping: retires, in every environment, the previous keys whose time is up. */
export async function retireExpiredKeys(ctx: ServiceContext): Promise<number> {
  let count = 0;
  for (const env of await ctx.stores.environments.list())
    count += (await retireKeys(ctx, env.name)).length;
  return count;
}
