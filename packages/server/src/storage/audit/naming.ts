import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { toEntry, type AuditEntry } from './entry.js';

/**
 * The entries whose data has `field` equal to the string `value` (a `jti`, a jti block), oldest
 * first, in one environment when given. The data column is JSON text as `JSON.stringify` wrote
 * it, so `"field":"value"` is matched with LIKE (the same on SQLite and PostgreSQL, no JSON
 * functions) and then confirmed on the parsed data. A forensic read: the database scans the log
 * (no index serves it), and only the few matching rows come back.
 */
export async function entriesNaming(
  db: Kysely<Database>,
  field: string,
  value: string,
  environment?: string,
): Promise<AuditEntry[]> {
  // SQLite's LIKE has no default escape character: '\' is named on both.
  const literal = JSON.stringify({ [field]: value })
    .slice(1, -1)
    .replace(/[\\%_]/g, '\\$&');
  let query = db
    .selectFrom('audit_log')
    .selectAll()
    .where(sql<boolean>`data like ${`%${literal}%`} escape '\\'`)
    .orderBy('seq');
  if (environment !== undefined) query = query.where('environment', '=', environment);
  const rows = await query.execute();
  return rows.map(toEntry).filter((entry) => entry.data[field] === value);
}
