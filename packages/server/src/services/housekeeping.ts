import { applyAuditRetention, type AuditPruneResult } from './audit-retention.js';
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
 * has the list and each table's rule): access-token records left from before tokens had no row,
 * refresh tokens of families that expired or were revoked, codes, sessions, device codes, parked
 * authorization requests, attempt counters, old refused-redirect rows, revocations, and
 * revocation events once no token they cover can still be valid. On PostgreSQL one process at a
 * time does that part (`recordsRemoved` is undefined in the others), and with an audit retention
 * set (`--audit-retention`) it also archives and removes the entries older than it
 * (services/audit-retention.ts).
 */
export interface HousekeepingOptions {
  readonly auditRetention?: { readonly ms: number; readonly directory: string };
}

export async function runHousekeeping(
  ctx: ServiceContext,
  options: HousekeepingOptions = {},
): Promise<{
  impersonationsEnded: number;
  redirectUrisRemoved: number;
  keysRetired: number;
  attemptWindowsForgotten: number;
  recordsRemoved: Partial<Record<string, number>> | undefined;
  auditPruned: AuditPruneResult | undefined;
}> {
  const impersonationsEnded = await endExpiredImpersonations(ctx);
  const redirectUrisRemoved = await removeExpiredRedirectUris(ctx);
  const keysRetired = await retireExpiredKeys(ctx);
  const now = ctx.clock();
  const { auditRetention } = options;
  const exclusive = await ctx.stores.expired.exclusively(async () => ({
    recordsRemoved: await ctx.stores.expired.removeExpired(now),
    auditPruned:
      auditRetention === undefined
        ? undefined
        : await applyAuditRetention(ctx.stores.audit, auditRetention, now),
  }));
  const recordsRemoved = exclusive?.recordsRemoved;
  return {
    impersonationsEnded,
    redirectUrisRemoved,
    keysRetired,
    // Sign-in and guessing limits whose windows have closed count nothing any more.
    attemptWindowsForgotten: recordsRemoved?.attempt_counters ?? 0,
    recordsRemoved,
    auditPruned: exclusive?.auditPruned,
  };
}
