import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { BatchItem } from './batch.js';
import { entryFields, type AuditEntry } from './entry.js';
import { groupByShape, postgresInsertText, postgresParameters } from './insert-sql.js';

interface ChainLink {
  out_seq: number;
  out_prev: string;
  out_hash: string;
}

/**
 * PostgreSQL: a whole batch in one statement, so one round trip (migration 0007): its rows in
 * data-modifying CTEs, its entries chained and inserted by gatehouse_audit_append under the
 * chain's advisory lock. One statement is one transaction: all of it commits, or none.
 */
export async function appendBatchPostgres(
  db: Kysely<Database>,
  batch: readonly BatchItem[],
): Promise<AuditEntry[]> {
  const { params, placeholder } = postgresParameters();
  const inserts = groupByShape(batch.flatMap((item) => item.rows)).map(
    (group, i) => `rows_${i} as (${postgresInsertText(group, placeholder)})`,
  );
  const entries = batch.map(({ event, at }) => entryFields(event, at));
  // `middle` is the hashed JSON array without its first (seq) and last (prev_hash) elements.
  const payload = entries.map((e) => ({
    middle: JSON.stringify([
      e.at,
      e.environment,
      e.type,
      e.actor,
      e.clientId,
      e.userId,
      e.data,
    ]).slice(1, -1),
    at: e.at,
    environment: e.environment,
    type: e.type,
    actor: e.actor,
    client_id: e.clientId,
    user_id: e.userId,
    data: JSON.stringify(e.data),
  }));
  const call = `select out_seq, out_prev, out_hash from gatehouse_audit_append(${placeholder(JSON.stringify(payload))}::jsonb)`;
  const text = inserts.length === 0 ? call : `with ${inserts.join(', ')} ${call}`;
  const result = await db.executeQuery<ChainLink>(CompiledQuery.raw(text, params));
  const chained = [...result.rows].sort((a, b) => a.out_seq - b.out_seq);
  if (chained.length !== entries.length)
    throw new Error('the audit append returned too few entries');
  return entries.map((e, i) => {
    const link = chained[i] as ChainLink;
    return { ...e, seq: link.out_seq, prevHash: link.out_prev, hash: link.out_hash };
  });
}
