import { chmodSync, closeSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { DatabaseNewerThanCodeError, migrateToLatest } from './migrations.js';
import { syncCommitsWith } from './commit-sync.js';
import { prepareRepeatedQueries } from './pg-prepared.js';
import { ReadCache } from './read-cache.js';
import {
  startCheckpointer,
  WAL_SIZE_LIMIT_BYTES,
  type Checkpointer,
  type CheckpointerOptions,
} from './sqlite-checkpointer.js';
import type { Database } from './schema.js';

export type DatabaseKind = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** Where the data lives, for messages: a file path, or the PostgreSQL URL without its password. */
  readonly location: string;
  /** Environments, clients, users and resources kept in memory (absent: always read). */
  readonly cache?: ReadCache;
  /** PostgreSQL: the connection pool, for its gauges (metrics). */
  readonly pool?: {
    readonly totalCount: number;
    readonly idleCount: number;
    readonly waitingCount: number;
  };
  close(): Promise<void>;
}

export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

// int8 (bigint) columns hold millisecond timestamps and sequence numbers, far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface OpenOptions {
  /**
   * SQLite: checkpoint the WAL on a worker thread instead of inside commits (a long-running
   * server; a CLI command does not need the thread).
   */
  readonly backgroundCheckpoints?: boolean;
  /** Tuning of those checkpoints (tests: a small size that triggers TRUNCATE). */
  readonly checkpoints?: CheckpointerOptions;
}

/** Opens the database, creating and migrating it as needed. */
export async function openDatabase(
  target: DatabaseTarget,
  options: OpenOptions = {},
): Promise<DatabaseHandle> {
  const handle =
    target.kind === 'sqlite'
      ? await openSqlite(target.file, options.backgroundCheckpoints === true, options.checkpoints)
      : openPostgres(target.url);
  try {
    await migrateWithRetry(handle);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/**
 * PostgreSQL serialises concurrent migrators with an advisory lock (Kysely's). Kysely takes no lock
 * for SQLite, so a second process opening a fresh file at the same moment can lose the race; each
 * migration is one transaction, so it simply tries again and finds the work done.
 */
async function migrateWithRetry(handle: DatabaseHandle): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrateToLatest(handle.db as Kysely<unknown>, handle.location);
      return;
    } catch (error) {
      if (error instanceof DatabaseNewerThanCodeError) throw error;
      if (handle.kind !== 'sqlite' || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

export function sqliteTarget(dataDir: string): DatabaseTarget {
  return { kind: 'sqlite', file: join(dataDir, 'gatehouse.sqlite') };
}

async function openSqlite(
  file: string,
  backgroundCheckpoints: boolean,
  checkpoints: CheckpointerOptions = {},
): Promise<DatabaseHandle> {
  if (file !== ':memory:') {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    ownerOnly(file, true);
  }
  const sqlite = new SQLite(file);
  // WAL: readers do not block the writer; NORMAL sync is durable across process crashes in WAL mode.
  sqlite.pragma('journal_mode = WAL');
  if (file !== ':memory:')
    for (const suffix of ['-wal', '-shm']) ownerOnly(`${file}${suffix}`, false);
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // When the writer starts the WAL over, the file is cut back to this size (sqlite-checkpointer.ts).
  sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  cachePreparedStatements(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  // Changes when another connection (process) commits: the read cache then starts over.
  const dataVersion = sqlite.prepare('pragma data_version').pluck();
  const cache = new ReadCache(undefined, () => dataVersion.get() as number);
  // SQLite keeps the WAL beside the real file, not beside a symbolic link to it.
  const wal = file === ':memory:' ? undefined : walSync(`${realpathSync(file)}-wal`);
  if (wal !== undefined) syncCommitsWith(db, () => wal.sync());
  let checkpointer: Checkpointer | undefined;
  if (backgroundCheckpoints && file !== ':memory:') {
    sqlite.pragma('wal_autocheckpoint = 0');
    const automatic = () => sqlite.pragma('wal_autocheckpoint = 1000');
    checkpointer = await startCheckpointer(
      file,
      () => {
        if (sqlite.open) automatic();
      },
      checkpoints,
    ).catch(() => {
      automatic();
      return undefined;
    });
  }
  return {
    db,
    kind: 'sqlite',
    location: file,
    cache,
    async close() {
      // First, so the serving connection is the last one and SQLite folds the WAL back in.
      await checkpointer?.stop();
      await wal?.close();
      await db.destroy();
    },
  };
}

/**
 * The database holds password hashes, token records and the audit log: mode 0600 however the data
 * directory came to be. SQLite creates a file 0644 (less the umask) and gives its -wal and -shm
 * the database file's mode, so the file is made 0600 before SQLite opens it; files an older
 * version left readable are tightened. `create` makes the file when it is missing.
 */
function ownerOnly(path: string, create: boolean): void {
  try {
    if (create) closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Missing (-shm on some platforms) or not ours to change (a read-only mount): SQLite decides.
    if (code !== 'ENOENT' && code !== 'EPERM' && code !== 'EROFS') throw error;
  }
}

/**
 * Kysely prepares every query anew, and preparing costs more than running our small queries.
 * Statements are reusable in better-sqlite3 (Kysely runs them to completion, never two at once on
 * the one connection), so keep them by SQL text; the queries have a fixed set of shapes.
 */
function cachePreparedStatements(sqlite: SQLite.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (statement === undefined) {
      statement = prepare(source);
      if (cache.size >= 500) cache.delete(cache.keys().next().value as string);
      cache.set(source, statement);
    }
    return statement;
  }) as typeof sqlite.prepare;
}

/** fdatasync of the WAL file, through a descriptor of its own (on the libuv thread pool). */
function walSync(walFile: string): { sync(): Promise<void>; close(): Promise<void> } {
  let handle: Promise<FileHandle> | undefined;
  return {
    async sync() {
      // The WAL exists from the first write on, which precedes any audit commit.
      handle ??= open(walFile, 'r').catch((error: unknown) => {
        handle = undefined;
        throw error;
      });
      await (await handle).datasync();
    },
    async close() {
      await (await handle)?.close();
    },
  };
}

function openPostgres(url: string): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection can be cut by the server (restart, failover, admin). The pool drops it and
  // opens another on demand; without this listener the 'error' event would crash the process.
  pool.on('error', () => undefined);
  prepareRepeatedQueries(pool);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const cache = new ReadCache();
  return {
    db,
    kind: 'postgres',
    location: redactUrl(url),
    cache,
    pool,
    close: () => db.destroy(),
  };
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    // pg (like libpq) also takes `?password=` and `?sslpassword=` from the query string.
    for (const key of [...parsed.searchParams.keys()])
      if (/password/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.href;
  } catch {
    return '(unparseable database URL)';
  }
}

/**
 * SQLite: takes the write lock as a transaction's first step. A transaction that reads first and
 * writes later gets SQLITE_BUSY at once, without waiting, when another process writes meanwhile
 * (the busy timeout does not apply to a lock upgrade). A no-op write first makes it wait instead.
 */
export async function claimWriteLock(trx: Kysely<Database>, kind: DatabaseKind): Promise<void> {
  if (kind === 'sqlite') await sql`update environments set name = name where 0`.execute(trx);
}
