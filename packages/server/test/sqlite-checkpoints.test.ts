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
