/**
 * A user's own account page (issue #17): what acts for them and where they are signed in, and
 * ending either. Every operation takes the signed-in user's id from the caller (the session), never
 * from the form: a client id or session handle the browser sends is looked up among that user's
 * own grants and sessions only, so editing it can reach nothing of anyone else's.
 */
import { sha256 } from '../crypto/random.js';
import { TOKEN_EXCHANGE_GRANT } from '../protocol.js';
import { userClientKey } from '../storage/revocation-events.js';
import type { HeldGrant } from '../storage/account.js';
import type { Session } from '../storage/sessions.js';
import { ACCESS_TOKEN_TTL_S } from '../tokens/issue.js';
import { readConsentItems } from './consents.js';
import type { ServiceContext } from './context.js';
import { endSession } from './logout.js';
import { recordRevocation } from './revocation.js';

/** One client that holds something of the user's: a consent, a refresh token, recent tokens. */
export interface AccountGrant {
  readonly clientId: string;
  /** Null when the client no longer exists. */
  readonly name: string | null;
  /**
   * A self-registered client (RFC 7591, or a Client ID Metadata Document): its name is its own
   * claim, shown as such.
   */
  readonly unverified: boolean;
  /**
   * An agent: it may exchange tokens (RFC 8693) and the user's consent lets it act for them at
   * the resources listed (grants/token-exchange.ts, check-agent).
   */
  readonly agent: boolean;
  /** User scopes (openid, email, ...). */
  readonly scopes: readonly string[];
  readonly resources: readonly { readonly uri: string; readonly scopes: readonly string[] }[];
  /** When it last got tokens for the user (ms), if known. */
  readonly lastUsedAt: number | null;
  /** Some refresh token it holds is bound to a device key (RFC 9449). */
  readonly deviceBound: boolean;
}

export interface AccountSession {
  /** Names the session in the page's form: a hash of its stored id, useless for anything else. */
  readonly handle: string;
  readonly createdAt: number;
  readonly authTime: number;
  readonly expiresAt: number;
  /** The session of the browser viewing the page. */
  readonly current: boolean;
}

export interface AccountView {
  /** Applications, then agents. */
  readonly applications: readonly AccountGrant[];
  readonly agents: readonly AccountGrant[];
  readonly sessions: readonly AccountSession[];
}

/** The form's name for a session: never the session id or the stored hash themselves. */
export function sessionHandle(session: Pick<Session, 'idHash'>): string {
  return sha256(`account-session:${session.idHash}`);
}

/** How far back a spent code's access tokens may still be valid. */
const accessTokenWindow = (now: number) => now - ACCESS_TOKEN_TTL_S * 1000;

/** The grants held for the user, by client. */
async function heldGrants(
  ctx: Pick<ServiceContext, 'stores' | 'clock'>,
  environment: string,
  userId: string,
): Promise<Map<string, HeldGrant[]>> {
  const now = ctx.clock();
  const [families, codes] = await Promise.all([
    ctx.stores.account.refreshGrants(environment, userId, now),
    ctx.stores.account.spentCodeGrants(environment, userId, accessTokenWindow(now)),
  ]);
  const byClient = new Map<string, HeldGrant[]>();
  const seen = new Set<string>();
  // A code spent on a refresh token shares its grant id with the family: counted once.
  for (const grant of [...families, ...codes]) {
    if (seen.has(grant.grantId)) continue;
    seen.add(grant.grantId);
    byClient.set(grant.clientId, [...(byClient.get(grant.clientId) ?? []), grant]);
  }
  return byClient;
}

/** What the account page shows the signed-in user. */
export async function accountView(
  ctx: Pick<ServiceContext, 'stores' | 'clock'>,
  environment: string,
  userId: string,
  currentSession: Pick<Session, 'idHash'>,
): Promise<AccountView> {
  const [consents, grants, sessions] = await Promise.all([
    ctx.stores.consents.list(environment, userId),
    heldGrants(ctx, environment, userId),
    ctx.stores.account.sessions(environment, userId, ctx.clock()),
  ]);
  const consented = new Map(consents.map((c) => [c.clientId, c]));
  const clientIds = [...new Set([...consented.keys(), ...grants.keys()])];
  const entries: AccountGrant[] = [];
  for (const clientId of clientIds) {
    const client = await ctx.stores.clients.get(environment, clientId);
    const consent = consented.get(clientId);
    const held = grants.get(clientId) ?? [];
    // What the user agreed to; without a recorded consent (a client that skips it), what its
    // newest tokens carry.
    const items = consent?.scopes ?? newestItems(held);
    const { scopes, resources } = readConsentItems(items);
    const exchanges = client?.grantTypes.includes(TOKEN_EXCHANGE_GRANT) ?? false;
    const lastExchange = exchanges
      ? (
          await ctx.stores.audit.tail({
            environment,
            type: 'token.exchanged',
            clientId,
            userId,
            limit: 1,
          })
        )[0]?.at
      : undefined;
    const times = [
      ...held.map((g) => g.lastUsedAt),
      ...(lastExchange === undefined ? [] : [lastExchange]),
    ];
    entries.push({
      clientId,
      name: client?.name ?? null,
      unverified: client !== undefined && client.kind !== 'registered',
      agent: exchanges && consent !== undefined && resources.length > 0,
      scopes,
      resources,
      lastUsedAt: times.length === 0 ? null : Math.max(...times),
      deviceBound: held.some((g) => g.deviceBound),
    });
  }
  return {
    applications: entries.filter((e) => !e.agent),
    agents: entries.filter((e) => e.agent),
    sessions: sessions.map((session) => ({
      handle: sessionHandle(session),
      createdAt: session.createdAt,
      authTime: session.authTime,
      expiresAt: session.expiresAt,
      current: session.idHash === currentSession.idHash,
    })),
  };
}

/** The newest grant's scope and resource as consent items (`scope@<resource>`). */
function newestItems(held: readonly HeldGrant[]): string[] {
  const newest = [...held].sort((a, b) => b.lastUsedAt - a.lastUsedAt)[0];
  if (newest === undefined) return [];
  if (newest.resource === null) return [...newest.scope];
  const at = encodeURIComponent(newest.resource);
  return [`resource@${at}`, ...newest.scope.map((s) => `${s}@${at}`)];
}

/**
 * Everything the user gave one client ends now (the page's "Revoke"): the consent (the next
 * authorization asks again; as an agent it may no longer exchange the user's tokens), the codes
 * not yet spent, device codes approved and not yet picked up, every refresh-token family, and every access token, at the server (introspection,
 * userinfo, token exchange) and at the APIs following the revocation feed:
 * - a `grant` event per grant (family or spent code) it holds: what resource servers of every
 *   version match, and, as a grant never issues again, reaching past its own time to tokens a
 *   request checked just before signs just after (services/revocation.ts);
 * - a `user_client` event `<user> <client>`: every other token of the user at the client, an
 *   agent's exchanged tokens included (they carry the grant of the application whose token was
 *   exchanged, not one of the agent's). Issued-before its own time only: a sign-in and consent
 *   after it gives tokens it does not cover.
 * Undefined, and nothing written, when the client holds nothing of the user's: a client id edited
 * into the form writes no event for anyone.
 */
export async function revokeClientAccess(
  ctx: ServiceContext,
  environment: string,
  userId: string,
  clientId: string,
): Promise<{ readonly grants: number; readonly consent: boolean } | undefined> {
  const consent = await ctx.stores.consents.get(environment, userId, clientId);
  const grantsOf = async () => {
    const now = ctx.clock();
    const [held, families, devices] = await Promise.all([
      heldGrants(ctx, environment, userId),
      ctx.stores.account.clientFamilies(environment, userId, clientId, now),
      ctx.stores.account.spentDeviceGrants(environment, userId, clientId),
    ]);
    return new Set([...(held.get(clientId) ?? []).map((g) => g.grantId), ...families, ...devices]);
  };
  if (consent === undefined && (await grantsOf()).size === 0) return undefined;
  // APIs first: from the event on, every token of the user at this client is refused.
  await recordRevocation(ctx, environment, 'user_client', userClientKey(userId, clientId));
  if (consent !== undefined) await ctx.stores.consents.revoke(environment, userId, clientId);
  const codes = await ctx.stores.account.deleteUnspentCodes(environment, userId, clientId);
  const devices = await ctx.stores.account.denyApprovedDeviceCodes(environment, userId, clientId);
  // The grants are read only now, after no code of the client is left unspent: a code (or an
  // approved device code) redeemed concurrently was spent before, and records its grant with the
  // spend (storage/codes.ts, storage/device-codes.ts), so it is read here, and its refresh tokens, stored after this, are dead
  // by the family revocation (storage/tokens.ts notRevoked). Read before, it was missed: the
  // client kept a live grant. A family in mid-rotation is read by its rotated token.
  const grants = [...(await grantsOf())];
  const now = ctx.clock();
  for (const grantId of grants) {
    await ctx.stores.tokens.revokeFamily(environment, grantId, now);
    await recordRevocation(ctx, environment, 'grant', grantId);
  }
  await ctx.stores.audit.append(
    {
      environment,
      type: 'account.grant_revoked',
      actor: ctx.actor,
      clientId,
      userId,
      data: {
        clientId,
        grants,
        unspentCodes: codes,
        deviceCodesDenied: devices,
        ...(consent === undefined ? {} : { scope: consent.join(' ') }),
      },
    },
    ctx.clock(),
  );
  return { grants: grants.length, consent: consent !== undefined };
}

/**
 * Ends one of the user's sessions, by the handle the page showed (`sessionHandle`), through the
 * logout service: its row goes and the clients it signed in to are told by Back-Channel Logout.
 * Returns whether it was the session of the browser asking (whose cookie the caller clears);
 * undefined, and nothing ended, when the handle names none of the user's live sessions.
 */
export async function endAccountSession(
  ctx: ServiceContext,
  environment: string,
  userId: string,
  handle: string,
  currentSession: Pick<Session, 'idHash'>,
): Promise<{ readonly current: boolean } | undefined> {
  const sessions = await ctx.stores.account.sessions(environment, userId, ctx.clock());
  const session = sessions.find((s) => sessionHandle(s) === handle);
  if (session === undefined) return undefined;
  const current = session.idHash === currentSession.idHash;
  await endSession(ctx, { environment, session, clientId: null, reason: 'account' });
  await ctx.stores.audit.append(
    {
      environment,
      type: 'account.session_ended',
      actor: ctx.actor,
      userId,
      data: { sid: session.sid, current },
    },
    ctx.clock(),
  );
  return { current };
}
