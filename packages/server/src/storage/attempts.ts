import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** One attempt reserved against a key: the count with it included, and its window. */
export interface AttemptCount {
  /** Attempts in this window, this one included. */
  readonly count: number;
  /** When the window opened: a release names it, so it never takes from a later window. */
  readonly openedAt: number;
  /** When the window closes and the count starts again from nothing. */
  readonly expiresAt: number;
}

/**
 * Attempts by key, in the database, so every process counts the same attempts. A key's count is
 * one row (migration 0008), changed by single statements only: reserving an attempt is one upsert
 * that adds it and returns the new count, so concurrent attempts get distinct counts on SQLite
 * (one writer) and on PostgreSQL (the upsert locks the row) alike, and no two of them both see
 * "one left". The attempt is counted before the expensive check it pays for, never after.
 */
export interface AttemptStore {
  /** Counts one attempt against `key` in a window of `windowMs` (a new one if it had closed). */
  reserve(key: string, now: number, windowMs: number): Promise<AttemptCount>;
  /** Takes back one attempt reserved in the window opened at `openedAt` (if still that one). */
  release(key: string, openedAt: number): Promise<void>;
  /** The count in the open window, without adding to it. */
  current(key: string, now: number): Promise<AttemptCount | undefined>;
  /** Forgets every attempt against `key`. */
  clear(key: string): Promise<void>;
  /** Forgets closed windows; housekeeping. Returns how many keys were forgotten. */
  forgetExpired(now: number): Promise<number>;
}

const toCount = (row: { count: unknown; opened_at: unknown; expires_at: unknown }) => ({
  count: Number(row.count),
  openedAt: Number(row.opened_at),
  expiresAt: Number(row.expires_at),
});

export function attemptStore(db: Kysely<Database>): AttemptStore {
  return {
    async reserve(key, now, windowMs) {
      const expires = now + windowMs;
      // One statement: the row is locked (PostgreSQL) or the database is (SQLite) while it runs,
      // and every SET expression reads the row as it was before this statement.
      const { rows } = await sql<{ count: unknown; opened_at: unknown; expires_at: unknown }>`
        insert into attempt_counters (key, count, opened_at, expires_at)
        values (${key}, 1, ${now}, ${expires})
        on conflict (key) do update set
          count = case when attempt_counters.expires_at <= ${now} then 1
                       else attempt_counters.count + 1 end,
          opened_at = case when attempt_counters.expires_at <= ${now} then ${now}
                           else attempt_counters.opened_at end,
          expires_at = case when attempt_counters.expires_at <= ${now} then ${expires}
                            else attempt_counters.expires_at end
        returning count, opened_at, expires_at`.execute(db);
      const row = rows[0];
      if (row === undefined) throw new Error('reserving an attempt returned no row');
      return toCount(row);
    },
    async release(key, openedAt) {
      await db
        .updateTable('attempt_counters')
        .set((eb) => ({ count: eb('count', '-', 1) }))
        .where('key', '=', key)
        .where('opened_at', '=', openedAt)
        .where('count', '>', 0)
        .execute();
    },
    async current(key, now) {
      const row = await db
        .selectFrom('attempt_counters')
        .select(['count', 'opened_at', 'expires_at'])
        .where('key', '=', key)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row === undefined ? undefined : toCount(row);
    },
    async clear(key) {
      await db.deleteFrom('attempt_counters').where('key', '=', key).execute();
    },
    async forgetExpired(now) {
      const result = await db
        .deleteFrom('attempt_counters')
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
