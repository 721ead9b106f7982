import {
  LOOPBACK_HOSTS,
  matchRedirectUri,
  validateRedirectUri,
  ValidationCode,
  type LoopbackHost,
} from '@gatehouse/redirect-policy';
import {
  activeRedirectUris,
  type Client,
  type ClientKind,
  type ClientType,
} from '../storage/clients.js';
import type { Environment, Tier } from '../storage/environments.js';
import type {
  RedirectKind,
  RedirectRegistration,
  RegistrationChannel,
} from '../storage/redirect-registrations.js';
import type { RefusedRedirect } from '../storage/refused-redirects.js';
import type { ServiceContext } from './context.js';
import { requireEnvironment } from './environments.js';
import { redirectMatchOptions, redirectPolicyFor, refusedUris } from './redirect-checks.js';

/**
 * The redirect inventory of one environment (issue #18): every client, every registered redirect
 * and post-logout URI, who registered it and how, when it was last used, and what a security
 * reviewer should look at. Read only: it reads the clients, the registration rows and the refused
 * requests, and changes nothing.
 */

const DAY = 24 * 60 * 60 * 1000;
export const DEFAULT_UNUSED_DAYS = 90;
export const DEFAULT_EXPIRING_DAYS = 14;

/** What a registered URI is, read from its text (the policy verdict is a separate flag). */
export type RedirectClass =
  'https' | 'loopback' | 'private-use-scheme' | 'wildcard' | 'http' | 'unparsable';

/** What a reviewer should look at. */
export type ReportFlagCode =
  | 'unused'
  | 'localhost_loopback'
  | 'wildcard'
  | 'http_not_loopback'
  | 'loopback_for_web_client'
  | 'violates_policy'
  | 'expiring_soon'
  | 'promotion_drift';

export const REPORT_FLAG_CODES: readonly ReportFlagCode[] = [
  'unused',
  'localhost_loopback',
  'wildcard',
  'http_not_loopback',
  'loopback_for_web_client',
  'violates_policy',
  'expiring_soon',
  'promotion_drift',
];

export interface ReportFlag {
  readonly code: ReportFlagCode;
  /** One line saying why, for the reviewer. */
  readonly reason: string;
}

export interface InventoryEntry {
  readonly kind: RedirectKind;
  readonly uri: string;
  readonly class: RedirectClass;
  /** For a loopback URI, which host it names. */
  readonly loopbackHost: LoopbackHost | null;
  /** When it stops matching (temporary registrations); null: never. */
  readonly expiresAt: number | null;
  /** Null when there is no registration row (it was registered before the inventory existed). */
  readonly registeredAt: number | null;
  /** The audit actor (`operator:<id>`, `admin:cli`, `dynamic:…`); null when not recorded. */
  readonly registeredBy: string | null;
  /** The operator's email for `operator:<id>`, else the actor itself. */
  readonly registeredByLabel: string | null;
  readonly channel: RegistrationChannel;
  readonly lastUsedAt: number | null;
  /** Successful authorizations (codes issued) or, for post-logout URIs, logout returns. */
  readonly uses: number;
  /** Authorization requests that matched it. */
  readonly requests: number;
  /** Refused requests whose closest registered URI is this one (a typo, a changed port...). */
  readonly nearMisses: number;
  readonly flags: readonly ReportFlag[];
}

export interface InventoryClient {
  readonly clientId: string;
  readonly name: string;
  readonly type: ClientType;
  readonly kind: ClientKind;
  readonly managedBy: string | null;
  readonly promotedFrom: string | null;
  readonly entries: readonly InventoryEntry[];
  /** Findings about the client as a whole (promotion drift the entries cannot carry). */
  readonly flags: readonly ReportFlag[];
  /** Refused requests (sign-in or sign-out) close to none of its registered URIs. */
  readonly otherRefusals: number;
}

export interface RedirectReport {
  readonly environment: string;
  readonly tier: Tier;
  readonly loopbackHosts: readonly LoopbackHost[];
  readonly generatedAt: number;
  readonly unusedDays: number;
  readonly expiringDays: number;
  readonly clients: readonly InventoryClient[];
  readonly summary: {
    readonly clients: number;
    readonly redirectUris: number;
    readonly postLogoutUris: number;
    /** Entries (and clients, for client-level findings) carrying each flag. */
    readonly flags: Readonly<Record<ReportFlagCode, number>>;
  };
}

export interface ReportOptions {
  /** A URI not used for this many days (and registered at least that long ago) is flagged. */
  readonly unusedDays?: number;
  /** A temporary URI expiring within this many days is flagged. */
  readonly expiringDays?: number;
}

export function classifyRedirectUri(uri: string): {
  class: RedirectClass;
  loopbackHost: LoopbackHost | null;
} {
  if (uri.startsWith('https://*.')) return { class: 'wildcard', loopbackHost: null };
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { class: 'unparsable', loopbackHost: null };
  }
  const web = url.protocol === 'http:' || url.protocol === 'https:';
  const host = (LOOPBACK_HOSTS as readonly string[]).includes(url.hostname)
    ? (url.hostname as LoopbackHost)
    : null;
  if (web && host !== null) return { class: 'loopback', loopbackHost: host };
  // 127.0.0.2, [::ffff:7f00:1], app.localhost, localhost., 0.0.0.0: loopback in another spelling,
  // as the policy reads it (refused in every tier, so the policy flag says why); not "http to a
  // host other than loopback".
  if (web && nonstandardLoopback(uri)) return { class: 'loopback', loopbackHost: null };
  if (url.protocol === 'https:') return { class: 'https', loopbackHost: null };
  if (url.protocol === 'http:') return { class: 'http', loopbackHost: null };
  return { class: 'private-use-scheme', loopbackHost: null };
}

/** Whether the policy refuses a URI as a loopback address in a non-standard spelling. */
function nonstandardLoopback(uri: string): boolean {
  // The verdict on the host does not depend on the tier or the client type.
  const verdict = validateRedirectUri(uri, { environment: 'development', clientType: 'native' });
  return !verdict.ok && verdict.code === ValidationCode.NonstandardLoopback;
}

const day = (at: number): string => new Date(at).toISOString().slice(0, 10);

/**
 * Unused for `days`: last used that long ago, or never used and registered that long ago. A URI
 * registered before Gatehouse recorded registrations and use (migration 0015 backfilled it, with no
 * `registeredBy`, dated at its client's creation) may have been used before then, so its window
 * opens when use began to be counted (`countingSince`, the migration's applied time): flagged
 * only once nothing has been recorded for `days` since then, and the reason says so.
 */
export function unusedFlag(
  entry: Pick<InventoryEntry, 'lastUsedAt' | 'registeredAt' | 'registeredBy'>,
  clientCreatedAt: number,
  now: number,
  days: number,
  countingSince: number | null = null,
): ReportFlag | undefined {
  const threshold = now - days * DAY;
  if (entry.lastUsedAt !== null)
    return entry.lastUsedAt <= threshold
      ? {
          code: 'unused',
          reason: `last used on ${day(entry.lastUsedAt)}, more than ${days} days ago`,
        }
      : undefined;
  const since = entry.registeredAt ?? clientCreatedAt;
  const backfilled = entry.registeredBy === null;
  if (backfilled && countingSince !== null && countingSince > since)
    return countingSince > threshold
      ? undefined
      : {
          code: 'unused',
          reason: `no use recorded since Gatehouse began recording use on ${day(countingSince)} (more than ${days} days); registered by ${day(since)}, use before then is unknown`,
        };
  if (since > threshold) return undefined;
  return {
    code: 'unused',
    reason: backfilled
      ? `no use recorded; registered by ${day(since)} (more than ${days} days), before Gatehouse recorded use, so use before the upgrade to the inventory is unknown`
      : `never used since it was registered on ${day(since)} (more than ${days} days)`,
  };
}

/** The flags of one registered URI, each with its one-line reason. */
function entryFlags(
  entry: Omit<InventoryEntry, 'flags' | 'registeredByLabel'>,
  client: Client,
  environment: Environment,
  now: number,
  options: Required<ReportOptions> & { readonly countingSince: number | null },
): ReportFlag[] {
  const flags: ReportFlag[] = [];
  const unused = unusedFlag(
    entry,
    client.createdAt,
    now,
    options.unusedDays,
    options.countingSince,
  );
  if (unused !== undefined) flags.push(unused);
  if (entry.loopbackHost === 'localhost') {
    // Any case: a registration from before the canonical-form rule may say LOCALHOST.
    const instead = entry.uri.replace(/:\/\/localhost(?=[:/?#]|$)/i, '://127.0.0.1');
    flags.push({
      code: 'localhost_loopback',
      reason: `"localhost" may resolve to something other than this machine (RFC 8252 §8.3: NOT RECOMMENDED); register ${instead}`,
    });
  }
  if (entry.class === 'wildcard')
    flags.push({
      code: 'wildcard',
      reason: `matches any host directly under ${entry.uri.slice('https://*.'.length).split('/')[0] ?? ''} (never in production); prefer exact registrations, or expiring ones for review apps`,
    });
  if (entry.class === 'http')
    flags.push({
      code: 'http_not_loopback',
      reason: 'plain http to a host other than loopback: the code travels unencrypted',
    });
  if (entry.class === 'loopback' && client.type !== 'native')
    flags.push({
      code: 'loopback_for_web_client',
      reason: `a ${client.type === 'spa' ? 'single-page app' : 'web'} client with a loopback URI sends codes to whatever listens on the user's machine`,
    });
  const verdict = validateRedirectUri(entry.uri, redirectPolicyFor(environment, client.type));
  if (!verdict.ok)
    flags.push({
      code: 'violates_policy',
      reason: `${environment.name}'s policy refuses it today [${verdict.code}]: ${verdict.message}`,
    });
  if (entry.expiresAt !== null) {
    if (entry.expiresAt <= now)
      flags.push({
        code: 'expiring_soon',
        reason: `expired on ${new Date(entry.expiresAt).toISOString()}; no longer matches and is removed by housekeeping`,
      });
    else if (entry.expiresAt <= now + options.expiringDays * DAY)
      flags.push({
        code: 'expiring_soon',
        reason: `expires on ${new Date(entry.expiresAt).toISOString()}, within ${options.expiringDays} days`,
      });
  }
  return flags;
}

/**
 * How a promoted client differs from its source in ways promoting again would show: source URIs
 * the target's policy refuses (promoting again is refused), source URIs the target lacks (promoting
 * again adds them back), and target URIs the source lacks (promoting again removes them).
 * Temporary source URIs are never promoted, so they are left out.
 */
function promotionDrift(
  client: Client,
  environment: Environment,
  sources: ReadonlyMap<string, Client>,
): { clientFlags: ReportFlag[]; targetOnly: ReadonlySet<string> } {
  const none = { clientFlags: [], targetOnly: new Set<string>() };
  if (client.promotedFrom === null) return none;
  const source = sources.get(client.promotedFrom);
  if (source === undefined)
    return {
      clientFlags: [
        {
          code: 'promotion_drift',
          reason: `promoted from ${client.promotedFrom}, which no longer exists: nothing upstream vouches for these registrations`,
        },
      ],
      targetOnly: new Set(),
    };
  const promotable = source.redirectUris.filter(
    (uri) => source.redirectUriExpiries[uri] === undefined,
  );
  const refused = refusedUris(redirectPolicyFor(environment, source.type), promotable);
  const clientFlags = refused.map((r): ReportFlag => ({
    code: 'promotion_drift',
    reason: `${client.promotedFrom} has ${r.uri}, which ${environment.name} refuses [${r.code}]: promoting again would be refused`,
  }));
  // The other way: a URI removed here (perhaps on purpose) that promoting again would put back.
  for (const uri of promotable)
    if (!client.redirectUris.includes(uri) && !refused.some((r) => r.uri === uri))
      clientFlags.push({
        code: 'promotion_drift',
        reason: `${client.promotedFrom} has ${uri}, which ${environment.name} lacks: promoting again would add it`,
      });
  const targetOnly = new Set(client.redirectUris.filter((uri) => !promotable.includes(uri)));
  return { clientFlags, targetOnly };
}

/**
 * Refused requests counted against the registered URI each is closest to (a typo, another port,
 * a path that moved): refused redirect URIs against the active redirect URIs, refused
 * post_logout_redirect_uri values against the post-logout URIs, each matched as its endpoint
 * matches it. One that differs already in its scheme is near none of them: it is counted apart,
 * as is anything when the client has no URI left to be near.
 */
function nearMisses(
  registered: readonly string[],
  options: ReturnType<typeof redirectMatchOptions>,
  refusals: readonly RefusedRedirect[],
): { byUri: Map<string, number>; other: number } {
  const byUri = new Map<string, number>();
  let other = 0;
  for (const refused of refusals) {
    const match = matchRedirectUri(refused.redirectUri, registered, options);
    // Registered since it was refused: no longer a near miss.
    if (match.ok) continue;
    if (match.closest === undefined || match.diff?.component === 'scheme') other += refused.count;
    else byUri.set(match.closest, (byUri.get(match.closest) ?? 0) + refused.count);
  }
  return { byUri, other };
}

/** `operator:<id>` as the operator's email; other actors as they are. One read of the operators. */
async function actorLabels(
  ctx: ServiceContext,
  registrations: readonly RedirectRegistration[],
): Promise<Map<string, string>> {
  const actors = new Set(registrations.map((r) => r.registeredBy));
  const byOperator = [...actors].some((actor) => actor?.startsWith('operator:') === true)
    ? new Map((await ctx.stores.operators.list()).map((o) => [`operator:${o.id}`, o.email]))
    : new Map<string, string>();
  const labels = new Map<string, string>();
  for (const actor of actors) if (actor !== null) labels.set(actor, byOperator.get(actor) ?? actor);
  return labels;
}

/**
 * The clients promoted clients came from, keyed `env/clientId` as `promotedFrom` names them: one
 * read per source environment, however many clients there are.
 */
async function promotionSources(
  ctx: ServiceContext,
  clients: readonly Client[],
): Promise<Map<string, Client>> {
  const sourceEnvs = new Set<string>();
  for (const client of clients) {
    const slash = client.promotedFrom?.indexOf('/') ?? -1;
    if (slash > 0) sourceEnvs.add((client.promotedFrom ?? '').slice(0, slash));
  }
  const sources = new Map<string, Client>();
  for (const env of sourceEnvs)
    for (const source of await ctx.stores.clients.list(env))
      sources.set(`${env}/${source.clientId}`, source);
  return sources;
}

function byClient(refusals: readonly RefusedRedirect[]): Map<string, RefusedRedirect[]> {
  const grouped = new Map<string, RefusedRedirect[]>();
  for (const refused of refusals) {
    const list = grouped.get(refused.clientId);
    if (list === undefined) grouped.set(refused.clientId, [refused]);
    else list.push(refused);
  }
  return grouped;
}

export async function redirectReport(
  ctx: ServiceContext,
  environmentName: string,
  options: ReportOptions = {},
): Promise<RedirectReport> {
  const environment = await requireEnvironment(ctx, environmentName);
  const settings = {
    unusedDays: options.unusedDays ?? DEFAULT_UNUSED_DAYS,
    expiringDays: options.expiringDays ?? DEFAULT_EXPIRING_DAYS,
    countingSince: await ctx.stores.redirectRegistrations.countingSince(),
  };
  const now = ctx.clock();
  // A fixed number of reads whatever the number of clients: each table once for the
  // environment (and the clients of each environment promoted from), joined here.
  const registrations = await ctx.stores.redirectRegistrations.list(environment.name);
  const rowOf = new Map(registrations.map((r) => [`${r.clientId}\n${r.kind}\n${r.uri}`, r]));
  const labels = await actorLabels(ctx, registrations);
  const clients = [...(await ctx.stores.clients.list(environment.name))].sort(
    (a, b) => a.name.localeCompare(b.name) || a.clientId.localeCompare(b.clientId),
  );

  const refusals = byClient(await ctx.stores.refusedRedirects.listEnvironment(environment.name));
  const postLogoutRefusals = byClient(
    await ctx.stores.refusedPostLogoutRedirects.listEnvironment(environment.name),
  );
  const sources = await promotionSources(ctx, clients);

  const inventory: InventoryClient[] = [];
  for (const client of clients) {
    const options = redirectMatchOptions(environment, client.type);
    const misses = {
      redirect: nearMisses(
        activeRedirectUris(client, now),
        options,
        refusals.get(client.clientId) ?? [],
      ),
      post_logout: nearMisses(
        client.postLogoutRedirectUris ?? [],
        options,
        postLogoutRefusals.get(client.clientId) ?? [],
      ),
    };
    const drift = promotionDrift(client, environment, sources);
    const listed: [RedirectKind, readonly string[]][] = [
      ['redirect', client.redirectUris],
      ['post_logout', client.postLogoutRedirectUris ?? []],
    ];
    const entries = listed.flatMap(([kind, uris]) =>
      uris.map((uri): InventoryEntry => {
        const row = rowOf.get(`${client.clientId}\n${kind}\n${uri}`);
        const base = {
          kind,
          uri,
          ...classifyRedirectUri(uri),
          expiresAt: kind === 'redirect' ? (client.redirectUriExpiries[uri] ?? null) : null,
          registeredAt: row?.registeredAt ?? null,
          registeredBy: row?.registeredBy ?? null,
          channel: row?.channel ?? 'unknown',
          lastUsedAt: row?.lastUsedAt ?? null,
          uses: row?.useCount ?? 0,
          requests: row?.requestCount ?? 0,
          nearMisses: misses[kind].byUri.get(uri) ?? 0,
        };
        const flags = entryFlags(base, client, environment, now, settings);
        if (kind === 'redirect' && drift.targetOnly.has(uri))
          flags.push({
            code: 'promotion_drift',
            reason: `not in ${client.promotedFrom ?? ''}: promoting again would remove it`,
          });
        return {
          ...base,
          registeredByLabel:
            base.registeredBy === null
              ? null
              : (labels.get(base.registeredBy) ?? base.registeredBy),
          flags,
        };
      }),
    );
    inventory.push({
      clientId: client.clientId,
      name: client.name,
      type: client.type,
      kind: client.kind,
      managedBy: client.managedBy,
      promotedFrom: client.promotedFrom,
      entries,
      flags: drift.clientFlags,
      otherRefusals: misses.redirect.other + misses.post_logout.other,
    });
  }

  const counts = Object.fromEntries(REPORT_FLAG_CODES.map((code) => [code, 0])) as Record<
    ReportFlagCode,
    number
  >;
  for (const client of inventory) {
    const holders = [...client.entries.map((e) => e.flags), client.flags];
    for (const flags of holders)
      for (const code of new Set(flags.map((f) => f.code))) counts[code] += 1;
  }
  const all = inventory.flatMap((c) => c.entries);
  return {
    environment: environment.name,
    tier: environment.tier,
    loopbackHosts: environment.loopbackHosts,
    generatedAt: now,
    unusedDays: settings.unusedDays,
    expiringDays: settings.expiringDays,
    clients: inventory,
    summary: {
      clients: inventory.length,
      redirectUris: all.filter((e) => e.kind === 'redirect').length,
      postLogoutUris: all.filter((e) => e.kind === 'post_logout').length,
      flags: counts,
    },
  };
}
