import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database } from './schema.js';

export type LogoutDeliveryStatus = 'pending' | 'delivered' | 'failed';

/**
 * One Back-Channel Logout token to POST to one client (OIDC Back-Channel Logout 1.0 §2.5),
 * retried until it is delivered or given up. Its `id` is the logout token's `jti`: every attempt
 * sends the same jti, so a receiver that got an earlier attempt can recognise the repeat (§2.6).
 */
export interface LogoutDelivery {
  readonly id: string;
  readonly environment: string;
  readonly clientId: string;
  /** The client's backchannel_logout_uri when the logout happened. */
  readonly uri: string;
  readonly sub: string;
  readonly sid: string | null;
  readonly status: LogoutDeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface LogoutDeliveryStore {
  enqueue(
    deliveries: readonly Pick<
      LogoutDelivery,
      'id' | 'environment' | 'clientId' | 'uri' | 'sub' | 'sid'
    >[],
    now: number,
  ): Promise<void>;
  /**
   * Pending deliveries whose time has come, oldest first; with `perClient`, at most that many of
   * any one client's, so a client with a backlog (a receiver that never answers, thousands of
   * sessions) cannot fill every run and hold up the others' deliveries.
   */
  due(now: number, limit: number, perClient?: number): Promise<LogoutDelivery[]>;
  /**
   * Claims a due delivery for one attempt: one conditional update (still pending, still due, the
   * attempt count read), so of several processes exactly one wins. The winner holds it until
   * `leaseUntil` (a process that dies mid-attempt leaves it to be retried then). Returns the
   * delivery with its attempt counted, or undefined when another process has it.
   */
  claim(
    delivery: LogoutDelivery,
    now: number,
    leaseUntil: number,
  ): Promise<LogoutDelivery | undefined>;
  delivered(id: string, now: number): Promise<void>;
  /**
   * A failed attempt: tried again at `nextAttemptAt`, or given up (`failed`) when undefined. With
   * `attempt` (the count its claim returned), only while no later attempt has been claimed: an
   * attempt that outlived its lease must not reschedule the one under way now.
   */
  attemptFailed(
    id: string,
    error: string,
    now: number,
    nextAttemptAt: number | undefined,
    attempt?: number,
  ): Promise<void>;
  get(id: string): Promise<LogoutDelivery | undefined>;
  /** An environment's deliveries, newest first (tests, diagnosis). */
  list(environment: string, limit: number): Promise<LogoutDelivery[]>;
}

type Row = Selectable<Database['logout_deliveries']>;

/** Rows per INSERT: 12 parameters each, far below every database's limit. */
const ENQUEUE_SLICE = 500;

const toDelivery = (row: Row): LogoutDelivery => ({
  id: row.id,
  environment: row.environment,
  clientId: row.client_id,
  uri: row.uri,
  sub: row.sub,
  sid: row.sid,
  status: row.status as LogoutDeliveryStatus,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastError: row.last_error,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function logoutDeliveryStore(db: Kysely<Database>): LogoutDeliveryStore {
  const insert = async (
    slice: Parameters<LogoutDeliveryStore['enqueue']>[0],
    now: number,
  ): Promise<void> => {
    await db
      .insertInto('logout_deliveries')
      .values(
        slice.map((d) => ({
          id: d.id,
          environment: d.environment,
          client_id: d.clientId,
          uri: d.uri,
          sub: d.sub,
          sid: d.sid,
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
  };
  return {
    async enqueue(deliveries, now) {
      // In slices: one statement's bound parameters are limited (SQLite 32766, PostgreSQL 65535),
      // and a user signed in thousands of times has that many deliveries at once.
      for (let start = 0; start < deliveries.length; start += ENQUEUE_SLICE)
        await insert(deliveries.slice(start, start + ENQUEUE_SLICE), now);
    },
    async due(now, limit, perClient) {
      const pending = db
        .selectFrom('logout_deliveries')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now);
      if (perClient === undefined) {
        const rows = await pending.selectAll().orderBy('next_attempt_at').limit(limit).execute();
        return rows.map(toDelivery);
      }
      // Each client's due deliveries ranked oldest first (a window function: SQLite and
      // PostgreSQL alike); only the first `perClient` of each are candidates.
      const rows = await db
        .selectFrom(
          pending
            .selectAll()
            .select(
              sql<number>`row_number() over (partition by environment, client_id order by next_attempt_at, id)`.as(
                'client_rank',
              ),
            )
            .as('due'),
        )
        .selectAll()
        .where('client_rank', '<=', perClient)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toDelivery);
    },
    async claim(delivery, now, leaseUntil) {
      const row = await db
        .updateTable('logout_deliveries')
        .set({
          attempts: delivery.attempts + 1,
          next_attempt_at: leaseUntil,
          updated_at: now,
        })
        .where('id', '=', delivery.id)
        .where('status', '=', 'pending')
        .where('attempts', '=', delivery.attempts)
        .where('next_attempt_at', '<=', now)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? undefined : toDelivery(row);
    },
    async delivered(id, now) {
      await db
        .updateTable('logout_deliveries')
        .set({ status: 'delivered', last_error: null, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
    async attemptFailed(id, error, now, nextAttemptAt, attempt) {
      let update = db
        .updateTable('logout_deliveries')
        .set({
          status: nextAttemptAt === undefined ? 'failed' : 'pending',
          last_error: error.slice(0, 500),
          ...(nextAttemptAt === undefined ? {} : { next_attempt_at: nextAttemptAt }),
          updated_at: now,
        })
        .where('id', '=', id)
        // A slow attempt that lost its lease never takes back another process's delivery.
        .where('status', '=', 'pending');
      if (attempt !== undefined) update = update.where('attempts', '=', attempt);
      await update.execute();
    },
    async get(id) {
      const row = await db
        .selectFrom('logout_deliveries')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toDelivery(row);
    },
    async list(environment, limit) {
      const rows = await db
        .selectFrom('logout_deliveries')
        .selectAll()
        .where('environment', '=', environment)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toDelivery);
    },
  };
}
