import type { JWTPayload } from 'jose';
import type { Client } from '../storage/clients.js';
import type { User } from '../storage/users.js';
import type { TokenDeps } from '../tokens/issue.js';

/** An access token that is in force, with the claims and records its users need. */
export interface ActiveAccessToken {
  readonly payload: JWTPayload;
  readonly jti: string;
  readonly sub: string;
  /** `iat`, seconds. */
  readonly iat: number;
  /** `exp`, seconds. */
  readonly exp: number;
  /** `client_id`: the client the token was issued to. */
  readonly clientId: string;
  readonly client: Client;
  /** The user, for a user's token; undefined for a client's own (client_credentials). */
  readonly user: User | undefined;
  /** `grant_id`: the user's grant (refresh family or single grant) it belongs to. */
  readonly grantId: string | null;
  /** `impersonation_id`: the operator's impersonation it came from. */
  readonly impersonationId: string | null;
  /** `aud`, as a list. */
  readonly audiences: readonly string[];
}

/**
 * Whether an access token is in force, the one answer introspection, userinfo, token exchange and
 * revocation share. An access token has no row (issue #15), so it is in force when:
 * - its signature verifies with a key of the environment, `iss` is the environment's issuer,
 *   `typ` is `at+jwt` (RFC 9068 §4) and it has not expired (`exp`);
 * - no revocation event covers it (its jti, grant, user, client, impersonation or user and
 *   client together, issued before the event: storage/revocation-events.ts);
 * - the client it was issued to still exists;
 * - its user, if it has one, still exists and is not disabled.
 * Undefined otherwise, without saying which: callers answer "inactive" or "invalid" alike.
 */
export async function activeAccessToken(
  deps: TokenDeps,
  environment: string,
  issuer: string,
  token: string,
): Promise<ActiveAccessToken | undefined> {
  const payload = await deps.signer.verify(environment, token, { issuer, typ: 'at+jwt' });
  if (payload === undefined) return undefined;
  const { jti, sub, iat, exp, client_id: clientId } = payload;
  if (
    typeof jti !== 'string' ||
    typeof sub !== 'string' ||
    typeof clientId !== 'string' ||
    typeof iat !== 'number' ||
    typeof exp !== 'number'
  )
    return undefined;
  const grantId = typeof payload.grant_id === 'string' ? payload.grant_id : null;
  const impersonationId =
    typeof payload.impersonation_id === 'string' ? payload.impersonation_id : null;
  // RFC 9068 §2.2: a client_credentials token's subject is the client itself; any other subject
  // is a user (client ids and user ids never coincide).
  const userId = sub === clientId ? null : sub;
  const now = deps.clock();
  const [revoked, client, user, legacyRevoked] = await Promise.all([
    deps.stores.revocationEvents.covering(
      environment,
      { jti, iat, clientId, userId, grantId, impersonationId },
      now,
    ),
    deps.stores.clients.get(environment, clientId),
    userId === null ? undefined : deps.stores.users.get(environment, userId),
    // A user's token without grant_id was issued before migration 0012 (every user grant has
    // one since): no grant or impersonation event can match it, but its row still says whether
    // its family, code or impersonation was revoked since. Gone once such tokens have expired.
    userId !== null && grantId === null
      ? deps.stores.tokens.legacyAccessRevoked(environment, jti)
      : false,
  ]);
  if (revoked || legacyRevoked || client === undefined) return undefined;
  if (userId !== null && (user === undefined || user.disabled)) return undefined;
  const aud = payload.aud;
  return {
    payload,
    jti,
    sub,
    iat,
    exp,
    clientId,
    client,
    user,
    grantId,
    impersonationId,
    audiences: aud === undefined ? [] : Array.isArray(aud) ? aud : [aud],
  };
}
