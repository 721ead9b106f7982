import { randomToken } from '../crypto/random.js';
import type { Client } from '../storage/clients.js';
import type { Session } from '../storage/sessions.js';
import type { SessionClient } from '../storage/session-clients.js';
import type { ServiceContext } from './context.js';

/** How an end-user session came to end, for the audit entry. */
export type SessionEndReason =
  /** RP-Initiated Logout with an id_token_hint naming this session's user: no question asked. */
  | 'id_token_hint'
  /** RP-Initiated Logout confirmed by the user on the confirmation page. */
  | 'confirmed'
  /** Another user signed in in the same browser (http/sign-in.ts). */
  | 'replaced'
  /** The user ended it on their account page (services/account.ts), from any browser. */
  | 'account';

/**
 * Records that a session signed in to a client (a code was issued under it), so that the client
 * is told when the session ends (Back-Channel Logout 1.0 §2.7). Only for a client that has a
 * backchannel_logout_uri now: most have none, and a write on every code flow for them would be
 * for nothing (a client that registers one later is told of the sessions signed in after that).
 * Sessions from before migration 0013 have no sid and are not recorded: nothing could name them
 * in a logout token.
 */
export async function recordSessionClient(
  ctx: Pick<ServiceContext, 'stores' | 'clock'>,
  entry: {
    readonly environment: string;
    readonly sid: string | null;
    readonly clientId: string;
    readonly userId: string;
    /** When the session expires at the latest: the record is useless after it. */
    readonly expiresAt: number;
  },
): Promise<void> {
  if (entry.sid === null) return;
  const client = await ctx.stores.clients.get(entry.environment, entry.clientId);
  const uri = client?.backchannelLogoutUri;
  if (uri === undefined || uri === null || uri === '') return;
  await ctx.stores.sessionClients.record({
    environment: entry.environment,
    sid: entry.sid,
    clientId: entry.clientId,
    userId: entry.userId,
    expiresAt: entry.expiresAt,
    createdAt: ctx.clock(),
  });
}

/**
 * Ends a browser session (RP-Initiated Logout 1.0 §2): its row goes (the cookie is the caller's),
 * every client it signed in to that registered a backchannel_logout_uri gets a logout token
 * queued (Back-Channel Logout §2.7; delivered by services/logout-deliveries.ts), and the end is
 * audited. Returns the clients that will be told.
 */
export async function endSession(
  ctx: ServiceContext,
  request: {
    readonly environment: string;
    readonly session: Session;
    /** The client that asked (the hint's audience or client_id), if known. */
    readonly clientId: string | null;
    readonly reason: SessionEndReason;
  },
): Promise<string[]> {
  const { environment, session } = request;
  await ctx.stores.sessions.delete(environment, session.idHash);
  const clients =
    session.sid === null
      ? []
      : await ctx.stores.sessionClients.takeForSession(environment, session.sid);
  const told = await queueBackchannelLogout(ctx, environment, clients);
  await ctx.stores.audit.append(
    {
      environment,
      type: 'session.ended',
      actor: `user:${session.userId}`,
      userId: session.userId,
      clientId: request.clientId,
      data: { sid: session.sid, reason: request.reason, backchannel: told },
    },
    ctx.clock(),
  );
  return told;
}

/**
 * Every session of a user ended by the server (the user disabled or deleted): their clients are
 * told by Back-Channel Logout as for a sign-out. The sessions themselves are removed by the
 * caller (services/users.ts). Returns the clients that will be told.
 */
export async function backchannelLogoutForUser(
  ctx: ServiceContext,
  environment: string,
  userId: string,
): Promise<string[]> {
  const clients = await ctx.stores.sessionClients.takeForUser(environment, userId);
  return queueBackchannelLogout(ctx, environment, clients);
}

/**
 * One delivery per (session, client) whose client registered a backchannel_logout_uri; clients
 * without one, or deleted since, are skipped. The logout token is signed at each attempt (the
 * signing key may rotate meanwhile); the delivery's id is its jti.
 */
async function queueBackchannelLogout(
  ctx: ServiceContext,
  environment: string,
  entries: readonly SessionClient[],
): Promise<string[]> {
  const deliveries = [];
  // A user's many sessions name the same few clients: each is read once.
  const clients = new Map<string, Promise<Client | undefined>>();
  for (const entry of entries) {
    let read = clients.get(entry.clientId);
    if (read === undefined) {
      read = ctx.stores.clients.get(environment, entry.clientId);
      clients.set(entry.clientId, read);
    }
    const client = await read;
    const uri = client?.backchannelLogoutUri;
    if (uri === undefined || uri === null || uri === '') continue;
    deliveries.push({
      id: randomToken(16),
      environment,
      clientId: entry.clientId,
      uri,
      sub: entry.userId,
      sid: entry.sid,
    });
  }
  await ctx.stores.logoutDeliveries.enqueue(deliveries, ctx.clock());
  return deliveries.map((d) => d.clientId);
}
