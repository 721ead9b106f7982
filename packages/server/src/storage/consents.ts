import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { appendAudit, type AuditEntry, type AuditRecord } from './audit.js';
import { auditKeysOf, useAuditKeys } from './audit/chain.js';
import { commitSyncOf } from './commit-sync.js';
import { claimWriteLock } from './database.js';
import type { Database } from './schema.js';

/** PostgreSQL: the first key of the advisory locks that serialise grants to one user and client. */
const GRANT_LOCK_CLASS = 7310;

/** Scopes (and resources) a user grants a client. */
export interface ConsentGrant {
  readonly environment: string;
  readonly userId: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly at: number;
}

/** One recorded consent: what a user granted one client. */
export interface RecordedConsent {
  readonly clientId: string;
  /** Consent items (`services/resources.ts` consentItems), sorted. */
  readonly scopes: readonly string[];
  /** When it was last granted or widened (ms). */
  readonly grantedAt: number;
}

export interface ConsentStore {
  /** The scopes this user has granted this client, or undefined. */
  get(
    environment: string,
    userId: string,
    clientId: string,
  ): Promise<readonly string[] | undefined>;
  /**
   * Records the union of what was granted before and now, and the audit entry that records the
   * grant, in one transaction (group-committed with other appends): both are durable before this
   * resolves, or neither is written, so no consent is in force that the audit log does not show.
   */
  grant(consent: ConsentGrant, audit: AuditRecord): Promise<AuditEntry>;
  /** Every client this user has granted something, oldest first. */
  list(environment: string, userId: string): Promise<RecordedConsent[]>;
  /** Forgets what this user granted this client; false when nothing was recorded. */
  revoke(environment: string, userId: string, clientId: string): Promise<boolean>;
}

export function consentStore(db: Kysely<Database>): ConsentStore {
  const get = async (
    environment: string,
    userId: string,
    clientId: string,
  ): Promise<readonly string[] | undefined> => {
    const row = await db
      .selectFrom('consents')
      .select('scope')
      .where('environment', '=', environment)
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return row === undefined ? undefined : row.scope.split(' ').filter((s) => s !== '');
  };
  return {
    get,
    async list(environment, userId) {
      const rows = await db
        .selectFrom('consents')
        .select(['client_id', 'scope', 'created_at'])
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('client_id')
        .execute();
      return rows.map((row) => ({
        clientId: row.client_id,
        scopes: row.scope.split(' ').filter((s) => s !== ''),
        grantedAt: row.created_at,
      }));
    },
    async revoke(environment, userId, clientId) {
      const result = await db
        .deleteFrom('consents')
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async grant({ environment, userId, clientId, scopes, at }, audit) {
      // The union is read and written in one transaction that holds the lock first. Read before
      // and written later, a revocation landing in between (account page, operator) was undone:
      // the upsert wrote back the scopes just revoked, which this consent never showed; and two
      // consents at once kept only one's additions.
      const write = async (trx: Kysely<Database>): Promise<AuditEntry> => {
        const postgres = trx.getExecutor().adapter instanceof PostgresAdapter;
        // SQLite: the write lock, taken before the read (a read-then-write transaction would get
        // SQLITE_BUSY at once if another connection wrote meanwhile). PostgreSQL: grants to this
        // user and client one at a time, and the row locked against a revocation's delete.
        if (postgres)
          await sql`select pg_advisory_xact_lock(${GRANT_LOCK_CLASS}, hashtext(${`${environment} ${userId} ${clientId}`}))`.execute(
            trx,
          );
        else await claimWriteLock(trx, 'sqlite');
        const query = trx
          .selectFrom('consents')
          .select('scope')
          .where('environment', '=', environment)
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId);
        const row = await (postgres ? query.forUpdate() : query).executeTakeFirst();
        const before = row === undefined ? [] : row.scope.split(' ').filter((s) => s !== '');
        const union = [...new Set([...before, ...scopes])].sort().join(' ');
        return appendAudit(trx, audit.event, audit.at, [
          {
            table: 'consents',
            row: {
              environment,
              user_id: userId,
              client_id: clientId,
              scope: union,
              created_at: at,
            },
            upsertOn: ['environment', 'user_id', 'client_id'],
          },
        ]);
      };
      if (db.isTransaction) return write(db);
      const entry = await db.transaction().execute((trx) => {
        // The entry is chained under the server's key, as the audit writer's own would be.
        const keys = auditKeysOf(db);
        if (keys !== undefined) useAuditKeys(trx, keys);
        return write(trx);
      });
      // Durable before anyone is told (SQLite commits with synchronous = NORMAL; commit-sync.ts).
      await commitSyncOf(db)?.();
      return entry;
    },
  };
}
