import { dirname } from 'node:path';
import pg from 'pg';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '@gatehouse/server';
import { DATABASES, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { gatehouse } from './harness.js';

const SECRET = 'gatehouse-test-secret-key-0123456789abcdef';
const FUTURE = '9001-from-the-future';

/** Records a migration this code does not know, as a newer Gatehouse would have. */
async function migrateFromTheFuture(database: ThrowawayDatabase): Promise<void> {
  const target = database.target;
  if (target.kind === 'sqlite') {
    const db = new SQLite(target.file);
    db.prepare('insert into gatehouse_migrations (name, timestamp) values (?, ?)').run(
      FUTURE,
      new Date().toISOString(),
    );
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  await client.query('insert into gatehouse_migrations (name, timestamp) values ($1, $2)', [
    FUTURE,
    new Date().toISOString(),
  ]);
  await client.end();
}

describe.each(DATABASES)('a database migrated by a newer Gatehouse ($kind)', ({ create }) => {
  let database: ThrowawayDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
  });

  it('is refused with one line that names the migration, and left as it was', async () => {
    database = await create();
    const target = database.target;
    // The current code migrates it first.
    await (await openDatabase(target)).close();
    await migrateFromTheFuture(database);

    await expect(openDatabase(target)).rejects.toThrow(
      new RegExp(
        `the database at .* was migrated by a newer Gatehouse \\(migration ${FUTURE}\\); upgrade Gatehouse or restore a backup`,
      ),
    );

    const where =
      target.kind === 'sqlite'
        ? { args: ['--data-dir', dirname(target.file)], env: {} }
        : { args: ['--database-url', target.url], env: { GATEHOUSE_SECRET_KEY: SECRET } };
    const result = await gatehouse(['env', 'list', ...where.args], { env: where.env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^gatehouse: error: .*migrated by a newer Gatehouse/);
    expect(lines[0]).toContain(FUTURE);

    // Nothing was rolled back or added: the unknown migration is still recorded.
    if (target.kind === 'sqlite') {
      const db = new SQLite(target.file, { readonly: true });
      const names = db.prepare('select name from gatehouse_migrations').pluck().all();
      db.close();
      expect(names).toContain(FUTURE);
    }
  });
});
