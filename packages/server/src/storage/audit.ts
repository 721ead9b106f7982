import { createHash } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DatabaseKind } from './database.js';
import type { AuditTable, Database } from './schema.js';

export interface AuditEvent {
  readonly environment: string | null;
  /** Dotted name: `signin.failed`, `code.replayed`, `redirect.refused`, `client.created`, ... */
  readonly type: string;
  readonly actor: string;
  readonly clientId?: string | null;
  readonly userId?: string | null;
  /** Details. Never a secret, a code or a token value. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface AuditEntry extends Required<AuditEvent> {
  readonly seq: number;
  readonly at: number;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditFilter {
  readonly environment?: string;
  /** An exact event type, or a prefix ending in `*` (`impersonation.*`). */
  readonly type?: string;
  readonly clientId?: string;
  readonly userId?: string;
  /** The acting party exactly as recorded (`operator:<id>`, `admin:cli`, `user:<id>`). */
  readonly actor?: string;
  /** Entries at or after this time (ms). */
  readonly since?: number;
  /** Entries before this time (ms). */
  readonly until?: number;
  /** Entries with a sequence number below this one: the next page back. */
  readonly before?: number;
  readonly limit?: number;
}

export type AuditVerification =
  | { readonly ok: true; readonly count: number }
  | { readonly ok: false; readonly count: number; readonly seq: number; readonly reason: string };

export interface AuditStore {
  append(event: AuditEvent, at: number): Promise<AuditEntry>;
  /** The newest entries matching the filter, oldest first. */
  tail(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Recomputes the whole chain; reports the first entry that does not fit. */
  verify(): Promise<AuditVerification>;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Data keys that would mean a secret is about to be written: a bug, so it throws. */
const FORBIDDEN_KEYS = /secret|password|^code$|token$|^state$|verifier/i;

function chainHash(entry: Omit<AuditEntry, 'hash'>): string {
  const material = JSON.stringify([
    entry.seq,
    entry.at,
    entry.environment,
    entry.type,
    entry.actor,
    entry.clientId,
    entry.userId,
    entry.data,
    entry.prevHash,
  ]);
  return createHash('sha256').update(material).digest('hex');
}

function toEntry(row: Selectable<AuditTable>): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    environment: row.environment,
    type: row.type,
    actor: row.actor,
    clientId: row.client_id,
    userId: row.user_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export function auditStore(db: Kysely<Database>, kind: DatabaseKind): AuditStore {
  return {
    async append(event, at) {
      for (const key of Object.keys(event.data ?? {})) {
        if (FORBIDDEN_KEYS.test(key)) throw new TypeError(`audit data must not carry "${key}"`);
      }
      // Inside a caller's transaction (an all-or-nothing apply) the entry joins that transaction.
      const inTransaction = <T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> =>
        db.isTransaction ? work(db) : db.transaction().execute(work);
      return inTransaction(async (trx) => {
        // One writer at a time extends the chain, across every process sharing the database.
        // SQLite serialises transactions on its single connection already.
        if (kind === 'postgres') await sql`select pg_advisory_xact_lock(7310202611)`.execute(trx);
        const last = await trx
          .selectFrom('audit_log')
          .select(['seq', 'hash'])
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst();
        const unhashed = {
          seq: (last?.seq ?? 0) + 1,
          at,
          environment: event.environment,
          type: event.type,
          actor: event.actor,
          clientId: event.clientId ?? null,
          userId: event.userId ?? null,
          data: event.data ?? {},
          prevHash: last?.hash ?? GENESIS_HASH,
        };
        const entry: AuditEntry = { ...unhashed, hash: chainHash(unhashed) };
        await trx
          .insertInto('audit_log')
          .values({
            seq: entry.seq,
            at: entry.at,
            environment: entry.environment,
            type: entry.type,
            actor: entry.actor,
            client_id: entry.clientId,
            user_id: entry.userId,
            data: JSON.stringify(entry.data),
            prev_hash: entry.prevHash,
            hash: entry.hash,
          })
          .execute();
        return entry;
      });
    },
    async tail(filter) {
      let query = db
        .selectFrom('audit_log')
        .selectAll()
        .orderBy('seq', 'desc')
        .limit(filter.limit ?? 50);
      if (filter.environment !== undefined)
        query = query.where('environment', '=', filter.environment);
      if (filter.type !== undefined)
        query = filter.type.endsWith('*')
          ? query.where('type', 'like', `${filter.type.slice(0, -1).replace(/[%_\\]/g, '')}%`)
          : query.where('type', '=', filter.type);
      if (filter.clientId !== undefined) query = query.where('client_id', '=', filter.clientId);
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
      if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
      if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
      if (filter.until !== undefined) query = query.where('at', '<', filter.until);
      if (filter.before !== undefined) query = query.where('seq', '<', filter.before);
      const rows = await query.execute();
      return rows.reverse().map(toEntry);
    },
    async verify() {
      let expectedPrev = GENESIS_HASH;
      let expectedSeq = 1;
      let count = 0;
      const page = 1000;
      for (;;) {
        const rows = await db
          .selectFrom('audit_log')
          .selectAll()
          .where('seq', '>=', expectedSeq)
          .orderBy('seq')
          .limit(page)
          .execute();
        for (const row of rows) {
          const entry = toEntry(row);
          if (entry.seq !== expectedSeq)
            return {
              ok: false,
              count,
              seq: expectedSeq,
              reason: `entry ${expectedSeq} is missing`,
            };
          if (entry.prevHash !== expectedPrev)
            return {
              ok: false,
              count,
              seq: entry.seq,
              reason: 'its link to the previous entry is broken',
            };
          const { hash, ...unhashed } = entry;
          if (chainHash(unhashed) !== hash)
            return {
              ok: false,
              count,
              seq: entry.seq,
              reason: 'its content does not match its hash',
            };
          expectedPrev = hash;
          expectedSeq++;
          count++;
        }
        if (rows.length < page) return { ok: true, count };
      }
    },
  };
}
