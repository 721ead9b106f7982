import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a worker thread with a connection of its own. SQLite runs a checkpoint
 * inside whichever commit crosses the WAL size threshold, on the request thread: that commit
 * then takes 10-15 ms (copying pages and syncing the database file) and every request queued
 * behind it waits, which was most of the p99 under load. Here the serving connection never
 * checkpoints (`wal_autocheckpoint = 0`) and the worker runs a PASSIVE checkpoint a few times a
 * second: it never waits for a lock and never blocks a reader or the writer.
 *
 * A PASSIVE checkpoint alone does not keep the WAL small under sustained load. The writer starts
 * the WAL over only when, at the start of a write, every frame in it has been copied back; with
 * commits arriving faster than the 200 ms rounds that never happens, and the file grew by about
 * 10 KB per token request without end (1 GB after 100,000). So, besides:
 *
 * - when the WAL file is larger than `truncateAboveBytes`, the worker runs a TRUNCATE checkpoint:
 *   it waits at most `busyTimeoutMs` for the writer lock and for readers to leave older
 *   snapshots (the PASSIVE rounds have already copied nearly everything, so what is left to copy
 *   while it holds the lock is small), then empties the file. The request thread never waits for
 *   it longer than that; when it cannot get the lock it gives up and tries again next round;
 * - when nothing was written since the last round and everything is copied back, the same
 *   TRUNCATE empties the file once the load stops;
 * - `journal_size_limit` (set on the serving connection too) cuts the file back to that size
 *   whenever the writer starts the WAL over by itself.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** Between PASSIVE rounds. */
  readonly intervalMs?: number;
  /** A WAL file larger than this is checkpointed with TRUNCATE. */
  readonly truncateAboveBytes?: number;
  /** How long a TRUNCATE checkpoint may wait for locks (and so hold up the writer). */
  readonly busyTimeoutMs?: number;
}

const INTERVAL_MS = 200;
/** 64 MB: about 6,000 token requests' worth; a few seconds at full load. */
export const WAL_TRUNCATE_ABOVE_BYTES = 64 * 1024 * 1024;
/** What `journal_size_limit` leaves of the WAL file when the writer starts it over. */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;
const BUSY_TIMEOUT_MS = 20;

// CommonJS, evaluated in the worker: the worker needs no file of its own in the build.
const WORKER_SOURCE = `
const { realpathSync, statSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 0');
db.pragma('journal_size_limit = ' + workerData.sizeLimit);
// SQLite keeps the WAL beside the real file, not beside a symbolic link to it.
const walFile = realpathSync(workerData.file) + '-wal';
const walSize = () => {
  try {
    return statSync(walFile).size;
  } catch {
    return 0;
  }
};
let previousLog = -1;
const truncate = () => {
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.pragma('busy_timeout = 0');
  }
};
const timer = setInterval(() => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    const size = walSize();
    const idle = result.log === previousLog && result.log === result.checkpointed;
    previousLog = result.log;
    if (size > workerData.truncateAbove || (idle && size > 0)) truncate();
  } catch (error) {
    // SQLITE_BUSY and the like: the next round tries again.
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage('ready');
`;

/**
 * Starts the worker. Resolves once its connection is open; rejects when it cannot run, and the
 * caller then leaves checkpoints to SQLite's own automatic ones.
 */
export function startCheckpointer(
  file: string,
  /** The worker died later: the caller turns SQLite's automatic checkpoints back on. */
  onFailure: () => void,
  options: CheckpointerOptions = {},
): Promise<Checkpointer> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver,
      file,
      intervalMs: options.intervalMs ?? INTERVAL_MS,
      truncateAbove: options.truncateAboveBytes ?? WAL_TRUNCATE_ABOVE_BYTES,
      busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS,
      sizeLimit: WAL_SIZE_LIMIT_BYTES,
    },
  });
  // A CLI command or a test must not be kept alive by it.
  worker.unref();
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      if (!stopping) onFailure();
      resolve();
    }),
  );
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => {
      worker.off('error', reject);
      // A later error ends the worker: 'exit' follows, and onFailure with it.
      worker.on('error', () => undefined);
      resolve({
        async stop() {
          stopping = true;
          // Waiting for it must keep the process alive, or a closing process exits mid-await.
          worker.ref();
          worker.postMessage('stop');
          await exited;
        },
      });
    });
  });
}
