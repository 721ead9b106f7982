import { sql, type Kysely } from 'kysely';
import { claimWriteLock, type DatabaseKind } from '../database.js';
import type { Database } from '../schema.js';
import {
  chainHash,
  entryFields,
  GENESIS_HASH,
  toRow,
  type AuditEntry,
  type AuditEvent,
} from './entry.js';
import { insertRows, type AuditedInsert } from './row-writer.js';

/** One append of a batch: an entry to chain and the rows it records. */
export interface BatchItem {
  readonly event: AuditEvent;
  readonly at: number;
  readonly rows: readonly AuditedInsert[];
}

/**
 * Writes a batch in the transaction `trx`: the batch's rows, then its entries, chained in order
 * after the newest entry in the log.
 */
export async function writeBatch(
  trx: Kysely<Database>,
  kind: DatabaseKind,
  batch: readonly BatchItem[],
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
  // (migration 0007) takes the same lock.
  if (kind === 'postgres') await sql`select pg_advisory_xact_lock(7310202611)`.execute(trx);
  const last = await trx
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  let seq = last?.seq ?? 0;
  let prevHash = last?.hash ?? GENESIS_HASH;
  const entries = batch.map(({ event, at }) => {
    const unhashed = { seq: ++seq, ...entryFields(event, at), prevHash };
    const entry: AuditEntry = { ...unhashed, hash: chainHash(unhashed) };
    prevHash = entry.hash;
    return entry;
  });
  await insertRows(
    trx,
    kind,
    entries.map((entry) => ({ table: 'audit_log', row: toRow(entry) })),
  );
  return entries;
}
