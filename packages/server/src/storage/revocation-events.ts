import { sql, type Kysely, type Selectable } from 'kysely';
import { commitSyncOf } from './commit-sync.js';
import type { DatabaseKind } from './database.js';
import type { Database, RevocationEventTable } from './schema.js';

/** Which claim of an access token a revocation event matches. */
export const REVOCATION_KINDS = [
  'token',
  'grant',
  'user',
  'client',
  'impersonation',
  'user_client',
] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

/**
 * Every access token whose claim named by `kind` equals `key`, issued at or before
 * `issuedBefore`, is revoked: `token` matches `jti`, `grant` `grant_id`, `user` the user's `sub`,
 * `client` `client_id`, `impersonation` `impersonation_id`, `user_client` the pair `<sub>
 * <client_id>` (`userClientKey`: every token of one user at one client, what the account page
 * revokes). Kept until `expiresAt`, after which no token it covers can still be valid. Times in
 * ms.
 */
export interface RevocationEvent {
  /** Increasing, in commit order: the feed's cursor. */
  readonly seq: number;
  readonly environment: string;
  readonly kind: RevocationKind;
  readonly key: string;
  readonly issuedBefore: number;
  readonly expiresAt: number;
  readonly createdAt: number;
}

export type NewRevocationEvent = Omit<RevocationEvent, 'seq'>;

/** The claims of an access token that revocation events match. */
export interface RevocableClaims {
  readonly jti: string;
  /** `iat`, in seconds (NumericDate). */
  readonly iat: number;
  readonly clientId: string;
  /** The user, for a user's token; null for a client's own (client_credentials). */
  readonly userId: string | null;
  readonly grantId: string | null;
  readonly impersonationId: string | null;
}

export interface RevocationEventStore {
  /**
   * Records an event, durable when this resolves. On PostgreSQL under a transaction-scoped
   * advisory lock, so events commit in `seq` order and a reader that has seen `seq` n never
   * later finds an event below n appear.
   */
  append(event: NewRevocationEvent): Promise<RevocationEvent>;
  /** Up to `limit` events of an environment after `seq`, oldest first: the feed. */
  after(environment: string, seq: number, limit: number): Promise<RevocationEvent[]>;
  /** An event of this kind and key that has not expired at `now`, if there is one. */
  find(
    environment: string,
    kind: RevocationKind,
    key: string,
    now: number,
  ): Promise<RevocationEvent | undefined>;
  /** Whether an event that has not expired at `now` covers a token with these claims. */
  covering(environment: string, claims: RevocableClaims, now: number): Promise<boolean>;
}

/**
 * The key of a `user_client` event: the user's id and the client's id, one space between. Neither
 * holds a space (user ids are generated; a client id is generated or an https URL), so the pair
 * is unambiguous, and a reader can match it by joining a token's `sub` and `client_id`.
 */
export function userClientKey(userId: string, clientId: string): string {
  return `${userId} ${clientId}`;
}

/** Serialises appends on PostgreSQL (see `append`). */
const APPEND_LOCK = 7310202615;

function toEvent(row: Selectable<RevocationEventTable>): RevocationEvent {
  return {
    seq: row.seq,
    environment: row.environment,
    kind: row.kind as RevocationKind,
    key: row.key,
    issuedBefore: row.issued_before,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
  };
}

export function revocationEventStore(
  db: Kysely<Database>,
  kind: DatabaseKind,
): RevocationEventStore {
  const insert = async (executor: Kysely<Database>, event: NewRevocationEvent) => {
    // The lock is held until the transaction commits: whoever takes it next gets a higher seq
    // and commits later, so seq order is commit order.
    if (kind === 'postgres')
      await sql`select pg_advisory_xact_lock(${APPEND_LOCK})`.execute(executor);
    return executor
      .insertInto('revocation_events')
      .values({
        environment: event.environment,
        kind: event.kind,
        key: event.key,
        issued_before: event.issuedBefore,
        expires_at: event.expiresAt,
        created_at: event.createdAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  };
  return {
    async append(event) {
      // Inside a caller's transaction the event commits with it (and is synced by its owner).
      if (db.isTransaction) return toEvent(await insert(db, event));
      const row =
        kind === 'postgres'
          ? await db.transaction().execute((trx) => insert(trx, event))
          : await insert(db, event);
      // SQLite commits with synchronous = NORMAL: on disk before anyone is told (commit-sync.ts).
      await commitSyncOf(db)?.();
      return toEvent(row);
    },
    async after(environment, seq, limit) {
      const rows = await db
        .selectFrom('revocation_events')
        .selectAll()
        .where('environment', '=', environment)
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
    async find(environment, kind, key, now) {
      const row = await db
        .selectFrom('revocation_events')
        .selectAll()
        .where('environment', '=', environment)
        .where('kind', '=', kind)
        .where('key', '=', key)
        .where('expires_at', '>', now)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : toEvent(row);
    },
    async covering(environment, claims, now) {
      const keys: [RevocationKind, string | null][] = [
        ['token', claims.jti],
        ['grant', claims.grantId],
        ['user', claims.userId],
        ['client', claims.clientId],
        ['impersonation', claims.impersonationId],
        [
          'user_client',
          claims.userId === null ? null : userClientKey(claims.userId, claims.clientId),
        ],
      ];
      // iat <= floor(issued_before / 1000), for an integral iat: iat * 1000 <= issued_before.
      // A `token` event names exactly one token by its jti, so it covers it whatever its iat: a
      // token signed by a process whose clock runs ahead of the revoking one's is still refused.
      const row = await db
        .selectFrom('revocation_events')
        .select('seq')
        .where('environment', '=', environment)
        .where('expires_at', '>', now)
        .where((eb) =>
          eb.or(
            keys
              .filter((entry): entry is [RevocationKind, string] => entry[1] !== null)
              .map(([k, key]) =>
                k === 'token'
                  ? eb.and([eb('kind', '=', k), eb('key', '=', key)])
                  : eb.and([
                      eb('kind', '=', k),
                      eb('key', '=', key),
                      eb('issued_before', '>=', claims.iat * 1000),
                    ]),
              ),
          ),
        )
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
