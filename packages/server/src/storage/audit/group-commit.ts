import { PostgresAdapter, type Kysely } from 'kysely';
import { commitSyncOf } from '../commit-sync.js';
import type { DatabaseKind } from '../database.js';
import type { Database } from '../schema.js';
import { writeBatch, type BatchItem } from './batch.js';
import { auditKeysOf } from './chain.js';
import { checkEvent, type AuditEntry, type AuditEvent } from './entry.js';
import { appendBatchPostgres } from './postgres-batch.js';
import type { AuditedInsert } from './row-writer.js';
import { storableEvent } from './well-formed.js';

interface Pending extends BatchItem {
  /** Resolves only once the entry is on disk; false: once it is committed (AppendOptions). */
  readonly durable: boolean;
  resolve(entry: AuditEntry): void;
  reject(error: unknown): void;
  /** performance.now() when the append was made. */
  since: number;
}

/** What /readyz and the metrics read of a database's audit writer. */
export interface AuditWriterStats {
  /** Appends not yet resolved: queued, and in the batch being written. */
  pending(): number;
  /** performance.now() of the oldest append not yet resolved, or undefined when there is none. */
  oldestPendingSince(): number | undefined;
  /** Told of every committed (and, when it must be, synced) batch: its size and how long it took, in seconds. */
  onCommit: ((size: number, seconds: number) => void) | undefined;
}

/** The most appends one transaction carries. */
const MAX_BATCH = 256;

/**
 * Group commit for one database. While a batch is being written, new appends wait in a queue;
 * when it commits, every append of the batch resolves and the queue becomes the next batch. An
 * append never resolves before its own transaction has committed, and a durable one (the default)
 * never before that transaction is on disk: one sync serves the whole batch. An append made with
 * `durable: false` resolves at the commit; a batch of only such appends commits without waiting
 * for the disk (PostgreSQL: `synchronous_commit` off for its transaction; SQLite: no sync), and
 * one durable append in a batch makes the whole batch wait, so an append that need not be durable
 * never lets one that must be resolve early. If a batch fails, its appends are retried one by one,
 * so a bad one fails alone.
 */
class AuditWriter implements AuditWriterStats {
  private queue: Pending[] = [];
  private writing = false;
  /** The batch being written. */
  private current: readonly Pending[] = [];
  onCommit: ((size: number, seconds: number) => void) | undefined;

  pending(): number {
    return this.queue.length + this.current.length;
  }

  oldestPendingSince(): number | undefined {
    return (this.current[0] ?? this.queue[0])?.since;
  }

  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: DatabaseKind,
    /** Makes committed transactions durable where a commit alone does not (commit-sync.ts). */
    private readonly sync: (() => Promise<void>) | undefined,
  ) {}

  append(item: BatchItem, durable: boolean): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...item, durable, resolve, reject, since: performance.now() });
      if (this.writing) return;
      this.writing = true;
      // SQLite writes synchronously, so a batch would hold one append: wait for the requests
      // read in this turn of the event loop to reach theirs. PostgreSQL's round trips make the
      // window by themselves.
      if (this.kind === 'sqlite') setImmediate(() => void this.drain());
      else void this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        this.current = this.queue.splice(0, MAX_BATCH);
        const started = performance.now();
        await this.commit(this.current);
        this.onCommit?.(this.current.length, (performance.now() - started) / 1000);
      }
    } finally {
      this.current = [];
      this.writing = false;
    }
  }

  private async commit(batch: readonly Pending[]): Promise<void> {
    // Whether anything in the batch must be on disk before it resolves: then the whole batch is
    // committed as every batch was before, synchronously.
    const durable = batch.some((item) => item.durable);
    let entries: AuditEntry[];
    try {
      entries =
        this.kind === 'postgres'
          ? await appendBatchPostgres(this.db, batch, auditKeysOf(this.db)?.chain, durable)
          : await this.db
              .transaction()
              .execute((trx) => writeBatch(trx, this.kind, batch, auditKeysOf(this.db)?.chain));
    } catch (error) {
      if (batch.length === 1) batch[0]?.reject(error);
      else for (const item of batch) await this.commit([item]);
      return;
    }
    // Committed: an append that asked for no more resolves now. (PostgreSQL has no separate sync:
    // a batch with a durable append committed synchronously, so its commit was the flush.)
    batch.forEach((item, i) => {
      if (!item.durable) item.resolve(entries[i] as AuditEntry);
    });
    if (!durable) return;
    try {
      // Appends arriving meanwhile queue up for the next batch, so one sync serves many.
      await this.sync?.();
    } catch (error) {
      // Committed but perhaps not on disk: it must not be acknowledged as if it were.
      for (const item of batch) if (item.durable) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      if (item.durable) item.resolve(entries[i] as AuditEntry);
    });
  }
}

/** One writer per database, shared by every store opened on it. */
const writers = new WeakMap<Kysely<Database>, AuditWriter>();

function writerOf(db: Kysely<Database>, kind: DatabaseKind): AuditWriter {
  let writer = writers.get(db);
  if (writer === undefined) {
    writer = new AuditWriter(db, kind, commitSyncOf(db));
    writers.set(db, writer);
  }
  return writer;
}

/** The audit writer of `db` (the handle's, not a transaction's), for readiness and metrics. */
export function auditWriterStats(db: Kysely<Database>): AuditWriterStats {
  return writerOf(db, kindOf(db));
}

/** How an append is made. */
export interface AppendOptions {
  /** The database's kind, when the caller knows it. */
  readonly kind?: DatabaseKind;
  /**
   * `false`: resolve once the entry (and its rows) is committed, without waiting for it to be on
   * disk. Default `true`: resolve only once it is on disk.
   *
   * A crash (of the machine; on PostgreSQL, of the database server) may then take back the entry
   * and its rows after the caller acted on them, never anything committed before them (both
   * databases write their log in order), and never them alone once a later durable commit
   * resolved: PostgreSQL flushes its WAL in order, and SQLite's fdatasync of the WAL covers every
   * frame written before it (a checkpoint syncs the WAL before copying it back and the database
   * file before the WAL starts over). So the audit chain stays whole: a crash loses a suffix.
   *
   * Only for a write whose loss leaves nothing handed out that it accounts for, and which is
   * followed by a durable append before anything it enables is handed out: the issue of an
   * authorization code (storage/codes.ts), which a lost write merely makes unredeemable. Never
   * for anything that precedes handing out a token, a secret or a credential, nor for an audit
   * fact that must survive on its own (a revocation, a sign-in failure, an administrative change).
   */
  readonly durable?: boolean;
}

/**
 * Appends an audit entry with `rows` written in the same transaction, and resolves once both are
 * committed and on disk (see commit-sync.ts; `durable: false`: committed, see AppendOptions).
 * Concurrent appends are written together, one transaction per batch. Inside a caller's
 * transaction (an all-or-nothing apply) the entry and its rows join that transaction instead, and
 * its commit decides (`durable` does not apply).
 */
export async function appendAudit(
  db: Kysely<Database>,
  given: AuditEvent,
  at: number,
  rows: readonly AuditedInsert[] = [],
  options: AppendOptions = {},
): Promise<AuditEntry> {
  checkEvent(given);
  const kind = options.kind ?? kindOf(db);
  const item: BatchItem = { event: storableEvent(given), at, rows };
  if (db.isTransaction)
    return (await writeBatch(db, kind, [item], auditKeysOf(db)?.chain))[0] as AuditEntry;
  return writerOf(db, kind).append(item, options.durable ?? true);
}

function kindOf(db: Kysely<Database>): DatabaseKind {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
