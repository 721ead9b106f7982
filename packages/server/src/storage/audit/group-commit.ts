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
  /** Told of every committed (and synced) batch: its size and how long it took, in seconds. */
  onCommit: ((size: number, seconds: number) => void) | undefined;
}

/** The most appends one transaction carries. */
const MAX_BATCH = 256;

/**
 * Group commit for one database. While a batch is being written, new appends wait in a queue;
 * when it commits, every append of the batch resolves and the queue becomes the next batch. An
 * append never resolves before its own transaction has committed, so nothing is acknowledged
 * that is not durable. If a batch fails, its appends are retried one by one, so a bad one fails
 * alone.
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

  append(item: BatchItem): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...item, resolve, reject, since: performance.now() });
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
    let entries: AuditEntry[];
    try {
      entries =
        this.kind === 'postgres'
          ? await appendBatchPostgres(this.db, batch, auditKeysOf(this.db)?.chain)
          : await this.db
              .transaction()
              .execute((trx) => writeBatch(trx, this.kind, batch, auditKeysOf(this.db)?.chain));
    } catch (error) {
      if (batch.length === 1) batch[0]?.reject(error);
      else for (const item of batch) await this.commit([item]);
      return;
    }
    try {
      // Appends arriving meanwhile queue up for the next batch, so one sync serves many.
      await this.sync?.();
    } catch (error) {
      // Committed but perhaps not on disk: it must not be acknowledged as if it were.
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      item.resolve(entries[i] as AuditEntry);
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

/**
 * Appends an audit entry with `rows` written in the same transaction, and resolves once both are
 * committed (and synced, see commit-sync.ts). Concurrent appends are written together, one
 * transaction per batch. Inside a caller's transaction (an all-or-nothing apply) the entry and
 * its rows join that transaction instead.
 */
export async function appendAudit(
  db: Kysely<Database>,
  given: AuditEvent,
  at: number,
  rows: readonly AuditedInsert[] = [],
  kind: DatabaseKind = kindOf(db),
): Promise<AuditEntry> {
  checkEvent(given);
  const item: BatchItem = { event: storableEvent(given), at, rows };
  if (db.isTransaction)
    return (await writeBatch(db, kind, [item], auditKeysOf(db)?.chain))[0] as AuditEntry;
  return writerOf(db, kind).append(item);
}

function kindOf(db: Kysely<Database>): DatabaseKind {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
