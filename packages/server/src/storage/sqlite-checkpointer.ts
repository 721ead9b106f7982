import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a worker thread with a connection of its own. SQLite runs a checkpoint
 * inside whichever commit crosses the WAL size threshold, on the request thread: that commit
 * then takes 10-15 ms (copying pages and syncing the database file) and every request queued
 * behind it waits, which was most of the p99 under load. Here the serving connection never
 * checkpoints (`wal_autocheckpoint = 0`) and the worker runs a PASSIVE checkpoint a few times a
 * second: it never waits for a lock and never blocks a reader or the writer, and the writer
 * starts the WAL over once a checkpoint has caught up, so the file stays small.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

const INTERVAL_MS = 200;

// CommonJS, evaluated in the worker: the worker needs no file of its own in the build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
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
): Promise<Checkpointer> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, file, intervalMs: INTERVAL_MS },
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
