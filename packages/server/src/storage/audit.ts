import { sql, type Kysely } from 'kysely';
import type { AuditKeys } from '../crypto/audit-keys.js';
import type { DatabaseKind } from './database.js';
import type { Database } from './schema.js';
import { writeBatch } from './audit/batch.js';
import { readAnchor, signAnchor, writeAnchor, type AuditAnchor } from './audit/anchor.js';
import { claimWriteLock } from './database.js';
import { commitSyncOf } from './commit-sync.js';
import { EMPTY_CHAIN, useAuditKeys, type ChainHead } from './audit/chain.js';
import { latestCheckpoint, signCheckpoint, type Checkpoint } from './audit/checkpoint.js';
import {
  chainHash,
  GENESIS_HASH,
  isKeyed,
  toEntry,
  type AuditEntry,
  type AuditEvent,
} from './audit/entry.js';
import { appendAudit } from './audit/group-commit.js';
import { entriesNaming } from './audit/naming.js';
import type { AuditedInsert } from './audit/row-writer.js';
import {
  verifyChain,
  verifyExport,
  type AuditVerification,
  type ExportVerification,
} from './audit/verify.js';

/*
 * The audit log: this module reads it (tail, verify, export) and is where appends come in. How an
 * entry is written lives in ./audit/: the entry and its chain hash (entry.ts), the keyed chain
 * (chain.ts), text made storable (well-formed.ts), the group-commit writer (group-commit.ts), one
 * batch in a transaction (batch.ts) or in one PostgreSQL statement (postgres-batch.ts), the rows
 * written with an entry (row-writer.ts, insert-sql.ts), verification (verify.ts), checkpoints
 * (checkpoint.ts) and the entries that name a value (naming.ts).
 */
export { appendAudit, chainHash, GENESIS_HASH, latestCheckpoint, signCheckpoint };
export type {
  AuditAnchor,
  AuditedInsert,
  AuditEntry,
  AuditEvent,
  AuditVerification,
  ChainHead,
  Checkpoint,
  ExportVerification,
};
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

export interface AuditStore {
  /**
   * Appends an entry, with `rows` written in the same transaction. Resolves only once the entry
   * is committed. Concurrent appends are written together, one transaction per batch (group
   * commit): appends that arrive while a batch is being written form the next one.
   */
  append(event: AuditEvent, at: number, rows?: readonly AuditedInsert[]): Promise<AuditEntry>;
  /** The newest entries matching the filter, oldest first. */
  tail(filter: AuditFilter): Promise<AuditEntry[]>;
  /**
   * Every entry whose data has `field` equal to `value` (`jti`, a jti `block`), oldest first:
   * a scan of the log, for forensic questions such as `gatehouse audit token`.
   */
  naming(field: string, value: string, environment?: string): Promise<AuditEntry[]>;
  /**
   * Recomputes the whole chain; reports the first entry that does not fit, and with a checkpoint
   * (made outside the database) whether the chain still reaches it: a truncation.
   */
  verify(checkpoint?: Checkpoint): Promise<AuditVerification>;
  /** The newest entry's place in the chain. */
  head(): Promise<ChainHead>;
  /** Up to `limit` entries after `seq`, oldest first: what an export reads next. */
  after(seq: number, limit: number): Promise<AuditEntry[]>;
  /** Where the export sink `name` got to, when it cannot remember it itself (stdout). */
  exportCursor(name: string): Promise<ChainHead | undefined>;
  saveExportCursor(name: string, at: ChainHead, now: number): Promise<void>;
  /**
   * With the key: when the newest entry is unkeyed (written before keyed chaining), appends the
   * `audit.chain_keyed` entry that closes the unkeyed entries, so keyed chaining has begun even
   * before anything else is audited. A server calls it as it starts.
   */
  ensureKeyed(): Promise<void>;
  /** Where the chain starts once retention removed its oldest entries; undefined: entry 1. */
  anchor(): Promise<AuditAnchor | undefined>;
  /** The oldest entry kept, or undefined for an empty log. */
  oldest(): Promise<AuditEntry | undefined>;
  /** The sequence number of the first entry at or after `at` (ms); past the head when none. */
  firstAtOrAfter(at: number): Promise<number>;
  /**
   * Retention: removes the entries up to `seq` (never the newest entry), in batches, each batch
   * one transaction that also moves the anchor (MACed under the chain key) to the first entry
   * kept. The caller exports them first. Returns how many went. Needs the keys.
   */
  removeThrough(seq: number, now: number): Promise<number>;
  /** A checkpoint of `at`, signed with the checkpoint key (throws without the keys). */
  signCheckpoint(at: ChainHead, now: number): Checkpoint;
  /** Whether an entry links to `prevHash` and matches its MAC (its hash, when unkeyed). */
  entryIntact(entry: AuditEntry, prevHash: string): boolean;
  /** Checks an export or retention archive (JSON lines): its links, MACs and latest checkpoint. */
  verifyExport(text: string): ExportVerification;
}

/**
 * Returns once every transaction committed before the call is on disk. A committed entry is not
 * always durable yet: an append made with `durable: false` (AppendOptions) resolves at its
 * commit, and on SQLite any commit precedes its sync. A crash could take such an entry back and a
 * later one take its place: an export or checkpoint that carried it away would then disagree with
 * the database, a false alarm of a rewritten log.
 *
 * SQLite: an fdatasync of the WAL (commit-sync.ts), which covers every frame written before it.
 * PostgreSQL: a transaction that writes one WAL record and commits synchronously (the session's
 * `synchronous_commit`, on): its commit flushes the WAL up to its own record, so every commit
 * before it too (WAL is flushed in order). A transactional logical-decoding message is such a
 * record that touches no table; any role may write one.
 */
async function onDisk(db: Kysely<Database>, kind: DatabaseKind): Promise<void> {
  if (kind === 'sqlite') await commitSyncOf(db)?.();
  else await sql`select pg_logical_emit_message(true, 'gatehouse', 'audit read')`.execute(db);
}

/** Entries removed per transaction by retention. */
const REMOVE_BATCH = 1000;
/** Serialises retention on PostgreSQL (the anchor row). */
const RETENTION_LOCK = 7310202614;

export function auditStore(
  db: Kysely<Database>,
  kind: DatabaseKind,
  /** The chain and checkpoint keys, from the server secret; without them, an unkeyed chain. */
  keys?: AuditKeys,
): AuditStore {
  if (keys !== undefined) useAuditKeys(db, keys);
  const head = async (): Promise<ChainHead> =>
    (await db
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()) ?? EMPTY_CHAIN;
  /**
   * Every entry up to this one is known to be on disk: onDisk returned after it was committed.
   * Entries on disk stay there, so a reader going through older entries page by page (an export
   * catching up, retention archiving millions) waits for the disk once, not once a page.
   */
  let onDiskThrough = 0;
  return {
    append: (event, at, rows = []) => appendAudit(db, event, at, rows, { kind }),
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
    naming: (field, value, environment) => entriesNaming(db, field, value, environment),
    verify: (checkpoint) => verifyChain(db, keys, checkpoint),
    head,
    async after(seq, limit) {
      const rows = await db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      // What this returns is carried out of the database (an export, a checkpoint signed over
      // it): only entries that a crash can no longer take back.
      const last = rows[rows.length - 1];
      if (last !== undefined && last.seq > onDiskThrough) {
        // The head, read first, was committed before the wait begins: it is covered too.
        const newest = await head();
        await onDisk(db, kind);
        onDiskThrough = Math.max(onDiskThrough, newest.seq, last.seq);
      }
      return rows.map(toEntry);
    },
    async exportCursor(name) {
      const row = await db
        .selectFrom('audit_export_cursors')
        .select(['seq', 'hash'])
        .where('name', '=', name)
        .executeTakeFirst();
      return row === undefined ? undefined : { seq: row.seq, hash: row.hash };
    },
    async saveExportCursor(name, at, now) {
      await db
        .insertInto('audit_export_cursors')
        .values({ name, seq: at.seq, hash: at.hash, updated_at: now })
        .onConflict((c) =>
          c.column('name').doUpdateSet({ seq: at.seq, hash: at.hash, updated_at: now }),
        )
        .execute();
    },
    anchor: () => readAnchor(db),
    async oldest() {
      const row = await db
        .selectFrom('audit_log')
        .selectAll()
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : toEntry(row);
    },
    async firstAtOrAfter(at) {
      const row = await db
        .selectFrom('audit_log')
        .select('seq')
        .where('at', '>=', at)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? (await head()).seq + 1 : row.seq;
    },
    async removeThrough(seq, now) {
      if (keys === undefined) throw new Error('removing audit entries needs the server secret');
      // The newest entry stays: appends link to it, and verify knows the chain was not emptied.
      const last = Math.min(seq, (await head()).seq - 1);
      let removed = 0;
      for (;;) {
        const n = await db.transaction().execute(async (trx) => {
          if (kind === 'postgres')
            await sql`select pg_advisory_xact_lock(${RETENTION_LOCK})`.execute(trx);
          await claimWriteLock(trx, kind);
          const current = await readAnchor(trx);
          const oldest = await trx
            .selectFrom('audit_log')
            .select('seq')
            .orderBy('seq')
            .limit(1)
            .executeTakeFirst();
          if (oldest === undefined) return 0;
          const first = oldest.seq;
          if (first > last) return 0;
          const upto = Math.min(last, first + REMOVE_BATCH - 1);
          const through = await trx
            .selectFrom('audit_log')
            .select('hash')
            .where('seq', '=', upto)
            .executeTakeFirst();
          if (through === undefined) throw new Error(`audit entry ${upto} is missing`);
          const result = await trx
            .deleteFrom('audit_log')
            .where('seq', '<=', upto)
            .executeTakeFirst();
          const count = Number(result.numDeletedRows);
          await writeAnchor(
            trx,
            signAnchor(keys.chain, {
              firstSeq: upto + 1,
              prevHash: through.hash,
              removed: (current?.removed ?? 0) + count,
              removedAt: now,
            }),
          );
          return count;
        });
        if (n === 0) break;
        removed += n;
      }
      await commitSyncOf(db)?.();
      return removed;
    },
    verifyExport: (text) => verifyExport(text, keys),
    signCheckpoint(at, now) {
      if (keys === undefined) throw new Error('signing a checkpoint needs the server secret');
      return signCheckpoint(keys.checkpoint, { count: at.seq, head: at.hash, at: now });
    },
    entryIntact(entry, prevHash) {
      const { hash, ...unhashed } = entry;
      if (entry.prevHash !== prevHash) return false;
      if (!isKeyed(hash)) return chainHash(unhashed) === hash;
      return keys !== undefined && chainHash(unhashed, keys.chain) === hash;
    },
    async ensureKeyed() {
      if (keys === undefined) return;
      const newest = await head();
      if (newest.seq === 0 || isKeyed(newest.hash)) return;
      // writeBatch puts the audit.chain_keyed entry before an empty batch, under the chain's lock.
      await db.transaction().execute((trx) => writeBatch(trx, kind, [], keys.chain));
      await commitSyncOf(db)?.();
    },
  };
}
