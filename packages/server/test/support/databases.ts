import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import type { DatabaseTarget } from '../../src/storage/database.js';

/**
 * The PostgreSQL server the tests use. Each test file gets a database of its own, created here
 * and dropped afterwards, so runs never see each other's data. `.ci/run` makes sure the server
 * is installed and running; a missing server fails the tests rather than skipping them.
 */
export const POSTGRES_ADMIN_URL =
  process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ThrowawayDatabase {
  readonly target: DatabaseTarget;
  drop(): Promise<void>;
}

export async function throwawaySqlite(): Promise<ThrowawayDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-test-'));
  return {
    target: { kind: 'sqlite', file: join(dir, 'gatehouse.sqlite') },
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function throwawayPostgres(): Promise<ThrowawayDatabase> {
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    target: { kind: 'postgres', url: url.href },
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

export const DATABASES = [
  { kind: 'sqlite', create: throwawaySqlite },
  { kind: 'postgres', create: throwawayPostgres },
] as const;
