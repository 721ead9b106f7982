/**
 * An audit append made with `durable: false` (the issue of an authorization code) resolves at its
 * commit, without waiting for the disk. It must never weaken a durable append it shares a batch
 * with, and what is carried out of the database (`after`, read by the export) must be on disk.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/storage/audit.js';
import { syncCommitsWith } from '../src/storage/commit-sync.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { throwawayPostgres, throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { within } from './support/processes.js';

const event = (type: string) => ({ environment: 'development', type, actor: 'system' });
const AT_COMMIT = { durable: false } as const;

function tracked<T>(promise: Promise<T>) {
  const state = { settled: false };
  return {
    state,
    promise: promise.finally(() => {
      state.settled = true;
    }),
  };
}

describe('audit appends that resolve at commit, on SQLite', () => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  // In place of the fdatasync openDatabase registers: one the test releases by hand.
  const syncs: { release(): void }[] = [];

  beforeAll(async () => {
    throwaway = await throwawaySqlite();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle, {});
    await stores.environments.create({ name: 'development', tier: 'development', createdAt: 1 });
    syncCommitsWith(
      handle.db,
      () =>
        new Promise<void>((resolve) => {
          syncs.push({ release: resolve });
        }),
    );
  });
  afterAll(async () => {
    for (const sync of syncs) sync.release();
    await handle.close();
    await throwaway.drop();
  });

  it('resolve without asking for a sync when no append of the batch must be durable', async () => {
    const before = syncs.length;
    const entries = await Promise.all([
      appendAudit(handle.db, event('test.at-commit'), 2, [], AT_COMMIT),
      appendAudit(handle.db, event('test.at-commit'), 3, [], AT_COMMIT),
    ]);
    expect(entries.map((e) => e.type)).toEqual(['test.at-commit', 'test.at-commit']);
    expect(syncs.length).toBe(before);
  });

  it('leave a durable append of the same batch waiting for the sync', async () => {
    const before = syncs.length;
    // Made in one turn of the event loop: one batch, one transaction.
    const durable = tracked(appendAudit(handle.db, event('test.durable'), 4));
    const atCommit = tracked(appendAudit(handle.db, event('test.at-commit'), 5, [], AT_COMMIT));
    const resolved = await atCommit.promise;
    await within(2_000, 'the batch asks for a sync', () =>
      Promise.resolve(syncs.length === before + 1),
    );
    // Committed together: the durable entry is in the log, right before the other.
    const written = await stores.audit.tail({ type: 'test.durable' });
    expect(written.map((e) => e.seq)).toEqual([resolved.seq - 1]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(durable.state.settled).toBe(false);
    expect(atCommit.state.settled).toBe(true);
    syncs[before]?.release();
    expect((await durable.promise).seq).toBe(resolved.seq - 1);
    expect(await stores.audit.verify()).toMatchObject({ ok: true });
  });

  it('are read for an export only after a sync', async () => {
    const head = await stores.audit.head();
    await appendAudit(handle.db, event('test.exported'), 6, [], AT_COMMIT);
    const before = syncs.length;
    const read = tracked(stores.audit.after(head.seq, 10));
    await within(2_000, 'the read asks for a sync', () =>
      Promise.resolve(syncs.length === before + 1),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(read.state.settled).toBe(false);
    syncs[before]?.release();
    expect((await read.promise).map((e) => e.type)).toEqual(['test.exported']);
  });

  it('are read page by page with one sync: entries once on disk stay there', async () => {
    const head = await stores.audit.head();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        appendAudit(handle.db, event('test.backlog'), 100 + i, [], AT_COMMIT),
      ),
    );
    const before = syncs.length;
    // The first page waits for the disk, and that one wait covers every entry committed before it.
    const first = tracked(stores.audit.after(head.seq, 10));
    await within(2_000, 'the first page asks for a sync', () =>
      Promise.resolve(syncs.length === before + 1),
    );
    syncs[before]?.release();
    expect(await first.promise).toHaveLength(10);
    // An export catching up on a backlog, or retention archiving it: no sync per page.
    for (const from of [head.seq + 10, head.seq + 20]) {
      const page = tracked(stores.audit.after(from, 10));
      await within(2_000, 'a page of entries already on disk is read without a sync', () =>
        Promise.resolve(page.state.settled),
      );
      expect(await page.promise).toHaveLength(10);
    }
    expect(syncs.length).toBe(before + 1);
    // An entry committed after that wait is not covered by it.
    const newest = await appendAudit(handle.db, event('test.backlog'), 200, [], AT_COMMIT);
    const next = tracked(stores.audit.after(head.seq + 30, 10));
    await within(2_000, 'a page with a newer entry asks for a sync', () =>
      Promise.resolve(syncs.length === before + 2),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(next.state.settled).toBe(false);
    syncs[before + 1]?.release();
    expect((await next.promise).map((e) => e.seq)).toEqual([newest.seq]);
  });
});

describe('audit appends that resolve at commit, on PostgreSQL', () => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;

  beforeAll(async () => {
    throwaway = await throwawayPostgres();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle, {});
    await stores.environments.create({ name: 'development', tier: 'development', createdAt: 1 });
    // Reads the WAL up to what is flushed: a commit record found there is on disk.
    await sql`create extension if not exists pg_walinspect`.execute(handle.db);
  });
  afterAll(async () => {
    await handle.close();
    await throwaway.drop();
  });

  /** The transaction that wrote entry `seq`, and whether its commit record is on disk. */
  async function commitOf(seq: number, since: string) {
    const { rows } = await sql<{ xid: string; flushed: boolean }>`
      select a.xmin::text as xid,
        case when pg_current_wal_flush_lsn() <= ${since}::pg_lsn then false
        else exists (
          select from pg_get_wal_records_info(${since}::pg_lsn, pg_current_wal_flush_lsn()) r
          where r.resource_manager = 'Transaction' and r.record_type like 'COMMIT%'
            and r.xid::text = a.xmin::text
        ) end as flushed
      from audit_log a where a.seq = ${seq}`.execute(handle.db);
    return rows[0];
  }

  it('commit a durable append sharing their batch synchronously: on disk when it resolves', async () => {
    for (let round = 0; round < 5; round++) {
      const { rows } = await sql<{
        lsn: string;
      }>`select pg_current_wal_insert_lsn()::text as lsn`.execute(handle.db);
      const since = rows[0]?.lsn as string;
      // The first append is written at once; the next ones queue behind it and form one batch.
      const lead = appendAudit(handle.db, event('test.lead'), 10, [], AT_COMMIT);
      const atCommit = appendAudit(handle.db, event('test.at-commit'), 11, [], AT_COMMIT);
      const durable = await appendAudit(handle.db, event('test.durable'), 12);
      // Checked as soon as it resolves, before the WAL writer would flush an asynchronous commit.
      const commit = await commitOf(durable.seq, since);
      expect(commit?.flushed).toBe(true);
      await lead;
      // The same transaction as the durable one: the batch was mixed, and so committed durably.
      expect((await commitOf((await atCommit).seq, since))?.xid).toBe(commit?.xid);
    }
    expect(await stores.audit.verify()).toMatchObject({ ok: true });
  });

  it('resolve once committed: another connection sees the entry', async () => {
    const other = await openDatabase(throwaway.target);
    try {
      const entries = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          appendAudit(handle.db, event('test.at-commit'), 20 + i, [], AT_COMMIT),
        ),
      );
      const seen = await other.db
        .selectFrom('audit_log')
        .select('seq')
        .where(
          'seq',
          'in',
          entries.map((e) => e.seq),
        )
        .execute();
      expect(seen).toHaveLength(20);
      expect(await stores.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await other.close();
    }
  });

  it('are read for an export only once on disk', async () => {
    const { rows } = await sql<{
      lsn: string;
    }>`select pg_current_wal_insert_lsn()::text as lsn`.execute(handle.db);
    const head = await stores.audit.head();
    const written = await appendAudit(handle.db, event('test.exported'), 40, [], AT_COMMIT);
    const read = await stores.audit.after(head.seq, 10);
    expect(read.map((e) => e.seq)).toEqual([written.seq]);
    expect((await commitOf(written.seq, rows[0]?.lsn as string))?.flushed).toBe(true);
  });
});
