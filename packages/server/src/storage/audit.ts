import type { Kysely } from 'kysely';
import type { DatabaseKind } from './database.js';
import type { Database } from './schema.js';
import {
  chainHash,
  GENESIS_HASH,
  toEntry,
  type AuditEntry,
  type AuditEvent,
} from './audit/entry.js';
import { appendAudit } from './audit/group-commit.js';
import type { AuditedInsert } from './audit/row-writer.js';

/*
 * The audit log: this module reads it (tail, verify) and is where appends come in. How an entry
 * is written lives in ./audit/: the entry and its chain hash (entry.ts), text made storable
 * (well-formed.ts), the group-commit writer (group-commit.ts), one batch in a transaction
 * (batch.ts) or in one PostgreSQL statement (postgres-batch.ts), and the rows written with an
 * entry (row-writer.ts, insert-sql.ts).
 */
export { appendAudit, GENESIS_HASH };
export type { AuditedInsert, AuditEntry, AuditEvent };
export type { AuditRecord } from './audit/entry.js';

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
  /**
   * Appends an entry, with `rows` written in the same transaction. Resolves only once the entry
   * is committed. Concurrent appends are written together, one transaction per batch (group
   * commit): appends that arrive while a batch is being written form the next one.
   */
  append(event: AuditEvent, at: number, rows?: readonly AuditedInsert[]): Promise<AuditEntry>;
  /** The newest entries matching the filter, oldest first. */
  tail(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Recomputes the whole chain; reports the first entry that does not fit. */
  verify(): Promise<AuditVerification>;
}

export function auditStore(db: Kysely<Database>, kind: DatabaseKind): AuditStore {
  return {
    append: (event, at, rows = []) => appendAudit(db, event, at, rows, kind),
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
