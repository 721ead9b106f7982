import type { ServiceContext } from './context.js';
import { endExpiredImpersonations } from './impersonation.js';
import { retireExpiredKeys } from './keys.js';
import { removeExpiredRedirectUris } from './redirects.js';

/**
 * Work that is due with time rather than with a request: expired impersonations are ended (and
 * audited), expired redirect URIs removed, and superseded signing keys retired once every token
 * they signed has expired. Correctness never waits for it: both stopped
 * working at their expiry already; this makes the records and the audit log say so.
 *
 * Then what can no longer matter is removed, in batches of short statements (storage/expired.ts
 * has the list and each table's rule): expired access-token records, refresh tokens of families
 * that expired or were revoked, codes, sessions, device codes, parked authorization requests,
 * attempt counters, old refused-redirect rows and revocations. On PostgreSQL one process at a
 * time does that part (`recordsRemoved` is undefined in the others).
 */
export async function runHousekeeping(ctx: ServiceContext): Promise<{
  impersonationsEnded: number;
  redirectUrisRemoved: number;
  keysRetired: number;
  attemptWindowsForgotten: number;
  recordsRemoved: Partial<Record<string, number>> | undefined;
}> {
  const impersonationsEnded = await endExpiredImpersonations(ctx);
  const redirectUrisRemoved = await removeExpiredRedirectUris(ctx);
  const keysRetired = await retireExpiredKeys(ctx);
  const recordsRemoved = await ctx.stores.expired.sweep(ctx.clock());
  return {
    impersonationsEnded,
    redirectUrisRemoved,
    keysRetired,
    // Sign-in and guessing limits whose windows have closed count nothing any more.
    attemptWindowsForgotten: recordsRemoved?.attempt_counters ?? 0,
    recordsRemoved,
  };
}
