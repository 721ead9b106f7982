import type { Kysely, Selectable } from 'kysely';
import type { Database, SessionTable } from './schema.js';

export interface Session {
  readonly idHash: string;
  readonly environment: string;
  readonly userId: string;
  /**
   * The session's public identifier, the ID token's `sid` (OIDC Back-Channel Logout §2.1): random,
   * unrelated to the cookie. Null for sessions created before migration 0013.
   */
  readonly sid: string | null;
  readonly authTime: number;
  readonly expiresAt: number;
  readonly createdAt: number;
}

export interface SessionStore {
  create(session: Session): Promise<void>;
  /** The live session with this id hash in this environment, if any. */
  find(environment: string, idHash: string, now: number): Promise<Session | undefined>;
  delete(environment: string, idHash: string): Promise<void>;
  deleteForUser(environment: string, userId: string): Promise<void>;
}

/** The sessions of `environment` that have not expired at `now`; callers narrow and order it. */
export function liveSessions(db: Kysely<Database>, environment: string, now: number) {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('environment', '=', environment)
    .where('expires_at', '>', now);
}

export function toSession(row: Selectable<SessionTable>): Session {
  return {
    idHash: row.id_hash,
    environment: row.environment,
    userId: row.user_id,
    sid: row.sid,
    authTime: row.auth_time,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
  };
}

export function sessionStore(db: Kysely<Database>): SessionStore {
  return {
    async create(session) {
      await db
        .insertInto('sessions')
        .values({
          id_hash: session.idHash,
          environment: session.environment,
          user_id: session.userId,
          sid: session.sid,
          auth_time: session.authTime,
          expires_at: session.expiresAt,
          created_at: session.createdAt,
        })
        .execute();
    },
    async find(environment, idHash, now) {
      const row = await liveSessions(db, environment, now)
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      return row === undefined ? undefined : toSession(row);
    },
    async delete(environment, idHash) {
      await db
        .deleteFrom('sessions')
        .where('environment', '=', environment)
        .where('id_hash', '=', idHash)
        .execute();
    },
    async deleteForUser(environment, userId) {
      await db
        .deleteFrom('sessions')
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .execute();
    },
  };
}
