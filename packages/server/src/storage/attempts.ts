import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Failed attempts by key, in the database, so every process counts the same attempts. */
export interface AttemptStore {
  /** How many attempts since `since`, and the earliest of them. */
  recent(key: string, since: number): Promise<{ count: number; earliest: number | null }>;
  /** Records one, and forgets this key's attempts older than `forgetBefore`. */
  record(key: string, at: number, forgetBefore: number): Promise<void>;
  clear(key: string): Promise<void>;
}

export function attemptStore(db: Kysely<Database>): AttemptStore {
  return {
    async recent(key, since) {
      const row = await db
        .selectFrom('attempts')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('count'),
          eb.fn.min<number | string | null>('at').as('earliest'),
        ])
        .where('key', '=', key)
        .where('at', '>', since)
        .executeTakeFirst();
      return {
        count: Number(row?.count ?? 0),
        earliest: row?.earliest == null ? null : Number(row.earliest),
      };
    },
    async record(key, at, forgetBefore) {
      await db.insertInto('attempts').values({ key, at }).execute();
      await db
        .deleteFrom('attempts')
        .where('key', '=', key)
        .where('at', '<=', forgetBefore)
        .execute();
    },
    async clear(key) {
      await db.deleteFrom('attempts').where('key', '=', key).execute();
    },
  };
}
