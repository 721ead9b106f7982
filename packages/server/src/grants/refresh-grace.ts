import type { Environment } from '../storage/environments.js';
import type { RefreshPresentation, RefreshToken } from '../storage/tokens.js';
import type { TokenDeps } from '../tokens/issue.js';

/**
 * The refresh grace window (issue #17, "Concurrent clients without false alarms").
 *
 * Refresh tokens rotate, and a rotated one presented again revokes its whole grant (RFC 9700
 * §4.14.2, OAuth 2.1 §4.3.1): the two presenters cannot both be the rightful client. Except that
 * they can: an agent or an IDE with several windows, a laptop waking up, refreshes the same token
 * from each at once, and all but the first would end the user's grant. So for
 * `environment.refreshGraceSeconds` (default 5, 0 turns it off) after a token was rotated, the
 * same client presenting it again, with a proof of the same DPoP key when the token is bound,
 * gets a successor of its own (a new refresh token in the same family, and a new access token)
 * instead of a revocation. After the window, reuse revokes the grant as before.
 *
 * Bounds, all in the one conditional UPDATE that counts the successor
 * (`TokenStore.countGraceSuccessor`), so concurrent requests on any number of processes cannot
 * exceed them: the window itself (from the rotation), at most `GRACE_SUCCESSORS_CAP` successors
 * per token (a token cannot mint grants without end), and never for a revoked family, code or
 * impersonation, nor an expired token.
 *
 * The trade-off: for a token that is not DPoP-bound, "the same client" is only a client_id for a
 * public client, so a thief who replays a stolen refresh token within the window of the rightful
 * client's own use of it (before or after) gets a successor too, and neither use is reported as
 * reuse: the thief's branch of the family lives until the grant ends or is revoked, where
 * without a grace window the second use would have revoked the grant. The window is seconds, a
 * thief must use the token within it of the client's own refresh, the number of successors is
 * capped, and every successor is audited (`token.refreshed` with `grace: true`), so it is visible.
 * A DPoP-bound token (RFC 9449 §5) does not have this gap: a successor needs a proof of the key,
 * which a copied token file does not hold; an operator who wants no gap for bearer refresh tokens
 * sets the environment's grace to 0.
 */
export const GRACE_SUCCESSORS_CAP = 20;

/**
 * A successor for a token rotated within the environment's grace window, presented again by the
 * holder the caller has checked (same client, same DPoP key when bound, no wider scope), counted
 * atomically; undefined when the window is off or over, the cap is reached, or the grant is dead
 * (then the presentation is a reuse).
 */
export function graceSuccessor(
  deps: TokenDeps,
  environment: Environment,
  tokenHash: string,
  presented: RefreshPresentation,
  now: number,
): Promise<RefreshToken | undefined> {
  const seconds = environment.refreshGraceSeconds;
  if (!(seconds > 0)) return Promise.resolve(undefined);
  return deps.stores.tokens.countGraceSuccessor(
    environment.name,
    tokenHash,
    presented,
    { rotatedSince: now - seconds * 1000, cap: GRACE_SUCCESSORS_CAP },
    now,
  );
}
