/* eslint-disable @typescript-eslint/no-unsafe-assignment -- vitest asymmetric matchers are typed any */
/**
 * Issue #13, item 4: tampering with the audit log is detected. Each test performs an attack with
 * direct SQL, as someone who can write the database but does not have the server secret would,
 * and `verify` must report it. Before keyed chaining (plain SHA-256, nothing outside the
 * database), every one of these attacks verified as "intact".
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditKeys } from '../src/crypto/audit-keys.js';
import { signCheckpoint } from '../src/storage/audit.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

const SECRET = 'audit-tamper-test-secret-0123456789abcdef';
const keys = auditKeys(SECRET);
const now = 1_800_000_000_000;

interface Row {
  seq: number;
  at: number;
  environment: string | null;
  type: string;
  actor: string;
  client_id: string | null;
  user_id: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

/** The attacker's tool: renumber from 1 and recompute every hash with plain SHA-256. */
async function rechainWithSha256(handle: DatabaseHandle, prefix = ''): Promise<void> {
  const rows = (await handle.db
    .selectFrom('audit_log')
    .selectAll()
    .orderBy('seq')
    .execute()) as Row[];
  await handle.db.deleteFrom('audit_log').execute();
  let prev = '0'.repeat(64);
  let seq = 0;
  for (const row of rows) {
    seq++;
    const material = JSON.stringify([
      seq,
      row.at,
      row.environment,
      row.type,
      row.actor,
      row.client_id,
      row.user_id,
      JSON.parse(row.data),
      prev,
    ]);
    const hash = prefix + createHash('sha256').update(material).digest('hex');
    await handle.db
      .insertInto('audit_log')
      .values({ ...row, seq, prev_hash: prev, hash })
      .execute();
    prev = hash;
  }
}

describe.each(DATABASES)('a tampered audit log on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;

  beforeEach(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle, { auditKeys: keys });
    // Twelve entries, four of them failed operator sign-ins an intruder wants gone.
    for (let i = 0; i < 12; i++)
      await stores.audit.append(
        {
          environment: null,
          type: i % 3 === 1 ? 'operator.signin_failed' : 'operator.created',
          actor: 'anonymous',
          data: { i },
        },
        now + i,
      );
  });
  afterEach(async () => {
    await handle.close();
    await throwaway.drop();
  });

  it('verifies an untouched keyed chain, every entry MACed', async () => {
    expect(await stores.audit.verify()).toEqual({ ok: true, count: 12, keyed: 12, unkeyed: 0 });
    const [first] = await stores.audit.tail({ limit: 12 });
    expect(first?.hash).toMatch(/^v2:[0-9a-f]{64}$/);
  });

  it('(a) finds entries deleted in the middle and the chain recomputed with plain SHA-256', async () => {
    await handle.db.deleteFrom('audit_log').where('type', '=', 'operator.signin_failed').execute();
    await rechainWithSha256(handle);
    // Before: { ok: true, count: 8 }.
    expect(await stores.audit.verify()).toMatchObject({
      ok: false,
      seq: 1,
      reason: expect.stringContaining('none of its 8 entries is keyed'),
    });
  });

  it('(a) finds the same with the hashes dressed up as keyed ones', async () => {
    await handle.db.deleteFrom('audit_log').where('type', '=', 'operator.signin_failed').execute();
    await rechainWithSha256(handle, 'v2:');
    expect(await stores.audit.verify()).toMatchObject({
      ok: false,
      seq: 1,
      reason: expect.stringContaining('does not match its MAC'),
    });
  });

  it('(a) finds entries deleted in the middle and only the rest of the chain recomputed', async () => {
    // Keep entries 1 and 2 as they are; delete 5 and recompute 3.. so they link up again.
    await handle.db.deleteFrom('audit_log').where('seq', '=', 5).execute();
    const rest = (await handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', 2)
      .orderBy('seq')
      .execute()) as Row[];
    const head = await handle.db
      .selectFrom('audit_log')
      .select('hash')
      .where('seq', '=', 2)
      .executeTakeFirstOrThrow();
    await handle.db.deleteFrom('audit_log').where('seq', '>', 2).execute();
    let prev = head.hash;
    let seq = 2;
    for (const row of rest) {
      seq++;
      const material = JSON.stringify([
        seq,
        row.at,
        row.environment,
        row.type,
        row.actor,
        row.client_id,
        row.user_id,
        JSON.parse(row.data),
        prev,
      ]);
      const hash = createHash('sha256').update(material).digest('hex');
      await handle.db
        .insertInto('audit_log')
        .values({ ...row, seq, prev_hash: prev, hash })
        .execute();
      prev = hash;
    }
    expect(await stores.audit.verify()).toMatchObject({
      ok: false,
      count: 2,
      seq: 3,
      reason: 'it is not keyed but entries before it are: it was written without the secret',
    });
  });

  it('finds an entry altered in place', async () => {
    await sql`update audit_log set data = '{"i":99}' where seq = 7`.execute(handle.db);
    expect(await stores.audit.verify()).toMatchObject({ ok: false, seq: 7, count: 6 });
  });

  it('(b) reports the newest entries deleted as a truncation, given the latest checkpoint', async () => {
    const head = await stores.audit.head();
    const checkpoint = signCheckpoint(keys.checkpoint, {
      count: head.seq,
      head: head.hash,
      at: now,
    });
    await handle.db.deleteFrom('audit_log').where('seq', '>', 9).execute();
    // Without the checkpoint the shorter chain is still a valid chain: that is what it is for.
    expect(await stores.audit.verify()).toMatchObject({ ok: true, count: 9 });
    // Before: nothing to give verify; the chain of 9 was "intact".
    expect(await stores.audit.verify(checkpoint)).toEqual({
      ok: false,
      count: 9,
      seq: 10,
      truncated: true,
      reason: `truncated: the checkpoint of ${new Date(now).toISOString()} says 12 entries ending in ${head.hash.slice(0, 19)}…, the database has 9`,
    });
  });

  it('(b) reports a chain rewritten behind a checkpoint, and a checkpoint not made with this secret', async () => {
    const head = await stores.audit.head();
    const checkpoint = signCheckpoint(keys.checkpoint, {
      count: head.seq,
      head: head.hash,
      at: now,
    });
    expect(await stores.audit.verify(checkpoint)).toMatchObject({
      ok: true,
      count: 12,
      checkpoint,
    });
    // Truncated, then as many entries appended again: the count is back, the head is not.
    await handle.db.deleteFrom('audit_log').where('seq', '>', 9).execute();
    for (let i = 0; i < 3; i++)
      await stores.audit.append(
        { environment: null, type: 'operator.created', actor: 'system', data: { again: i } },
        now + 100 + i,
      );
    expect(await stores.audit.verify(checkpoint)).toMatchObject({
      ok: false,
      seq: 12,
      reason: expect.stringContaining('is not the entry the checkpoint'),
    });
    const forged = { ...checkpoint, count: 5 };
    expect(await stores.audit.verify(forged)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not signed with this secret'),
    });
  });

  it('keeps entries from before keyed chaining verifiable, closed by an audit.chain_keyed entry', async () => {
    const legacy = await create();
    const old = await openDatabase(legacy.target);
    try {
      // Written by a version without keyed chaining (plain SHA-256).
      const unkeyed = createStores(old);
      for (let i = 0; i < 3; i++)
        await unkeyed.audit.append(
          { environment: null, type: 'old.event', actor: 'system', data: { i } },
          now + i,
        );
      const upgraded = createStores(old, { auditKeys: keys });
      expect(await upgraded.audit.verify()).toMatchObject({
        ok: false,
        reason: expect.stringContaining('none of its 3 entries is keyed'),
      });
      await upgraded.audit.ensureKeyed();
      await upgraded.audit.append(
        { environment: null, type: 'new.event', actor: 'system', data: {} },
        now + 10,
      );
      const entries = await upgraded.audit.tail({ limit: 10 });
      expect(entries.map((e) => [e.type, e.hash.slice(0, 3)])).toEqual([
        ['old.event', expect.not.stringMatching(/^v2:/)],
        ['old.event', expect.not.stringMatching(/^v2:/)],
        ['old.event', expect.not.stringMatching(/^v2:/)],
        ['audit.chain_keyed', 'v2:'],
        ['new.event', 'v2:'],
      ]);
      expect(entries[3]?.data).toEqual({ unkeyedEntries: 3, unkeyedHead: entries[2]?.hash });
      expect(await upgraded.audit.verify()).toEqual({ ok: true, count: 5, keyed: 2, unkeyed: 3 });
      // A process without the secret may not extend the keyed chain.
      const without = await openDatabase(legacy.target);
      try {
        await expect(
          createStores(without).audit.append(
            { environment: null, type: 'x', actor: 'system' },
            now + 11,
          ),
        ).rejects.toThrow(/the audit chain is keyed/);
      } finally {
        await without.close();
      }
    } finally {
      await old.close();
      await legacy.drop();
    }
  });

  it('keeps one keyed chain when two processes append at once', async () => {
    const other = await openDatabase(throwaway.target);
    try {
      const otherStores = createStores(other, { auditKeys: keys });
      await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          (i % 2 === 0 ? stores : otherStores).audit.append(
            { environment: null, type: 'test.event', actor: 'system', data: { i } },
            now + i,
          ),
        ),
      );
      expect(await stores.audit.verify()).toEqual({ ok: true, count: 132, keyed: 132, unkeyed: 0 });
    } finally {
      await other.close();
    }
  });
});
