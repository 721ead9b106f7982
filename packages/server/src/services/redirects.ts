import {
  matchRedirectUri,
  validateRedirectUri,
  type LintWarning,
} from '@gatehouse/redirect-policy';
import { activeRedirectUris, type Client } from '../storage/clients.js';
import { redirectPolicyFor, requireClient, updateClient } from './clients.js';
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
    for (const client of await ctx.stores.clients.list(env.name)) {
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
      await ctx.stores.clients.update(
        env.name,
        client.clientId,
        { redirectUris: kept, redirectUriExpiries: expiries },
        now,
      );
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
    const match = matchRedirectUri(refused.redirectUri, registered, { environment: env.tier });
    if (match.ok) continue;
    const validation = validateRedirectUri(refused.redirectUri, policy);
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
      registrable: validation.ok
        ? { ok: true }
        : { ok: false, code: validation.code, message: validation.message },
    });
  }
  return views;
}
