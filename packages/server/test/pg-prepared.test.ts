/**
 * Repeated PostgreSQL queries run as named prepared statements (src/storage/pg-prepared.ts):
 * parsed and planned once per connection, and still correct when another process changes a
 * table's shape under a prepared `select *` (a rolling upgrade running a migration).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareRepeatedQueries } from '../src/storage/pg-prepared.js';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';

describe('named prepared statements on PostgreSQL', () => {
  let database: ThrowawayDatabase;
  let pool: pg.Pool;
  let url: string;

  beforeAll(async () => {
    database = await throwawayPostgres();
    if (database.target.kind !== 'postgres') throw new Error('postgres expected');
    url = database.target.url;
    // One connection, so what one query prepared the next can see.
    pool = new pg.Pool({ connectionString: url, max: 1 });
    prepareRepeatedQueries(pool);
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  /** As Kysely queries: on a checked-out client, with the parameters as an array. */
  const query = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    const client = await pool.connect();
    try {
      return values === undefined
        ? await client.query<R>(text)
        : await client.query<R>(text, values);
    } finally {
      client.release();
    }
  };
  const prepared = async () =>
    (
      await query<{ statement: string }>(
        'select statement from pg_prepared_statements order by prepare_time',
      )
    ).rows.map((r) => r.statement);

  it('prepares a query with parameters once and reuses it; leaves the others unnamed', async () => {
    for (let i = 0; i < 3; i++) {
      const result = await query<{ n: number }>('select $1::int + 1 as n', [i]);
      expect(result.rows[0]?.n).toBe(i + 1);
    }
    await query('select 1');
    expect(await prepared()).toEqual(['select $1::int + 1 as n']);
  });

  it('answers correctly after another connection adds a column under a prepared select *', async () => {
    await query('create table shapes (id int primary key, a text)');
    await query("insert into shapes values (1, 'one')");
    const read = () => query('select * from shapes where id = $1', [1]);
    expect((await read()).rows).toEqual([{ id: 1, a: 'one' }]);
    expect(await prepared()).toContain('select * from shapes where id = $1');
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("alter table shapes add column b text default 'new'");
    } finally {
      await other.end();
    }
    expect((await read()).rows).toEqual([{ id: 1, a: 'one', b: 'new' }]);
    expect((await read()).rows).toEqual([{ id: 1, a: 'one', b: 'new' }]);
  });

  it('passes a failing statement’s error through unchanged', async () => {
    await expect(query('select * from missing_table where id = $1', [1])).rejects.toThrow(
      /relation "missing_table" does not exist/,
    );
    expect((await query('select $1::text as v', ['ok'])).rows).toEqual([{ v: 'ok' }]);
  });
});
