import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { DatabaseKind } from '../database.js';
import type { Database } from '../schema.js';
import {
  groupByShape,
  postgresInsertText,
  postgresParameters,
  sqliteInsert,
} from './insert-sql.js';

/**
 * A row written in the same transaction as an audit entry: the entry and its rows become durable
 * together or not at all (an access token, a code or a consent is never in force without the
 * entry that records it). With `upsertOn`, a row with the same key is overwritten instead.
 */
export type AuditedInsert = {
  [T in keyof Database]: {
    readonly table: T;
    readonly row: Insertable<Database[T]>;
    readonly upsertOn?: readonly (keyof Database[T] & string)[];
  };
}[keyof Database];

/**
 * Inserts rows of any table in the transaction `trx`. SQLite runs one statement per row, whose
 * prepared statement is reused; PostgreSQL gets one statement per table and shape, as each is a
 * round trip.
 */
export async function insertRows(
  trx: Kysely<Database>,
  kind: DatabaseKind,
  rows: readonly AuditedInsert[],
): Promise<void> {
  if (kind === 'sqlite') {
    for (const row of rows) await trx.executeQuery(sqliteInsert(row));
    return;
  }
  for (const group of groupByShape(rows)) {
    const { params, placeholder } = postgresParameters();
    const text = postgresInsertText(group, placeholder);
    await trx.executeQuery(CompiledQuery.raw(text, params));
  }
}
