import { existsSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseTarget } from './database.js';

/** The table every Gatehouse database has from its first migration on (storage/migrations.ts). */
const MIGRATION_TABLE = 'gatehouse_migrations';

/**
 * Whether `target` already holds a Gatehouse database, looked at without creating or changing
 * anything: no directory, no file, no schema. Admin commands open only an existing database
 * (they may migrate it forward, as the server would), so that a mistyped --data-dir or a command
 * run from the wrong folder is refused instead of answering from a new, empty one.
 * A PostgreSQL server that cannot be reached throws (the caller says "cannot open").
 */
export async function gatehouseDatabaseExists(target: DatabaseTarget): Promise<boolean> {
  if (target.kind === 'sqlite') {
    if (target.file === ':memory:') return false;
    if (!existsSync(target.file)) return false;
    let sqlite: SQLite.Database | undefined;
    try {
      sqlite = new SQLite(target.file, { readonly: true, fileMustExist: true });
      const row = sqlite
        .prepare("select 1 as found from sqlite_master where type = 'table' and name = ?")
        .get(MIGRATION_TABLE);
      return row !== undefined;
    } catch {
      // Not a database at all (or unreadable): not one to open as Gatehouse's either.
      return false;
    } finally {
      sqlite?.close();
    }
  }
  const client = new pg.Client({ connectionString: target.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const result = await client.query<{ found: string | null }>(
      'select to_regclass($1)::text as found',
      [MIGRATION_TABLE],
    );
    return result.rows[0]?.found !== null && result.rows[0]?.found !== undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
