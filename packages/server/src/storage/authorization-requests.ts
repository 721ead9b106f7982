import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A validated authorization request waiting for the user to sign in or consent. */
export interface PendingAuthorization {
  readonly clientId: string;
  readonly redirectUri: string;
  /** Whether the request carried redirect_uri; a request parked before this was known: absent. */
  readonly redirectUriSent?: boolean;
  /**
   * The registration `redirectUri` matched (for a loopback or wildcard match, the entry), which
   * the code's use is counted against (services/redirect-usage.ts); absent in a request parked
   * before it was kept: `redirectUri` is counted then.
   */
  readonly registeredRedirectUri?: string;
  readonly scope: readonly string[];
  readonly state: string | null;
  readonly codeChallenge: string;
  readonly nonce: string | null;
  readonly prompt: readonly string[];
  readonly maxAge: number | null;
  readonly loginHint: string | null;
  readonly resource: string | null;
  /** OIDC Core §3.1.2.1 `acr_values`, in order; absent when not asked (the ID token then has no acr). */
  readonly acrValues?: readonly string[];
  /** RFC 9449 §10: the DPoP key thumbprint the code is bound to; absent: not bound. */
  readonly dpopJkt?: string;
}

export interface AuthorizationRequestStore {
  save(
    environment: string,
    idHash: string,
    request: PendingAuthorization,
    expiresAt: number,
    at: number,
  ): Promise<void>;
  find(environment: string, idHash: string, now: number): Promise<PendingAuthorization | undefined>;
  /** Adds facts learnt while the request waits (unexpired requests only). */
  update(
    environment: string,
    idHash: string,
    now: number,
    facts: Readonly<Record<string, string | number | boolean>>,
  ): Promise<void>;
  /** Whether this call deleted it: of two deleting it at once, one only (answered once). */
  delete(environment: string, idHash: string): Promise<boolean>;
}

export function authorizationRequestStore(db: Kysely<Database>): AuthorizationRequestStore {
  return {
    async save(environment, idHash, request, expiresAt, at) {
      await db
        .insertInto('authorization_requests')
        .values({
          id_hash: idHash,
          environment,
          client_id: request.clientId,
          params: JSON.stringify(request),
          expires_at: expiresAt,
          created_at: at,
        })
        .execute();
    },
    async find(environment, idHash, now) {
      const row = await db
        .selectFrom('authorization_requests')
        .select('params')
        .where('environment', '=', environment)
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row === undefined ? undefined : (JSON.parse(row.params) as PendingAuthorization);
    },
    async update(environment, idHash, now, facts) {
      // Read and rewrite in one transaction: the parameters are one JSON text. The read is a
      // no-op write, so the transaction takes the write lock (SQLite) or the row's lock
      // (PostgreSQL) before it reads. A plain read first would, on SQLite, fail at once with
      // SQLITE_BUSY whenever another connection (the WAL checkpointer's) held the lock when it
      // came to write, since the busy timeout does not apply to a lock upgrade; on PostgreSQL two
      // updates that both read before either wrote would lose one's facts.
      await db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('authorization_requests')
          .set((eb) => ({ params: eb.ref('params') }))
          .where('environment', '=', environment)
          .where('id_hash', '=', idHash)
          .where('expires_at', '>', now)
          .returning('params')
          .executeTakeFirst();
        if (row === undefined) return;
        const params = { ...(JSON.parse(row.params) as Record<string, unknown>), ...facts };
        await trx
          .updateTable('authorization_requests')
          .set({ params: JSON.stringify(params) })
          .where('environment', '=', environment)
          .where('id_hash', '=', idHash)
          .execute();
      });
    },
    async delete(environment, idHash) {
      const result = await db
        .deleteFrom('authorization_requests')
        .where('environment', '=', environment)
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
