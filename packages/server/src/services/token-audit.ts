import type { AuditEntry, AuditStore } from '../storage/audit.js';
import { JTI_BLOCK_CLOSED, JTI_BLOCK_RESERVED, parseBlockJti } from './jti-blocks.js';

/**
 * What the audit log says about an access token's `jti` (`gatehouse audit token`):
 * - `issued`: a grant's entry names it (`token.issued`, `token.refreshed`, `device.redeemed`,
 *   `token.exchanged`, ...), or it is within the `used` count of its closed jti block;
 * - `maybe`: its block was reserved but never closed (the process stopped without closing it):
 *   up to the block's size may have been issued, so it may have been;
 * - `not_issued`: its block was closed with fewer used, or it is beyond the block's size;
 * - `unknown`: no entry accounts for it (never issued by this server, or its entries were removed
 *   by audit retention and are in the archives).
 */
export type TokenAccount =
  | { readonly status: 'issued'; readonly by: AuditEntry }
  | {
      readonly status: 'issued' | 'maybe' | 'not_issued';
      readonly block: string;
      readonly n: number;
      readonly reservedBy: AuditEntry;
      readonly closedBy?: AuditEntry;
    }
  | { readonly status: 'unknown' };

export async function accountForJti(
  audit: AuditStore,
  jti: string,
  environment?: string,
): Promise<TokenAccount> {
  const inBlock = parseBlockJti(jti);
  if (inBlock === undefined) {
    const by = (await audit.naming('jti', jti, environment))[0];
    return by === undefined ? { status: 'unknown' } : { status: 'issued', by };
  }
  const { block, n } = inBlock;
  const entries = await audit.naming('block', block, environment);
  const reservedBy = entries.find((e) => e.type === JTI_BLOCK_RESERVED);
  if (reservedBy === undefined) return { status: 'unknown' };
  const closedBy = entries.find((e) => e.type === JTI_BLOCK_CLOSED && e.seq > reservedBy.seq);
  const size = Number(reservedBy.data.size);
  const found = { block, n, reservedBy, ...(closedBy === undefined ? {} : { closedBy }) };
  if (n >= size) return { status: 'not_issued', ...found };
  if (closedBy === undefined) return { status: 'maybe', ...found };
  return { status: n < Number(closedBy.data.used) ? 'issued' : 'not_issued', ...found };
}
