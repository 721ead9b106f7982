import { applyAuditRetention, type AuditPruneResult } from './audit-retention.js';
import type { ServiceContext } from './context.js';
import { endExpiredImpersonations } from './impersonation.js';
import { ensureKeysOfEveryAlg, retireExpiredKeys } from './keys.js';
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
  /** Keys made for environments that lacked one of an algorithm (undefined: another process's turn). */
  keysAdded: number | undefined;
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
    // An environment left without a key of some algorithm (made by a process of the version
    // before RS256 keys during a rolling upgrade, or by a creation cut short between its two
    // keys) gets it here rather than at the next restart: until then /readyz is 503 in every
    // process. One process at a time, so two never both add one.
    keysAdded: (await ensureKeysOfEveryAlg(ctx)).length,
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
    keysAdded: exclusive?.keysAdded,
    // Sign-in and guessing limits whose windows have closed count nothing any more.
    attemptWindowsForgotten: recordsRemoved?.attempt_counters ?? 0,
    recordsRemoved,
    auditPruned: exclusive?.auditPruned,
  };
}
