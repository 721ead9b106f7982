import {
  matchRedirectUri,
  validateRedirectUri,
  type LintWarning,
} from '@gatehouse/redirect-policy';
import { activeRedirectUris, type Client } from '../storage/clients.js';
import { redirectPolicyFor, requireClient, updateClient } from './clients.js';
import { redirectMatchOptions } from './redirect-checks.js';
import type { ServiceContext } from './context.js';
import { parseDuration } from './duration.js';
import { requireEnvironment } from './environments.js';

/** Registers one redirect URI, through the same policy as any change; optionally temporary. */
export async function addRedirectUri(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
  uri: string,
  options: { readonly expiresIn?: string } = {},
): Promise<{ client: Client; warnings: readonly LintWarning[] }> {
  const expiresAt =
    options.expiresIn === undefined ? undefined : ctx.clock() + parseDuration(options.expiresIn);
  return updateClient(ctx, environment, clientId, {
    addRedirectUris: [uri],
    redirectUriExpiries: { [uri]: expiresAt ?? null },
  });
}

export async function removeRedirectUri(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
  uri: string,
): Promise<Client> {
  return (await updateClient(ctx, environment, clientId, { removeRedirectUris: [uri] })).client;
}

/**
 * Removes redirect URIs whose time is up, one audit entry per client. They stopped matching at
 * their expiry already (`activeRedirectUris`); this makes the registration say so too.
 */
export async function removeExpiredRedirectUris(ctx: ServiceContext): Promise<number> {
  const now = ctx.clock();
  let removed = 0;
  for (const env of await ctx.stores.environments.list()) {
    // Only clients with an expiring URI: on a large installation, loading every client on each
    // pass held hundreds of megabytes for nothing.
    for (const client of await ctx.stores.clients.listWithExpiringRedirectUris(env.name)) {
      const expired = client.redirectUris.filter(
        (uri) => (client.redirectUriExpiries[uri] ?? Infinity) <= now,
      );
      if (expired.length === 0) continue;
      // Straight to the store: the remaining set was valid when registered and must not be
      // re-judged (a client may legitimately be left with no redirect URI until someone adds one).
      const kept = client.redirectUris.filter((uri) => !expired.includes(uri));
      const expiries = Object.fromEntries(
        Object.entries(client.redirectUriExpiries).filter(([uri]) => !expired.includes(uri)),
      );
      const won = await ctx.stores.clients.replaceRedirectUrisIf(
        env.name,
        client.clientId,
        client.redirectUris,
        kept,
        expiries,
        now,
      );
      if (!won) continue;
      await ctx.stores.audit.append(
        {
          environment: env.name,
          type: 'client.redirect_uri_expired',
          actor: 'system',
          clientId: client.clientId,
          data: {
            removed: expired.map((uri) => ({ uri, expiredAt: client.redirectUriExpiries[uri] })),
          },
        },
        now,
      );
      removed += expired.length;
    }
  }
  return removed;
}

export interface RefusedRedirectView {
  readonly uri: string;
  readonly count: number;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly closest: string | null;
  readonly diff: {
    readonly index: number;
    readonly expected: string;
    readonly component: string;
    readonly kind: string;
    readonly description: string;
  } | null;
  /** Whether registering the URI as it stands would pass the policy, and if not why. */
  readonly registrable:
    { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };
}

/**
 * The redirect URIs real requests used and the policy refused, each set against the client's
 * registration as it is now (not as it was when refused), so the diff is today's diff.
 */
export async function refusedRedirectsOf(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
): Promise<RefusedRedirectView[]> {
  const env = await requireEnvironment(ctx, environment);
  const client = await requireClient(ctx, environment, clientId);
  const registered = activeRedirectUris(client, ctx.clock());
  const policy = redirectPolicyFor(env, client.type);
  const views: RefusedRedirectView[] = [];
  for (const refused of await ctx.stores.refusedRedirects.list(environment, clientId)) {
    const match = matchRedirectUri(
      refused.redirectUri,
      registered,
      redirectMatchOptions(env, client.type),
    );
    if (match.ok) continue;
    const validation = validateRedirectUri(refused.redirectUri, policy);
    const expiredAt = client.redirectUriExpiries[refused.redirectUri];
    const registrable: RefusedRedirectView['registrable'] = !validation.ok
      ? { ok: false, code: validation.code, message: validation.message }
      : expiredAt !== undefined
        ? {
            ok: false,
            code: 'expired',
            message: `This URI was registered until ${new Date(expiredAt).toISOString()}; add it again by hand, with a new expiry if it is temporary.`,
          }
        : !sameDestination(refused.redirectUri, registered, client.type === 'spa')
          ? {
              ok: false,
              code: 'new_destination',
              message: `Codes would go to ${destinationOf(refused.redirectUri, client.type === 'spa')}, where no registered redirect URI sends them. Anyone can send requests, so this is not offered in one click; if that destination is the application's, add the URI by hand.`,
            }
          : ({ ok: true } as const);
    views.push({
      uri: refused.redirectUri,
      count: refused.count,
      firstSeenAt: refused.firstSeenAt,
      lastSeenAt: refused.lastSeenAt,
      closest: match.closest ?? null,
      diff:
        match.diff === undefined
          ? null
          : {
              index: match.diff.index,
              expected: match.diff.expected,
              component: match.diff.component,
              kind: match.diff.kind,
              description: match.diff.description,
            },
      registrable,
    });
  }
  return views;
}

/** Where a redirect URI sends codes: its scheme and host, or a private-use scheme alone. */
function destinationOf(uri: string, byOrigin = false): string {
  const url = URL.canParse(uri) ? new URL(uri) : undefined;
  if (url === undefined) return uri;
  // A single-page app's destination is its origin, port included: another port is another
  // origin, which would also be granted CORS (http/cors.ts).
  if (byOrigin && (url.protocol === 'https:' || url.protocol === 'http:')) return url.origin;
  return url.protocol === 'https:' || url.protocol === 'http:'
    ? `${url.protocol}//${url.hostname}`
    : url.protocol;
}

/**
 * Whether a refused URI sends codes where a registered one already does: the same scheme and
 * host, or a host a registered wildcard covers. Anyone can make a request refused, so only these
 * are offered for one-click registration; a new destination must be typed in by an operator.
 */
function sameDestination(uri: string, registered: readonly string[], byOrigin: boolean): boolean {
  const destination = destinationOf(uri, byOrigin);
  return registered.some((entry) => {
    if (byOrigin) return destinationOf(entry, true) === destination;
    if (entry.startsWith('https://*.')) {
      const suffix = destinationOf(entry.replace('https://*.', 'https://wildcard.')).slice(
        'https://wildcard'.length,
      );
      const label = destination.startsWith('https://') ? destination.slice(8, -suffix.length) : '';
      return destination.endsWith(suffix) && /^[a-z0-9-]+$/.test(label);
    }
    return destinationOf(entry) === destination;
  });
}
