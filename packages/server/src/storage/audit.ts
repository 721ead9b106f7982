import { createHash } from 'node:crypto';
import {
  CompiledQuery,
  PostgresAdapter,
  sql,
  type Insertable,
  type Kysely,
  type Selectable,
} from 'kysely';
import { claimWriteLock, type DatabaseKind } from './database.js';
import { commitSyncOf } from './commit-sync.js';
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

/**
 * A row written in the same transaction as an audit entry: the entry and its rows become durable
 * together or not at all (an access token is never valid without the entry that records it).
 */
export type AuditedInsert = {
  [T in keyof Database]: { readonly table: T; readonly row: Insertable<Database[T]> };
}[keyof Database];

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

interface Pending {
  readonly event: AuditEvent;
  readonly at: number;
  readonly rows: readonly AuditedInsert[];
  resolve(entry: AuditEntry): void;
  reject(error: unknown): void;
}

/** The most appends one transaction carries. */
const MAX_BATCH = 256;

function checkEvent(event: AuditEvent): void {
  for (const key of Object.keys(event.data ?? {})) {
    if (FORBIDDEN_KEYS.test(key)) throw new TypeError(`audit data must not carry "${key}"`);
  }
}

function toRow(entry: AuditEntry): Insertable<AuditTable> {
  return {
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
  };
}

/**
 * Inserts rows of any table. SQLite runs one statement per row, whose prepared statement is reused
 * (a multi-row statement would be a new one for every batch size); PostgreSQL gets one statement
 * per table, as each is a round trip.
 */
async function insertRows(
  trx: Kysely<Database>,
  kind: DatabaseKind,
  rows: readonly AuditedInsert[],
): Promise<void> {
  // Each row was checked against its own table's type where the AuditedInsert was made.
  const insert = (table: keyof Database, values: readonly Insertable<Database[keyof Database]>[]) =>
    trx.insertInto(table).values(values).execute();
  if (kind === 'sqlite') {
    for (const { table, row } of rows) await trx.executeQuery(sqliteInsert(table, row));
    return;
  }
  const byTable = new Map<keyof Database, Insertable<Database[keyof Database]>[]>();
  for (const { table, row } of rows) {
    const list = byTable.get(table) ?? [];
    list.push(row);
    byTable.set(table, list);
  }
  for (const [table, values] of byTable) await insert(table, values);
}

/** An entry as it is chained, but for its place in the chain (seq, prev_hash, hash). */
function entryFields(event: AuditEvent, at: number): Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'> {
  return {
    at,
    environment: event.environment,
    type: event.type,
    actor: event.actor,
    clientId: event.clientId ?? null,
    userId: event.userId ?? null,
    data: event.data ?? {},
  };
}

/**
 * A row's defined columns, checked to be plain identifiers: they are this module's own column
 * names, written into SQL text by the two hand-written inserts below.
 */
function insertColumns(table: string, record: Record<string, unknown>): string[] {
  const columns = Object.keys(record).filter((column) => record[column] !== undefined);
  if (!IDENTIFIER.test(table) || !columns.every((c) => IDENTIFIER.test(c)))
    throw new TypeError(`not an identifier in ${table}(${columns.join(',')})`);
  return columns;
}

/** SQL text by table and column list: the same few shapes, every batch. */
const insertTexts = new Map<string, string>();
const IDENTIFIER = /^[a-z_]+$/;

/**
 * One row's insert, written directly rather than built and compiled by Kysely, which cost more
 * than SQLite's own work for these rows. The identifiers are this module's own column names
 * (checked anyway); the values are bound parameters.
 */
function sqliteInsert(table: keyof Database, row: object): CompiledQuery {
  const record = row as Record<string, unknown>;
  const columns = insertColumns(table, record);
  const key = `${table}(${columns.join(',')})`;
  let text = insertTexts.get(key);
  if (text === undefined) {
    text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`;
    insertTexts.set(key, text);
  }
  return CompiledQuery.raw(
    text,
    columns.map((column) => record[column]),
  );
}

/**
 * PostgreSQL: a whole batch in one statement, so one round trip (migration 0007): its rows in
 * data-modifying CTEs, its entries chained and inserted by gatehouse_audit_append under the
 * chain's advisory lock. One statement is one transaction: all of it commits, or none.
 */
async function appendBatchPostgres(
  db: Kysely<Database>,
  batch: readonly Pending[],
): Promise<AuditEntry[]> {
  const params: unknown[] = [];
  const placeholder = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const groups = new Map<
    string,
    { table: string; columns: string[]; rows: Record<string, unknown>[] }
  >();
  for (const { table, row } of batch.flatMap((item) => item.rows)) {
    const record = row as Record<string, unknown>;
    const columns = insertColumns(table, record);
    const key = `${table}(${columns.join(',')})`;
    const group = groups.get(key) ?? { table, columns, rows: [] };
    group.rows.push(record);
    groups.set(key, group);
  }
  const inserts = [...groups.values()].map(
    ({ table, columns, rows }, i) =>
      `rows_${i} as (insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${rows
        .map((row) => `(${columns.map((column) => placeholder(row[column])).join(', ')})`)
        .join(', ')})`,
  );
  const entries = batch.map(({ event, at }) => entryFields(event, at));
  // `middle` is the hashed JSON array without its first (seq) and last (prev_hash) elements.
  const payload = entries.map((e) => ({
    middle: JSON.stringify([
      e.at,
      e.environment,
      e.type,
      e.actor,
      e.clientId,
      e.userId,
      e.data,
    ]).slice(1, -1),
    at: e.at,
    environment: e.environment,
    type: e.type,
    actor: e.actor,
    client_id: e.clientId,
    user_id: e.userId,
    data: JSON.stringify(e.data),
  }));
  const call = `select out_seq, out_prev, out_hash from gatehouse_audit_append(${placeholder(JSON.stringify(payload))}::jsonb)`;
  const text = inserts.length === 0 ? call : `with ${inserts.join(', ')} ${call}`;
  const result = await db.executeQuery<{ out_seq: number; out_prev: string; out_hash: string }>(
    CompiledQuery.raw(text, params),
  );
  const chained = [...result.rows].sort((a, b) => a.out_seq - b.out_seq);
  if (chained.length !== entries.length)
    throw new Error('the audit append returned too few entries');
  return entries.map((e, i) => {
    const link = chained[i] as { out_seq: number; out_prev: string; out_hash: string };
    return { ...e, seq: link.out_seq, prevHash: link.out_prev, hash: link.out_hash };
  });
}

/**
 * Writes a batch in the transaction `trx`: the batch's rows, then its entries, chained in order
 * after the newest entry in the log.
 */
async function writeBatch(
  trx: Kysely<Database>,
  kind: DatabaseKind,
  batch: readonly Pending[],
): Promise<AuditEntry[]> {
  await claimWriteLock(trx, kind);
  await insertRows(
    trx,
    kind,
    batch.flatMap((item) => item.rows),
  );
  // One writer at a time extends the chain, across every process sharing the database. SQLite
  // serialises transactions on its single connection already. Taken after the batch's other rows
  // are written, so the lock is held for as short a time as can be.
  if (kind === 'postgres') await sql`select pg_advisory_xact_lock(7310202611)`.execute(trx);
  const last = await trx
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  let seq = last?.seq ?? 0;
  let prevHash = last?.hash ?? GENESIS_HASH;
  const entries = batch.map(({ event, at }) => {
    const unhashed = { seq: ++seq, ...entryFields(event, at), prevHash };
    const entry: AuditEntry = { ...unhashed, hash: chainHash(unhashed) };
    prevHash = entry.hash;
    return entry;
  });
  await insertRows(
    trx,
    kind,
    entries.map((entry) => ({ table: 'audit_log', row: toRow(entry) })),
  );
  return entries;
}

/**
 * Group commit for one database. While a batch is being written, new appends wait in a queue;
 * when it commits, every append of the batch resolves and the queue becomes the next batch. An
 * append never resolves before its own transaction has committed, so nothing is acknowledged
 * that is not durable. If a batch fails, its appends are retried one by one, so a bad one fails
 * alone.
 */
class AuditWriter {
  private queue: Pending[] = [];
  private writing = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: DatabaseKind,
    /** Makes committed transactions durable where a commit alone does not (commit-sync.ts). */
    private readonly sync: (() => Promise<void>) | undefined,
  ) {}

  append(event: AuditEvent, at: number, rows: readonly AuditedInsert[]): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, at, rows, resolve, reject });
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
      while (this.queue.length > 0) await this.commit(this.queue.splice(0, MAX_BATCH));
    } finally {
      this.writing = false;
    }
  }

  private async commit(batch: readonly Pending[]): Promise<void> {
    let entries: AuditEntry[];
    try {
      entries =
        this.kind === 'postgres'
          ? await appendBatchPostgres(this.db, batch)
          : await this.db.transaction().execute((trx) => writeBatch(trx, this.kind, batch));
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

/** An unpaired UTF-16 surrogate: no UTF-8 encoding exists for it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

function wellFormed<T>(value: T): T {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\ufffd') as T;
  if (Array.isArray(value)) return value.map(wellFormed) as T;
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [wellFormed(k), wellFormed(v)]),
    ) as T;
  return value;
}

/**
 * Both databases store text as UTF-8, where a lone surrogate (which a JSON body can carry, in a
 * client name say) becomes U+FFFD. Hashed as it came, such an entry would fail `audit verify`
 * once read back: anyone could raise a false tampering alarm. It is hashed as it will be stored.
 */
function storableEvent(event: AuditEvent): AuditEvent {
  // Nearly every event is well-formed already: look before copying.
  return isWellFormed(event) ? event : wellFormed(event);
}

function isWellFormed(value: unknown): boolean {
  if (typeof value === 'string') return !HAS_LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.every(isWellFormed);
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).every(([k, v]) => isWellFormed(k) && isWellFormed(v));
  return true;
}

function append(
  db: Kysely<Database>,
  kind: DatabaseKind,
  given: AuditEvent,
  at: number,
  rows: readonly AuditedInsert[],
): Promise<AuditEntry> {
  const event = storableEvent(given);
  // Inside a caller's transaction (an all-or-nothing apply) the entry joins that transaction.
  if (db.isTransaction)
    return writeBatch(db, kind, [
      { event, at, rows, resolve: () => undefined, reject: () => undefined },
    ]).then(([entry]) => entry as AuditEntry);
  let writer = writers.get(db);
  if (writer === undefined) {
    writer = new AuditWriter(db, kind, commitSyncOf(db));
    writers.set(db, writer);
  }
  return writer.append(event, at, rows);
}

/**
 * Appends an audit entry with rows written in the same transaction (see `AuditStore.append`),
 * for stores that hold the database but not its kind.
 */
export async function appendAudit(
  db: Kysely<Database>,
  event: AuditEvent,
  at: number,
  rows: readonly AuditedInsert[] = [],
): Promise<AuditEntry> {
  checkEvent(event);
  const kind = db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
  return append(db, kind, event, at, rows);
}

export function auditStore(db: Kysely<Database>, kind: DatabaseKind): AuditStore {
  return {
    async append(event, at, rows = []) {
      checkEvent(event);
      return append(db, kind, event, at, rows);
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
