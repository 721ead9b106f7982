import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DatabaseKind } from './database.js';
import type { Database } from './schema.js';

/**
 * What is removed once it can no longer matter, and when: the one list housekeeping works through
 * (services/housekeeping.ts). Each rule names a table, the columns that identify a row, and the
 * condition that makes a row dead at `now`. Rows go in batches (`delete … where key in (select …
 * limit n)`), each batch one short statement of its own, so no lock is held for long.
 */
interface ExpiryRule {
  readonly table: keyof Database;
  /** The primary key: a row value on both databases. */
  readonly key: readonly string[];
  readonly dead: (now: number) => RawBuilder<unknown>;
}

/** A rotated refresh token of a family that is still alive is kept (reuse detection). */
const REFRESH_ROTATION_GRACE_MS = 60_000;
/** Refused-redirect rows feed the console's view: the recent ones stay. */
export const REFUSED_REDIRECT_RETENTION_MS = 30 * 24 * 3600 * 1000;
/**
 * A revocation (family, code, impersonation) only matters while a token it covers could still be
 * valid; the longest lifetime of one is the refresh token's absolute 90 days, counted from a
 * sign-in before the revocation. A day's margin.
 */
export const REVOCATION_RETENTION_MS = 91 * 24 * 3600 * 1000;

/** How long a finished Back-Channel Logout delivery stays in its table. */
export const LOGOUT_DELIVERY_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** How long past its expiry a redeemed code is kept to recognise a replay. */
export const CODE_REPLAY_RETENTION_MS = 3600 * 1000;

function familyDead(now: number): RawBuilder<unknown> {
  return sql`not exists (
    select 1 from refresh_tokens live
     where live.family_id = refresh_tokens.family_id
       and live.revoked_at is null
       and ((live.rotated_at is null and live.expires_at > ${now})
            or live.rotated_at > ${now - REFRESH_ROTATION_GRACE_MS}))`;
}

const RULES: readonly ExpiryRule[] = [
  // Gone from the JWT's point of view once `exp` has passed: revocation and introspection of an
  // expired token answer "inactive" without the row.
  {
    table: 'access_tokens',
    key: ['jti'],
    dead: (now) => sql`expires_at <= ${now}`,
  },
  // A family is dead when none of its tokens can be used or is a moment away from its successor
  // being stored: every row of it goes, rotated ones included. While it lives, its rotated
  // tokens stay, so presenting one is still recognised as reuse and revokes the family. Two
  // rules, so each finds its candidates by an index (expiry; revoked rows).
  {
    table: 'refresh_tokens',
    key: ['token_hash'],
    dead: (now) => sql`expires_at <= ${now} and ${familyDead(now)}`,
  },
  {
    table: 'refresh_tokens',
    key: ['token_hash'],
    dead: (now) => sql`revoked_at is not null and ${familyDead(now)}`,
  },
  // A code that was never redeemed goes at its expiry. A redeemed one stays an hour longer, so a
  // replay in that time still revokes what was issued from it (RFC 9700 §4.2.4: only "should");
  // later it is refused as unknown, and issues nothing either way.
  {
    table: 'authorization_codes',
    key: ['code_hash'],
    dead: (now) =>
      sql`expires_at <= ${now} and (consumed_at is null or expires_at <= ${now - CODE_REPLAY_RETENTION_MS})`,
  },
  { table: 'sessions', key: ['id_hash'], dead: (now) => sql`expires_at <= ${now}` },
  { table: 'operator_sessions', key: ['id_hash'], dead: (now) => sql`expires_at <= ${now}` },
  { table: 'device_codes', key: ['device_code_hash'], dead: (now) => sql`expires_at <= ${now}` },
  { table: 'authorization_requests', key: ['id_hash'], dead: (now) => sql`expires_at <= ${now}` },
  // A pushed request (RFC 9126) is of no use past its short life, taken or not.
  {
    table: 'pushed_authorization_requests',
    key: ['request_uri_hash'],
    dead: (now) => sql`expires_at <= ${now}`,
  },
  { table: 'initial_access_tokens', key: ['token_hash'], dead: (now) => sql`expires_at <= ${now}` },
  { table: 'attempt_counters', key: ['key'], dead: (now) => sql`expires_at <= ${now}` },
  {
    table: 'refused_redirects',
    key: ['environment', 'client_id', 'redirect_uri'],
    dead: (now) => sql`last_seen_at <= ${now - REFUSED_REDIRECT_RETENTION_MS}`,
  },
  {
    table: 'refused_post_logout_redirects',
    key: ['environment', 'client_id', 'redirect_uri'],
    dead: (now) => sql`last_seen_at <= ${now - REFUSED_REDIRECT_RETENTION_MS}`,
  },
  {
    table: 'revocations',
    key: ['kind', 'key'],
    dead: (now) => sql`revoked_at <= ${now - REVOCATION_RETENTION_MS}`,
  },
  // An event's expiry is past the expiry of every token it covers (services/revocation.ts); a
  // feed reader loses nothing by not seeing it.
  { table: 'revocation_events', key: ['seq'], dead: (now) => sql`expires_at <= ${now}` },
  // A session's clients matter only while the session could still be ended.
  {
    table: 'session_clients',
    key: ['environment', 'sid', 'client_id'],
    dead: (now) => sql`expires_at <= ${now}`,
  },
  // A finished Back-Channel Logout delivery (delivered or given up) is kept a week for diagnosis;
  // its outcome is in the audit log.
  {
    table: 'logout_deliveries',
    key: ['id'],
    dead: (now) =>
      sql`status in ('delivered', 'failed') and updated_at <= ${now - LOGOUT_DELIVERY_RETENTION_MS}`,
  },
  // A client assertion past its expiry is refused for that alone, so its jti no longer needs
  // remembering to refuse a replay (RFC 7523 §3 items 4 and 7).
  {
    table: 'client_assertion_jtis',
    key: ['environment', 'client_id', 'jti'],
    dead: (now) => sql`expires_at <= ${now}`,
  },
  // A DPoP proof whose `iat` has left the accepted window is refused for that alone, so its jti
  // no longer needs remembering (RFC 9449 §11.1).
  {
    table: 'dpop_proof_jtis',
    key: ['environment', 'jkt', 'jti'],
    dead: (now) => sql`expires_at <= ${now}`,
  },
];

export type ExpiredTable = (typeof RULES)[number]['table'];

export interface SweepOptions {
  /** Rows per statement. */
  readonly batch?: number;
  /** Rows per table per sweep at most; the next sweep goes on. */
  readonly cap?: number;
}

export interface ExpiredRecordStore {
  /**
   * Removes dead rows from every table of the list, in batches. On PostgreSQL one process at a
   * time (an advisory lock, tried, never waited for): undefined when another process is at it.
   * Returns how many rows went, per table.
   */
  sweep(now: number, options?: SweepOptions): Promise<Partial<Record<string, number>> | undefined>;
  /** What `sweep` does, without the lock: inside `exclusively`. */
  removeExpired(now: number, options?: SweepOptions): Promise<Partial<Record<string, number>>>;
  /**
   * Runs `work` as the one process doing housekeeping: on PostgreSQL under an advisory lock that
   * is tried, never waited for (undefined when another process holds it); on SQLite at once.
   */
  exclusively<T>(work: () => Promise<T>): Promise<T | undefined>;
  /** One batch of one table: how many rows went. */
  deleteExpired(table: ExpiredTable, now: number, limit: number): Promise<number>;
}

/** The advisory lock of a housekeeping sweep on PostgreSQL. */
const SWEEP_LOCK = 7310202613;

const yieldToRequests = () => new Promise((resolve) => setImmediate(resolve));

function deleteBatch(
  db: Kysely<Database>,
  rule: ExpiryRule,
  now: number,
  limit: number,
): RawBuilder<unknown> {
  const key = sql.join(rule.key.map((column) => sql.ref(column)));
  const table = sql.table(rule.table);
  const tuple = rule.key.length === 1 ? key : sql`(${key})`;
  return sql`delete from ${table} where ${tuple} in (select ${key} from ${table} where ${rule.dead(now)} limit ${limit})`;
}

export function expiredRecordStore(db: Kysely<Database>, kind: DatabaseKind): ExpiredRecordStore {
  const run = async (
    executor: Kysely<Database>,
    rule: ExpiryRule,
    now: number,
    limit: number,
  ): Promise<number> => {
    const result = await deleteBatch(executor, rule, now, limit).execute(executor);
    return Number(result.numAffectedRows ?? 0n);
  };
  const sweepWith = async (executor: Kysely<Database>, now: number, options: SweepOptions) => {
    const batch = options.batch ?? 1000;
    const cap = options.cap ?? 200_000;
    const removed: Record<string, number> = {};
    for (const rule of RULES) {
      let total = 0;
      while (total < cap) {
        const n = await run(executor, rule, now, Math.min(batch, cap - total));
        total += n;
        if (n < batch) break;
        // Requests between batches: a sweep never holds the database for long.
        await yieldToRequests();
      }
      removed[rule.table] = (removed[rule.table] ?? 0) + total;
    }
    return removed;
  };
  const exclusively = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
    if (kind !== 'postgres') return work();
    // A session lock, held on one connection while the work runs on the pool.
    return db.connection().execute(async (connection) => {
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_lock(${SWEEP_LOCK}) as locked`.execute(connection);
      if (rows[0]?.locked !== true) return undefined;
      try {
        return await work();
      } finally {
        await sql`select pg_advisory_unlock(${SWEEP_LOCK})`.execute(connection);
      }
    });
  };
  return {
    async sweep(now, options = {}) {
      return exclusively(() => sweepWith(db, now, options));
    },
    removeExpired: (now, options = {}) => sweepWith(db, now, options),
    exclusively,
    async deleteExpired(table, now, limit) {
      let total = 0;
      for (const rule of RULES.filter((r) => r.table === table))
        total += await run(db, rule, now, limit - total);
      return total;
    },
  };
}
