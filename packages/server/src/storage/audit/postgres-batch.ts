import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { writeBatch, type BatchItem } from './batch.js';
import { extendChain, EMPTY_CHAIN, type ChainHead } from './chain.js';
import { toRow, type AuditEntry } from './entry.js';
import { groupByShape, postgresInsertText, postgresParameters } from './insert-sql.js';

/** The head each process last saw, per database: what its next batch is chained after. */
const heads = new WeakMap<Kysely<Database>, ChainHead>();

/** Makes the current transaction commit without waiting for its WAL flush (only that one). */
const NO_FLUSH_WAIT = `set_config('synchronous_commit', 'off', true)`;

/** How often a batch is recomputed for a head that moved before a locked transaction is used. */
const OPTIMISTIC_TRIES = 3;

/**
 * PostgreSQL: a whole batch in one statement, so one round trip: its rows in data-modifying CTEs,
 * its entries inserted by gatehouse_audit_append_chained (migration 0010) under the chain's
 * advisory lock. One statement is one transaction: all of it commits, or none.
 *
 * The entries' MACs need the chain key, which never goes to the database, so they are computed
 * here, after the head this process last saw; the function checks under the lock that the head
 * is still that one. When another process appended meanwhile the statement fails as a whole
 * (GH001, with the actual head), and the batch is recomputed after that head and sent again. A
 * single process therefore writes each batch in one round trip, as before; processes appending
 * at the same moment pay one more now and then. After a few misses in a row the batch is written
 * in a transaction that holds the lock while it reads the head (batch.ts), which cannot miss.
 *
 * `waitForFlush` false: the batch's transaction commits with `synchronous_commit` off (for that
 * transaction only), so it returns without waiting for its WAL to reach the disk. Only for a batch
 * none of whose appends must be durable when it resolves (group-commit.ts, AppendOptions).
 */
export async function appendBatchPostgres(
  db: Kysely<Database>,
  batch: readonly BatchItem[],
  key: Buffer | undefined,
  waitForFlush = true,
): Promise<AuditEntry[]> {
  const inserts = groupByShape(batch.flatMap((item) => item.rows));
  let head = heads.get(db) ?? EMPTY_CHAIN;
  for (let attempt = 0; attempt < OPTIMISTIC_TRIES; attempt++) {
    const chained = extendChain(head, batch, key);
    const { params, placeholder } = postgresParameters();
    const ctes = inserts.map(
      (group, i) => `rows_${i} as (${postgresInsertText(group, placeholder)})`,
    );
    // set_config(..., true) is local to the statement's own (implicit) transaction, and is
    // evaluated with the call in the one row selected, so it holds when the statement commits.
    const call = `select ${waitForFlush ? '' : `${NO_FLUSH_WAIT}, `}gatehouse_audit_append_chained(${placeholder(head.seq)}::bigint, ${placeholder(head.hash)}::text, ${placeholder(JSON.stringify(chained.map(toRow)))}::jsonb)`;
    const text = ctes.length === 0 ? call : `with ${ctes.join(', ')} ${call}`;
    try {
      await db.executeQuery(CompiledQuery.raw(text, params));
    } catch (error) {
      const moved = movedHead(error);
      if (moved === undefined) throw error;
      head = moved;
      heads.set(db, moved);
      continue;
    }
    const last = chained[chained.length - 1] as AuditEntry;
    heads.set(db, { seq: last.seq, hash: last.hash });
    // An `audit.chain_keyed` entry put before the batch's own is nobody's to acknowledge.
    return chained.slice(chained.length - batch.length);
  }
  const entries = await db.transaction().execute(async (trx) => {
    if (!waitForFlush) await sql.raw(`select ${NO_FLUSH_WAIT}`).execute(trx);
    return writeBatch(trx, 'postgres', batch, key);
  });
  heads.delete(db);
  return entries;
}

/** The actual head, when the statement failed only because the chain had moved on. */
function movedHead(error: unknown): ChainHead | undefined {
  const { code, detail } = error as { code?: unknown; detail?: unknown };
  if (code !== 'GH001' || typeof detail !== 'string') return undefined;
  const head = JSON.parse(detail) as { seq: number | string; hash: string };
  return { seq: Number(head.seq), hash: head.hash };
}
