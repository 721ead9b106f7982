import { sql, type Kysely } from 'kysely';
import { claimWriteLock, type DatabaseKind } from '../database.js';
import type { Database } from '../schema.js';
import { EMPTY_CHAIN, extendChain } from './chain.js';
import { toRow, type AuditEntry, type AuditEvent } from './entry.js';
import { insertRows, type AuditedInsert } from './row-writer.js';

/** One append of a batch: an entry to chain and the rows it records. */
export interface BatchItem {
  readonly event: AuditEvent;
  readonly at: number;
  readonly rows: readonly AuditedInsert[];
}

/**
 * Writes a batch in the transaction `trx`: the batch's rows, then its entries, chained in order
 * after the newest entry in the log (chain.ts). Also PostgreSQL's path when its one statement
 * found another head than the one it was computed for (postgres-batch.ts).
 */
export async function writeBatch(
  trx: Kysely<Database>,
  kind: DatabaseKind,
  batch: readonly BatchItem[],
  /** The chain key (crypto/audit-keys.ts); without it, an unkeyed chain only. */
  key: Buffer | undefined,
): Promise<AuditEntry[]> {
  await claimWriteLock(trx, kind);
  await insertRows(
    trx,
    kind,
    batch.flatMap((item) => item.rows),
  );
  // One writer at a time extends the chain, across every process sharing the database. SQLite
  // serialises transactions on its single connection already. Taken after the batch's other rows
  // are written, so the lock is held for as short a time as can be. gatehouse_audit_append
  // (migration 0008) takes the same lock.
  if (kind === 'postgres') await sql`select pg_advisory_xact_lock(7310202611)`.execute(trx);
  const last = await trx
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const chained = extendChain(last ?? EMPTY_CHAIN, batch, key);
  await insertRows(
    trx,
    kind,
    chained.map((entry) => ({ table: 'audit_log', row: toRow(entry) })),
  );
  // An `audit.chain_keyed` entry put before the batch's own is nobody's to acknowledge.
  return chained.slice(chained.length - batch.length);
}
