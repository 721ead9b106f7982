import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Per database: what makes its commits durable, when committing does not by itself. */
const commitSyncs = new WeakMap<Kysely<Database>, () => Promise<void>>();

/**
 * SQLite with `synchronous = NORMAL` commits without waiting for the disk (a power loss can take
 * the last commits back). Rather than make every commit wait on the request thread (FULL), the
 * audit writer calls `sync` (an fdatasync of the WAL, on the thread pool) after each batch's
 * commit and before any of its appends resolve: an acknowledged event is on disk.
 */
export function syncCommitsWith(db: Kysely<Database>, sync: () => Promise<void>): void {
  commitSyncs.set(db, sync);
}

export function commitSyncOf(db: Kysely<Database>): (() => Promise<void>) | undefined {
  return commitSyncs.get(db);
}
