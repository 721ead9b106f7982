import type { ServiceContext } from './context.js';
import { endExpiredImpersonations } from './impersonation.js';
import { retireExpiredKeys } from './keys.js';
import { removeExpiredRedirectUris } from './redirects.js';

/**
 * Work that is due with time rather than with a request: expired impersonations are ended (and
 * audited), expired redirect URIs removed, and superseded signing keys retired once every token
 * they signed has expired. Correctness never waits for it: both stopped
 * working at their expiry already; this makes the records and the audit log say so.
 */
export async function runHousekeeping(ctx: ServiceContext): Promise<{
  impersonationsEnded: number;
  redirectUrisRemoved: number;
  keysRetired: number;
  attemptWindowsForgotten: number;
}> {
  return {
    impersonationsEnded: await endExpiredImpersonations(ctx),
    redirectUrisRemoved: await removeExpiredRedirectUris(ctx),
    keysRetired: await retireExpiredKeys(ctx),
    // Sign-in and guessing limits whose windows have closed count nothing any more.
    attemptWindowsForgotten: await ctx.stores.attempts.forgetExpired(ctx.clock()),
  };
}
