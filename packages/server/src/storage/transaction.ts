import { commitSyncOf } from './commit-sync.js';
import { claimWriteLock, type DatabaseHandle } from './database.js';
import { createStores, type StoreOptions, type Stores } from './index.js';

/**
 * Runs `work` with stores bound to one transaction: everything it writes, audit entries included,
 * is committed together or not at all (an all-or-nothing `gatehouse apply`).
 */
export async function withTransaction<T>(
  handle: DatabaseHandle,
  work: (stores: Stores) => Promise<T>,
  options: StoreOptions = {},
): Promise<T> {
  try {
    const result = await handle.db.transaction().execute(async (trx) => {
      await claimWriteLock(trx, handle.kind);
      return await work(createStores({ ...handle, db: trx }, options));
    });
    // Audit entries written in the transaction are acknowledged now: on disk first (SQLite).
    await commitSyncOf(handle.db)?.();
    return result;
  } finally {
    // A read that ran while the transaction was open saw the old rows: drop what it cached.
    handle.cache?.invalidate('*');
  }
}
