import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A client a browser session signed in to (a code was issued to it under the session): who is told
 * by Back-Channel Logout when the session ends (OIDC Back-Channel Logout 1.0 §2.7).
 */
export interface SessionClient {
  readonly environment: string;
  /** The session's `sid` (the ID token's, Back-Channel Logout §2.1). */
  readonly sid: string;
  readonly clientId: string;
  readonly userId: string;
  /** When the session itself expires: the row is useless after it (housekeeping). */
  readonly expiresAt: number;
  readonly createdAt: number;
}

export interface SessionClientStore {
  /**
   * Records that the session signed in to the client; a second code for it only moves the
   * record's expiry later (never earlier).
   */
  record(entry: SessionClient): Promise<void>;
  /**
   * The session lives on past its first lifetime (the same user signed in again and kept the
   * sid): its records live as long, or housekeeping would drop clients that must still be told.
   */
  extend(environment: string, sid: string, expiresAt: number): Promise<void>;
  /** Takes (reads and removes) the clients of a session: each is told once. */
  takeForSession(environment: string, sid: string): Promise<SessionClient[]>;
  /** Takes the clients of every session of a user (disabled or deleted). */
  takeForUser(environment: string, userId: string): Promise<SessionClient[]>;
  /** The clients of a session, left in place (tests, diagnosis). */
  forSession(environment: string, sid: string): Promise<SessionClient[]>;
}

type Row = Database['session_clients'];

const toEntry = (row: Row): SessionClient => ({
  environment: row.environment,
  sid: row.sid,
  clientId: row.client_id,
  userId: row.user_id,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
});

export function sessionClientStore(db: Kysely<Database>): SessionClientStore {
  return {
    async record(entry) {
      await db
        .insertInto('session_clients')
        .values({
          environment: entry.environment,
          sid: entry.sid,
          client_id: entry.clientId,
          user_id: entry.userId,
          expires_at: entry.expiresAt,
          created_at: entry.createdAt,
        })
        .onConflict((c) =>
          c
            .columns(['environment', 'sid', 'client_id'])
            .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
            .where('session_clients.expires_at', '<', (eb) => eb.ref('excluded.expires_at')),
        )
        .execute();
    },
    async extend(environment, sid, expiresAt) {
      await db
        .updateTable('session_clients')
        .set({ expires_at: expiresAt })
        .where('environment', '=', environment)
        .where('sid', '=', sid)
        .where('expires_at', '<', expiresAt)
        .execute();
    },
    async takeForSession(environment, sid) {
      // One statement: of two processes ending the same session, each row goes to one of them.
      const rows = await db
        .deleteFrom('session_clients')
        .where('environment', '=', environment)
        .where('sid', '=', sid)
        .returningAll()
        .execute();
      return rows.map(toEntry);
    },
    async takeForUser(environment, userId) {
      const rows = await db
        .deleteFrom('session_clients')
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .returningAll()
        .execute();
      return rows.map(toEntry);
    },
    async forSession(environment, sid) {
      const rows = await db
        .selectFrom('session_clients')
        .selectAll()
        .where('environment', '=', environment)
        .where('sid', '=', sid)
        .orderBy('client_id')
        .execute();
      return rows.map(toEntry);
    },
  };
}
