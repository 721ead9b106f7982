import { TOKEN_EXCHANGE_GRANT } from '../protocol.js';
import type { ServiceContext } from './context.js';
import { InputError } from './input-error.js';
import { requireUser } from './users.js';

/**
 * What a user granted one client, as operators see it: the user scopes, and per resource the
 * scopes granted there (consent items are `scope@<encoded resource>` and `resource@<...>`).
 */
export interface ConsentView {
  readonly clientId: string;
  /** Null when the client no longer exists. */
  readonly clientName: string | null;
  /**
   * Whether the client may exchange this user's tokens (RFC 8693): with this consent it may act
   * for the user at the resources listed, even with a token issued to another client.
   */
  readonly agent: boolean;
  /** User scopes (openid, email, ...). */
  readonly scopes: readonly string[];
  readonly resources: readonly { readonly uri: string; readonly scopes: readonly string[] }[];
  readonly grantedAt: number;
}

/** Splits consent items into user scopes and the scopes granted at each resource. */
export function readConsentItems(
  items: readonly string[],
): Pick<ConsentView, 'scopes' | 'resources'> {
  const scopes: string[] = [];
  const resources = new Map<string, string[]>();
  for (const item of items) {
    const at = item.lastIndexOf('@');
    if (at === -1) {
      scopes.push(item);
      continue;
    }
    let uri: string;
    try {
      uri = decodeURIComponent(item.slice(at + 1));
    } catch {
      continue;
    }
    const scope = item.slice(0, at);
    const list = resources.get(uri) ?? [];
    if (scope !== 'resource') list.push(scope);
    resources.set(uri, list);
  }
  return { scopes, resources: [...resources].map(([uri, list]) => ({ uri, scopes: list })) };
}

/** The consents a user has given, with the clients they were given to. */
export async function listConsents(
  ctx: ServiceContext,
  environment: string,
  idOrEmail: string,
): Promise<ConsentView[]> {
  const user = await requireUser(ctx, environment, idOrEmail);
  const recorded = await ctx.stores.consents.list(environment, user.id);
  const views: ConsentView[] = [];
  for (const consent of recorded) {
    const client = await ctx.stores.clients.get(environment, consent.clientId);
    views.push({
      clientId: consent.clientId,
      clientName: client?.name ?? null,
      agent: client?.grantTypes.includes(TOKEN_EXCHANGE_GRANT) ?? false,
      ...readConsentItems(consent.scopes),
      grantedAt: consent.grantedAt,
    });
  }
  return views;
}

/**
 * Forgets what a user granted a client: the next authorization request asks again, and the
 * client may no longer act for the user by token exchange with another client's token. Tokens
 * already issued stay valid until they expire or are revoked.
 */
export async function revokeConsent(
  ctx: ServiceContext,
  environment: string,
  idOrEmail: string,
  clientId: string,
): Promise<void> {
  const user = await requireUser(ctx, environment, idOrEmail);
  const before = await ctx.stores.consents.get(environment, user.id, clientId);
  if (before === undefined || !(await ctx.stores.consents.revoke(environment, user.id, clientId)))
    throw new InputError(
      `user ${user.id} has given client ${clientId} no consent in ${environment}`,
      'unknown_consent',
    );
  await ctx.stores.audit.append(
    {
      environment,
      type: 'consent.revoked',
      actor: ctx.actor,
      clientId,
      userId: user.id,
      data: { clientId, scope: before.join(' ') },
    },
    ctx.clock(),
  );
}
