import type { Kysely, Selectable } from 'kysely';
import type { Database, ImpersonationTable } from './schema.js';

export type ImpersonationEnd = 'ended' | 'expired';

/** An operator acting as a user towards one client, for a reason and a bounded time. */
export interface Impersonation {
  readonly id: string;
  readonly environment: string;
  readonly operatorId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly reason: string;
  readonly cookieHash: string;
  readonly startedAt: number;
  readonly expiresAt: number;
  readonly endedAt: number | null;
  readonly endReason: ImpersonationEnd | null;
}

export function isImpersonationActive(impersonation: Impersonation, now: number): boolean {
  return impersonation.endedAt === null && impersonation.expiresAt > now;
}

export interface ImpersonationStore {
  create(impersonation: Impersonation): Promise<void>;
  get(environment: string, id: string): Promise<Impersonation | undefined>;
  findByCookie(environment: string, cookieHash: string): Promise<Impersonation | undefined>;
  list(environment: string, limit: number): Promise<Impersonation[]>;
  /** Ends it if it has not ended; returns whether this call ended it (exactly one caller does). */
  end(environment: string, id: string, reason: ImpersonationEnd, at: number): Promise<boolean>;
  /** Impersonations past their expiry that nobody has ended yet. */
  listExpiredUnended(now: number): Promise<Impersonation[]>;
}

function toImpersonation(row: Selectable<ImpersonationTable>): Impersonation {
  return {
    id: row.id,
    environment: row.environment,
    operatorId: row.operator_id,
    userId: row.user_id,
    clientId: row.client_id,
    reason: row.reason,
    cookieHash: row.cookie_hash,
    startedAt: row.started_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
    endReason: row.end_reason as ImpersonationEnd | null,
  };
}

export function impersonationStore(db: Kysely<Database>): ImpersonationStore {
  return {
    async create(i) {
      await db
        .insertInto('impersonations')
        .values({
          id: i.id,
          environment: i.environment,
          operator_id: i.operatorId,
          user_id: i.userId,
          client_id: i.clientId,
          reason: i.reason,
          cookie_hash: i.cookieHash,
          started_at: i.startedAt,
          expires_at: i.expiresAt,
          ended_at: i.endedAt,
          end_reason: i.endReason,
        })
        .execute();
    },
    async get(environment, id) {
      const row = await db
        .selectFrom('impersonations')
        .selectAll()
        .where('environment', '=', environment)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toImpersonation(row);
    },
    async findByCookie(environment, cookieHash) {
      const row = await db
        .selectFrom('impersonations')
        .selectAll()
        .where('environment', '=', environment)
        .where('cookie_hash', '=', cookieHash)
        .executeTakeFirst();
      return row === undefined ? undefined : toImpersonation(row);
    },
    async list(environment, limit) {
      const rows = await db
        .selectFrom('impersonations')
        .selectAll()
        .where('environment', '=', environment)
        .orderBy('started_at', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toImpersonation);
    },
    async end(environment, id, reason, at) {
      const result = await db
        .updateTable('impersonations')
        .set({ ended_at: at, end_reason: reason })
        .where('environment', '=', environment)
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async listExpiredUnended(now) {
      const rows = await db
        .selectFrom('impersonations')
        .selectAll()
        .where('ended_at', 'is', null)
        .where('expires_at', '<=', now)
        .execute();
      return rows.map(toImpersonation);
    },
  };
}
