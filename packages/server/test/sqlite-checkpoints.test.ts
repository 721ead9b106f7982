/**
 * SQLite WAL checkpoints on a worker thread (src/storage/sqlite-checkpointer.ts): the serving
 * connection never checkpoints inside a commit, yet the WAL's pages reach the database file, and
 * closing folds everything back in.
 */
import { existsSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/storage/database.js';
import { createStores } from '../src/storage/index.js';
import { throwawaySqlite } from './support/databases.js';
import { within } from './support/processes.js';

describe('background WAL checkpoints', () => {
  it('copy committed pages into the database file while the server connection never checkpoints', async () => {
    const database = await throwawaySqlite();
    if (database.target.kind !== 'sqlite') throw new Error('sqlite expected');
    const file = database.target.file;
    const handle = await openDatabase(database.target, { backgroundCheckpoints: true });
    try {
      const setting = await sql<{
        wal_autocheckpoint: number;
      }>`pragma wal_autocheckpoint`.execute(handle.db);
      expect(setting.rows[0]?.wal_autocheckpoint).toBe(0);
      const before = statSync(file).size;
      await sql`create table filler (id integer primary key, body text)`.execute(handle.db);
      const body = 'x'.repeat(4_000);
      for (let i = 0; i < 500; i++)
        await sql`insert into filler (body) values (${body})`.execute(handle.db);
      // About 2 MB went into the WAL; the worker moves it into the database file.
      await within(5_000, 'the database file grows by what was committed', () =>
        Promise.resolve({
          ok: statSync(file).size - before > 1_500_000,
          seen: statSync(file).size - before,
        }),
      );
    } finally {
      await handle.close();
    }
    // The serving connection closed last, so SQLite folded the WAL in and removed it.
    expect(existsSync(`${file}-wal`)).toBe(false);
    const reopened = await openDatabase(database.target);
    try {
      const count = await sql<{ n: number }>`select count(*) as n from filler`.execute(reopened.db);
      expect(count.rows[0]?.n).toBe(500);
    } finally {
      await reopened.close();
      await database.drop();
    }
  });

  it('sync the WAL beside the real file when the database path is a symbolic link', async () => {
    const database = await throwawaySqlite();
    if (database.target.kind !== 'sqlite') throw new Error('sqlite expected');
    const real = await openDatabase(database.target);
    await real.close();
    const link = join(dirname(database.target.file), 'link.sqlite');
    symlinkSync(database.target.file, link);
    const handle = await openDatabase({ kind: 'sqlite', file: link });
    try {
      const stores = createStores(handle);
      await stores.environments.create({ name: 'development', tier: 'development', createdAt: 1 });
      // Acknowledged only after the fdatasync of the WAL: it must find the WAL to sync.
      const entry = await stores.audit.append(
        { environment: 'development', type: 'test.linked', actor: 'system' },
        2,
      );
      expect(entry.type).toBe('test.linked');
      expect(existsSync(`${database.target.file}-wal`)).toBe(true);
      expect(existsSync(`${link}-wal`)).toBe(false);
    } finally {
      await handle.close();
      await database.drop();
    }
  });

  it('keep the WAL bounded under sustained audited writes, and empty it once they stop', async () => {
    const database = await throwawaySqlite();
    if (database.target.kind !== 'sqlite') throw new Error('sqlite expected');
    const wal = `${database.target.file}-wal`;
    // A small threshold so a test-sized load crosses it many times over.
    const limit = 1024 * 1024;
    const handle = await openDatabase(database.target, {
      backgroundCheckpoints: true,
      checkpoints: { truncateAboveBytes: limit, intervalMs: 50 },
    });
    const size = () => (existsSync(wal) ? statSync(wal).size : 0);
    try {
      const stores = createStores(handle);
      await stores.environments.create({ name: 'development', tier: 'development', createdAt: 1 });
      const setting = await sql<{
        journal_size_limit: number;
      }>`pragma journal_size_limit`.execute(handle.db);
      expect(setting.rows[0]?.journal_size_limit).toBe(16 * 1024 * 1024);
      let largest = 0;
      let written = 0;
      // 20,000 audited writes, 100 at a time (group-committed like concurrent requests): about
      // 20 MB of WAL, which PASSIVE checkpoints alone would never let the writer start over.
      for (let round = 0; round < 200; round++) {
        await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            stores.audit.append(
              {
                environment: 'development',
                type: 'test.sustained',
                actor: 'system',
                data: { round, i, padding: 'p'.repeat(200) },
              },
              round * 100 + i,
            ),
          ),
        );
        written += 100;
        largest = Math.max(largest, size());
      }
      expect(written).toBe(20_000);
      // Bounded: the threshold plus what arrives between two rounds, far below the ~20 MB written.
      expect(largest).toBeLessThan(8 * limit);
      // Once the writes stop, the file is emptied.
      await within(10_000, 'the WAL is emptied when the load stops', () =>
        Promise.resolve({ ok: size() === 0, seen: size() }),
      );
      const count = await sql<{ n: number }>`select count(*) as n from audit_log`.execute(
        handle.db,
      );
      expect(count.rows[0]?.n).toBe(20_000);
      expect((await stores.audit.verify()).ok).toBe(true);
    } finally {
      await handle.close();
      await database.drop();
    }
  }, 120_000);

  it('are left to SQLite itself without the option (a CLI command)', async () => {
    const database = await throwawaySqlite();
    const handle = await openDatabase(database.target);
    try {
      const setting = await sql<{
        wal_autocheckpoint: number;
      }>`pragma wal_autocheckpoint`.execute(handle.db);
      expect(setting.rows[0]?.wal_autocheckpoint).toBe(1000);
    } finally {
      await handle.close();
      await database.drop();
    }
  });
});
