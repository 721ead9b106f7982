import type { Clock } from '../clock.js';
import type { Stores } from '../storage/index.js';
import type { RevocationEvent, RevocationKind } from '../storage/revocation-events.js';
import { ACCESS_TOKEN_TTL_S } from '../tokens/issue.js';

/** Clocks of resource servers and of the processes that issue tokens may differ by this much. */
export const REVOCATION_CLOCK_TOLERANCE_MS = 60_000;

/**
 * How long an event is kept: past the longest access-token lifetime plus the tolerance, no token
 * it covers can still be valid, so a feed reader that never sees it loses nothing.
 */
export const REVOCATION_EVENT_TTL_MS = ACCESS_TOKEN_TTL_S * 1000 + REVOCATION_CLOCK_TOLERANCE_MS;

/**
 * Kinds whose key never issues a token again once revoked: a grant family, an ended
 * impersonation. A token of one may still be signed a moment after the event by a request that
 * was checked before it (a concurrent rotation, a redemption racing a code replay, an exchange of
 * a token of the grant); the event covers those too by reaching `REVOCATION_CLOCK_TOLERANCE_MS`
 * past its own time. A token issued that late expires with the event (iat + ttl <= expires_at),
 * so it is covered for as long as it is valid. A deleted user or client is dead for good too
 * (the caller says so with `final`): a token request checked just before the deletion may be
 * signed a second later. A disabled user's event covers only what came before: the user may be
 * enabled again, and a token issued then is good. So is a `user_client` event (the user revoked
 * a client on their account page): the user may sign in to that client again and consent anew,
 * and the tokens issued then must not be covered, so its `issued_before` is its own time, not
 * later. A token whose request was checked just before the revocation and signed just after it
 * escapes the event; services/account.ts revokes the refresh families, codes and consent first,
 * so such a token is an access token alone and lives no longer than its lifetime.
 */
const DEAD_FOR_GOOD: ReadonlySet<RevocationKind> = new Set(['grant', 'impersonation']);

export interface RevocationDeps {
  readonly stores: Stores;
  readonly clock: Clock;
}

/**
 * Records that every access token of `key` (by `kind`) issued until now is revoked, durably,
 * before the caller answers: introspection, userinfo, token exchange and resource servers that
 * follow the feed refuse those tokens from then on.
 */
export async function recordRevocation(
  deps: RevocationDeps,
  environment: string,
  kind: RevocationKind,
  key: string,
  options: { readonly final?: boolean } = {},
): Promise<RevocationEvent> {
  const now = deps.clock();
  const final = DEAD_FOR_GOOD.has(kind) || options.final === true;
  // A grant or impersonation is dead from its first event on, which covers every token it can
  // still produce: another event adds nothing. Without this, replaying one spent code or rotated
  // refresh token in a loop would append an event per request, and every resource server of the
  // environment reads and keeps each of them until it expires.
  if (DEAD_FOR_GOOD.has(kind)) {
    const existing = await deps.stores.revocationEvents.find(environment, kind, key, now);
    if (existing !== undefined) return existing;
  }
  return deps.stores.revocationEvents.append({
    environment,
    kind,
    key,
    issuedBefore: final ? now + REVOCATION_CLOCK_TOLERANCE_MS : now,
    expiresAt: now + REVOCATION_EVENT_TTL_MS,
    createdAt: now,
  });
}
