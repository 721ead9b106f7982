import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A table of ids each used once until it expires: primary key (environment, `scopeColumn`, jti)
 * and an `expires_at` column (client_assertion_jtis, dpop_proof_jtis).
 */
export interface UsedOnceTable {
  readonly table: 'client_assertion_jtis' | 'dpop_proof_jtis';
  /** Whose ids these are (a jti is its sender's choice; one sender's must not collide with another's). */
  readonly scopeColumn: 'client_id' | 'jkt';
}

/**
 * Records `jti` of `scope` as used until `expiresAt`: true when this call is the first use, false
 * when it was used before (a replay). One statement: of two concurrent uses on any processes,
 * exactly one gets true (the primary key decides). A row left over from an expired id that
 * housekeeping has not removed yet does not count as a use.
 */
export async function useOnce(
  db: Kysely<Database>,
  { table, scopeColumn }: UsedOnceTable,
  environment: string,
  scope: string,
  jti: string,
  expiresAt: number,
  now: number,
): Promise<boolean> {
  // Inserted, or an expired row taken over; a live row leaves the statement without a row.
  const { rows } = await sql<{ jti: string }>`
    insert into ${sql.table(table)} (environment, ${sql.ref(scopeColumn)}, jti, expires_at)
    values (${environment}, ${scope}, ${jti}, ${expiresAt})
    on conflict (environment, ${sql.ref(scopeColumn)}, jti) do update set expires_at = excluded.expires_at
      where ${sql.ref(`${table}.expires_at`)} <= ${now}
    returning jti`.execute(db);
  return rows.length === 1;
}
