/**
 * Audit appends are group-committed: concurrent appends share a transaction. The chain must stay
 * exact, an append must never resolve before its entry is durable, and one bad append in a batch
 * must fail alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncCommitsWith } from '../src/storage/commit-sync.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { withTransaction } from '../src/storage/transaction.js';
import type { RefreshToken } from '../src/storage/tokens.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { within } from './support/processes.js';

describe.each(DATABASES)('audit group commit on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  const now = 1_800_000_000_000;

  // A row written with its audit entry (access tokens have none since issue #15).
  const refresh = (tokenHash: string): RefreshToken => ({
    tokenHash,
    familyId: `family-${tokenHash}`,
    environment: 'development',
    clientId: 'c1',
    userId: 'u1',
    scope: ['read'],
    resource: null,
    authTime: now,
    codeHash: null,
    expiresAt: now + 600_000,
    impersonationId: null,
    createdAt: now,
  });
  const findRefresh = (s: Stores, tokenHash: string) =>
    s.tokens.findActiveRefresh('development', tokenHash, now);
  const event = (i: number) => ({
    environment: 'development',
    type: 'test.event',
    actor: 'system',
    data: { i },
  });

  beforeAll(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle, {});
    await stores.environments.create({ name: 'development', tier: 'development', createdAt: now });
  });
  afterAll(async () => {
    await handle.close();
    await throwaway.drop();
  });

  it('chains 200 concurrent appends with consecutive sequence numbers, in the order they came', async () => {
    const before = (await stores.audit.verify()).count;
    const entries = await Promise.all(
      Array.from({ length: 200 }, (_, i) => stores.audit.append(event(i), now + i)),
    );
    expect(entries.map((e) => e.seq)).toEqual(
      Array.from({ length: 200 }, (_, i) => before + i + 1),
    );
    expect(entries.map((e) => e.data.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (let i = 1; i < entries.length; i++)
      expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
    expect(await stores.audit.verify()).toMatchObject({ ok: true, count: before + 200 });
  });

  it('resolves an append only once its entry and rows are committed', async () => {
    // A second handle sees only what is committed (another process, in effect).
    const other = await openDatabase(throwaway.target);
    try {
      const seen = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const entry = await stores.tokens.saveIssued(
            { refresh: refresh(`durable-${i}`) },
            { event: event(i), at: now },
          );
          const row = await other.db
            .selectFrom('audit_log')
            .select('hash')
            .where('seq', '=', entry.seq)
            .executeTakeFirst();
          const token = await findRefresh(createStores(other), `durable-${i}`);
          return row?.hash === entry.hash && token !== undefined;
        }),
      );
      expect(seen.every(Boolean)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('fails a bad append alone: the others in its batch are written', async () => {
    await stores.tokens.saveRefresh(refresh('taken'));
    const before = (await stores.audit.verify()).count;
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        // The tenth reuses a stored token hash: its insert fails, and with it only its own entry.
        stores.tokens.saveIssued(
          { refresh: refresh(i === 10 ? 'taken' : `batch-${i}`) },
          { event: event(i), at: now },
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(
      Array.from({ length: 30 }, (_, i) => (i === 10 ? 'rejected' : 'fulfilled')),
    );
    for (let i = 0; i < 30; i++)
      expect(await findRefresh(stores, `batch-${i}`)).toEqual(
        i === 10 ? undefined : expect.objectContaining({ tokenHash: `batch-${i}` }),
      );
    expect(await stores.audit.verify()).toMatchObject({ ok: true, count: before + 29 });
  });

  it('keeps one chain when two processes append at once', async () => {
    const other = await openDatabase(throwaway.target);
    try {
      const otherStores = createStores(other);
      const before = (await stores.audit.verify()).count;
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          (i % 2 === 0 ? stores : otherStores).audit.append(event(i), now + i),
        ),
      );
      expect(await stores.audit.verify()).toMatchObject({ ok: true, count: before + 100 });
    } finally {
      await other.close();
    }
  });

  it('hashes any data exactly as verify recomputes it, whichever path wrote it', async () => {
    // On PostgreSQL the batch path chains entries in SQL; its hashes must match chainHash() in
    // JavaScript for every string JSON can carry, or `audit verify` would report tampering.
    const before = (await stores.audit.verify()).count;
    const awkward = [
      'plain',
      'quote " backslash \\ slash /',
      'emoji 🔑 and accents éàü, CJK 認可',
      'line\nbreak\ttab \u2028 \u2029',
      'control \u0001\u001f',
      'lone surrogate \ud800 here',
      '',
    ];
    const written = await Promise.all(
      awkward.map((text, i) =>
        stores.audit.append(
          {
            environment: i % 2 === 0 ? 'development' : null,
            type: 'test.awkward',
            actor: `actor "${text}"`,
            clientId: i % 3 === 0 ? null : `client-${text}`,
            userId: null,
            data: { text, nested: { list: [text, i, i / 3, null, true] } },
          },
          now + i,
        ),
      ),
    );
    expect(await stores.audit.verify()).toMatchObject({ ok: true, count: before + awkward.length });
    const read = await stores.audit.tail({ type: 'test.awkward', limit: 100 });
    expect(read.map((e) => e.hash)).toEqual(written.map((e) => e.hash));
    expect(read.map((e) => e.prevHash)).toEqual(written.map((e) => e.prevHash));
    expect(read.map((e) => e.data.text)).toEqual(awkward.map((t) => t.replace('\ud800', '\ufffd')));
  });

  it('joins the caller’s transaction inside one, and rolls back with it', async () => {
    const before = (await stores.audit.verify()).count;
    await expect(
      handle.db.transaction().execute(async (trx) => {
        const inside = createStores({ ...handle, db: trx });
        await inside.audit.append(event(1), now);
        await inside.tokens.saveIssued(
          { refresh: refresh('rolled-back') },
          { event: event(2), at: now },
        );
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await findRefresh(stores, 'rolled-back')).toBeUndefined();
    expect(await stores.audit.verify()).toMatchObject({ ok: true, count: before });
  });
});

describe('audit appends on SQLite wait for the disk', () => {
  it('resolve only after the WAL sync that follows their commit, and fail if it fails', async () => {
    const throwaway = await DATABASES[0].create();
    const handle = await openDatabase(throwaway.target);
    try {
      const stores = createStores(handle, {});
      await stores.environments.create({ name: 'development', tier: 'development', createdAt: 1 });
      // In place of the fdatasync openDatabase registers: one the test releases by hand.
      const syncs: { release(): void; fail(error: Error): void }[] = [];
      syncCommitsWith(
        handle.db,
        () =>
          new Promise<void>((resolve, reject) => {
            syncs.push({ release: resolve, fail: reject });
          }),
      );
      let settled = false;
      const appended = stores.audit
        .append({ environment: 'development', type: 'test.synced', actor: 'system' }, 2)
        .finally(() => {
          settled = true;
        });
      await within(2_000, 'the batch commits and asks for a sync', () =>
        Promise.resolve(syncs.length === 1),
      );
      // Committed (another reader sees it), but not acknowledged before the sync.
      const committed = await stores.audit.tail({ type: 'test.synced' });
      expect(committed).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(settled).toBe(false);
      syncs[0]?.release();
      expect((await appended).type).toBe('test.synced');

      const failing = stores.audit.append(
        { environment: 'development', type: 'test.unsynced', actor: 'system' },
        3,
      );
      await within(2_000, 'the next batch asks for a sync', () =>
        Promise.resolve(syncs.length === 2),
      );
      syncs[1]?.fail(new Error('EIO: the disk is gone'));
      await expect(failing).rejects.toThrow('EIO');

      // An entry written inside a caller's transaction waits for the sync after its commit too.
      let done = false;
      const applied = withTransaction(handle, async (inside) => {
        await inside.audit.append(
          { environment: 'development', type: 'test.in-transaction', actor: 'system' },
          4,
        );
      }).then(() => {
        done = true;
      });
      await within(2_000, 'the transaction commits and asks for a sync', () =>
        Promise.resolve(syncs.length === 3),
      );
      expect(await stores.audit.tail({ type: 'test.in-transaction' })).toHaveLength(1);
      expect(done).toBe(false);
      syncs[2]?.release();
      await applied;
      expect(done).toBe(true);
    } finally {
      await handle.close();
      await throwaway.drop();
    }
  });
});
