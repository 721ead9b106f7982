/**
 * Issue #15: client_credentials tokens cost no write of their own, yet the audit log accounts for
 * every one. A durable `token.jti_block_reserved` entry comes before any jti of its block; the
 * block is closed with the count it used (exhausted, aged out, or at shutdown), and
 * `accountForJti` answers from those entries whether a given jti was issued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JtiBlocks,
  JTI_BLOCK_CLOSED,
  JTI_BLOCK_RESERVED,
  parseBlockJti,
  type JtiBlockKey,
  type JtiBlockLimits,
} from '../src/services/jti-blocks.js';
import { accountForJti } from '../src/services/token-audit.js';
import type { AuditStore } from '../src/storage/audit.js';
import { auditKeys } from '../src/crypto/audit-keys.js';
import { syncCommitsWith } from '../src/storage/commit-sync.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { within } from './support/processes.js';

const SECRET = 'jti-blocks-test-secret-0123456789abcdef';

describe.each(DATABASES)('jti blocks on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  let now = 1_800_000_000_000;
  const clock = () => now;
  let n = 0;
  /** A key of its own for each test, so their blocks never meet. */
  const newKey = (scope: string[] = ['read']): JtiBlockKey => ({
    environment: 'development',
    clientId: `client-${++n}`,
    scope,
    resource: null,
  });
  const blocksWith = (limits: Partial<JtiBlockLimits> = {}) =>
    new JtiBlocks(stores.audit, clock, { minSize: 4, maxSize: 16, maxAgeMs: 60_000, ...limits });
  const entriesOf = async (clientId: string) =>
    (await stores.audit.tail({ clientId, limit: 10_000 })).map((e) => ({
      seq: e.seq,
      type: e.type,
      data: e.data,
    }));
  const count = async () => (await stores.audit.head()).seq;

  beforeAll(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle, { auditKeys: auditKeys(SECRET) });
    await stores.environments.create({ name: 'development', tier: 'development', createdAt: now });
  });
  afterAll(async () => {
    expect(await stores.audit.verify()).toMatchObject({ ok: true });
    await handle.close();
    await throwaway.drop();
  });

  it('reserves a block in the audit log before its first jti, then hands out the rest with no write', async () => {
    const blocks = blocksWith({ minSize: 16 });
    const key = newKey(['write', 'read']);
    const first = await blocks.next(key);
    const parsed = parseBlockJti(first);
    expect(parsed).toMatchObject({ n: 0 });
    const [reservation, ...others] = await entriesOf(key.clientId);
    expect(others).toEqual([]);
    expect(reservation).toMatchObject({
      type: JTI_BLOCK_RESERVED,
      data: {
        clientId: key.clientId,
        block: parsed?.block,
        size: 16,
        // The scope as a set, in one order whatever the request's.
        scope: 'read write',
        resource: null,
        grantType: 'client_credentials',
      },
    });
    const written = await count();
    const rest = [
      await blocks.next(key),
      await blocks.next({ ...key, scope: ['read', 'write'] }),
      await blocks.next(key),
    ];
    expect(rest).toEqual([1, 2, 3].map((i) => `${parsed?.block}.${i.toString(36)}`));
    expect(await count()).toBe(written);
    await blocks.close();
  });

  it('makes one reservation for concurrent requests, and grows the blocks of a busy key', async () => {
    const blocks = blocksWith();
    const key = newKey();
    const jtis = await Promise.all(Array.from({ length: 20 }, () => blocks.next(key)));
    expect(new Set(jtis).size).toBe(20);
    await blocks.close();
    const entries = await entriesOf(key.clientId);
    const reserved = entries.filter((e) => e.type === JTI_BLOCK_RESERVED);
    const used = new Map(
      entries.filter((e) => e.type === JTI_BLOCK_CLOSED).map((e) => [e.data.block, e.data.used]),
    );
    // 4 + 8 + 8 of 16; the fourth block was reserved ahead once the third was half used.
    expect(reserved.map((e) => [e.data.size, used.get(e.data.block)])).toEqual([
      [4, 4],
      [8, 8],
      [16, 8],
      [16, 0],
    ]);
    // Every jti is in a block reserved before it, within the count its block used.
    for (const jti of jtis) expect((await accountForJti(stores.audit, jti)).status).toBe('issued');
  });

  it('never makes two reservations at once for a key, however many requests wait', async () => {
    let inFlight = 0;
    let most = 0;
    const counting: AuditStore = {
      ...stores.audit,
      async append(event, at, rows) {
        const reservation = event.type === JTI_BLOCK_RESERVED;
        if (reservation) most = Math.max(most, ++inFlight);
        try {
          return await stores.audit.append(event, at, rows);
        } finally {
          if (reservation) inFlight--;
        }
      },
    };
    const blocks = new JtiBlocks(counting, clock, { minSize: 4, maxSize: 4, maxAgeMs: 60_000 });
    const key = newKey();
    const jtis = await Promise.all(Array.from({ length: 40 }, () => blocks.next(key)));
    expect(new Set(jtis).size).toBe(40);
    await blocks.close();
    expect(most).toBe(1);
    const entries = await entriesOf(key.clientId);
    const reserved = entries.filter((e) => e.type === JTI_BLOCK_RESERVED);
    const closed = entries.filter((e) => e.type === JTI_BLOCK_CLOSED);
    // Every block reserved is closed, and together they account for exactly the 40.
    expect(closed.map((e) => e.data.block).sort()).toEqual(
      reserved.map((e) => e.data.block).sort(),
    );
    expect(closed.reduce((sum, e) => sum + Number(e.data.used), 0)).toBe(40);
  });

  it('reserves the next block ahead, so a busy key does not wait for a reservation', async () => {
    let held = false;
    let release = (): void => undefined;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gated: AuditStore = {
      ...stores.audit,
      async append(event, at, rows) {
        if (held && event.type === JTI_BLOCK_RESERVED) await hold;
        return stores.audit.append(event, at, rows);
      },
    };
    const blocks = new JtiBlocks(gated, clock, { minSize: 4, maxSize: 8, maxAgeMs: 60_000 });
    const key = newKey();
    await blocks.next(key);
    await blocks.next(key);
    // Half used: the next block's reservation is under way; once durable, reservations stall.
    await within(2_000, 'the block ahead is reserved', async () =>
      Promise.resolve(
        (await entriesOf(key.clientId)).filter((e) => e.type === JTI_BLOCK_RESERVED).length === 2,
      ),
    );
    held = true;
    // Two more from the first block, then the second block's eight: none waits on the stalled
    // reservation (the one made ahead of the second block is held until the end).
    const jtis = [];
    for (let i = 0; i < 10; i++) jtis.push(await blocks.next(key));
    expect(new Set(jtis.map((jti) => parseBlockJti(jti)?.block)).size).toBe(2);
    release();
    await blocks.close();
  });

  it('closes a block open longer than the limit, and starts the key over at the size it needed', async () => {
    const blocks = blocksWith({ minSize: 4, maxSize: 64, maxAgeMs: 60_000 });
    const key = newKey();
    // Busy: 4, 8, 16, then 3 of 32.
    for (let i = 0; i < 31; i++) await blocks.next(key);
    now += 60_000;
    const after = await blocks.next(key);
    await blocks.close();
    const entries = await entriesOf(key.clientId);
    const reserved = entries.filter((e) => e.type === JTI_BLOCK_RESERVED);
    expect(reserved.map((e) => e.data.size)).toEqual([4, 8, 16, 32, 4]);
    expect(entries.filter((e) => e.type === JTI_BLOCK_CLOSED).map((e) => e.data.used)).toEqual([
      4, 8, 16, 3, 1,
    ]);
    expect(parseBlockJti(after)).toEqual({ block: reserved[4]?.data.block, n: 0 });
  });

  it("closes a client's least recently used key when it opens one too many, and no other client's", async () => {
    const blocks = blocksWith({ maxKeysPerClient: 3 });
    const other = newKey();
    const otherJti = await blocks.next(other);
    const key = newKey();
    const resources = ['https://a.example', 'https://b.example', 'https://c.example'];
    const jtis = [];
    for (const resource of resources) jtis.push(await blocks.next({ ...key, resource }));
    // Used again: b and c are now the oldest.
    jtis.push(await blocks.next({ ...key, resource: 'https://a.example' }));
    // Two keys too many: b's and c's blocks are closed, with the one jti each used.
    for (const resource of ['https://d.example', 'https://e.example'])
      jtis.push(await blocks.next({ ...key, resource }));
    const closedNow = async () =>
      (await entriesOf(key.clientId))
        .filter((e) => e.type === JTI_BLOCK_CLOSED)
        .map((e) => [e.data.block, e.data.used]);
    await within(2_000, 'the pushed-out keys are closed', async () =>
      Promise.resolve((await closedNow()).length === 2),
    );
    expect(await closedNow()).toEqual([
      [parseBlockJti(jtis[1] ?? '')?.block, 1],
      [parseBlockJti(jtis[2] ?? '')?.block, 1],
    ]);
    // A pushed-out key asked for again starts a new block; the kept one continues its own.
    const again = await blocks.next({ ...key, resource: 'https://b.example' });
    expect(parseBlockJti(again)?.block).not.toBe(parseBlockJti(jtis[1] ?? '')?.block);
    expect(parseBlockJti(await blocks.next({ ...key, resource: 'https://e.example' }))).toEqual({
      block: parseBlockJti(jtis[5] ?? '')?.block,
      n: 1,
    });
    await blocks.close();
    for (const jti of [...jtis, again, otherJti])
      expect((await accountForJti(stores.audit, jti)).status).toBe('issued');
    expect((await entriesOf(other.clientId)).map((e) => [e.type, e.data.used])).toEqual([
      [JTI_BLOCK_RESERVED, undefined],
      [JTI_BLOCK_CLOSED, 1],
    ]);
  });

  it('closes every open block when stopped, and hands out nothing after', async () => {
    const blocks = blocksWith({ minSize: 16 });
    const a = newKey();
    const b = newKey();
    await blocks.next(a);
    await blocks.next(b);
    await blocks.next(b);
    await blocks.close();
    for (const [key, used] of [
      [a, 1],
      [b, 2],
    ] as const)
      expect((await entriesOf(key.clientId)).map((e) => [e.type, e.data.used])).toEqual([
        [JTI_BLOCK_RESERVED, undefined],
        [JTI_BLOCK_CLOSED, used],
      ]);
    await expect(blocks.next(a)).rejects.toThrow('closed');
  });

  it('accounts for a jti: issued, not issued, may have been (never closed), unknown', async () => {
    const stopped = blocksWith({ minSize: 8, maxSize: 8 });
    const closedKey = newKey();
    const [j0, j1] = [await stopped.next(closedKey), await stopped.next(closedKey)] as const;
    const block = parseBlockJti(j0)?.block ?? '';
    await stopped.close();
    const [reserved, closing] = await entriesOf(closedKey.clientId);
    // A crash: this one's block is never closed.
    const crashed = blocksWith({ minSize: 8, maxSize: 8 });
    const open = await crashed.next(newKey());
    expect(await accountForJti(stores.audit, j1)).toMatchObject({
      status: 'issued',
      block,
      n: 1,
      reservedBy: { seq: reserved?.seq },
      closedBy: { seq: closing?.seq, data: { used: 2 } },
    });
    expect(await accountForJti(stores.audit, `${block}.2`)).toMatchObject({
      status: 'not_issued',
      n: 2,
    });
    expect(await accountForJti(stores.audit, `${block}.8`)).toMatchObject({ status: 'not_issued' });
    const openBlock = parseBlockJti(open)?.block ?? '';
    expect(await accountForJti(stores.audit, `${openBlock}.7`)).toMatchObject({
      status: 'maybe',
      n: 7,
    });
    expect(await accountForJti(stores.audit, 'AAAAAAAAAAAAAAAAAAAAAA.0')).toEqual({
      status: 'unknown',
    });
    // In another environment, nothing.
    expect(await accountForJti(stores.audit, j0, 'production')).toEqual({
      status: 'unknown',
    });
    // A user grant's token: the grant's own entry names it. LIKE's wildcards are literal.
    const grant = await stores.audit.append(
      {
        environment: 'development',
        type: 'token.issued',
        actor: 'user:u1',
        data: { jti: '3f1c_a%b-uuid', refresh: false, scope: 'openid' },
      },
      now,
    );
    expect(await accountForJti(stores.audit, '3f1c_a%b-uuid')).toMatchObject({
      status: 'issued',
      by: { seq: grant.seq, type: 'token.issued' },
    });
    expect(await accountForJti(stores.audit, '3f1cXaYb-uuid')).toEqual({ status: 'unknown' });
    expect(await accountForJti(stores.audit, '3f1c_a%b')).toEqual({ status: 'unknown' });
  });

  it('calls no forged, non-canonical jti issued: leading zeros name no jti it handed out', async () => {
    const blocks = blocksWith({ minSize: 8, maxSize: 8 });
    const key = newKey();
    const handedOut = [await blocks.next(key), await blocks.next(key)];
    await blocks.close();
    const block = parseBlockJti(handedOut[0] ?? '')?.block ?? '';
    expect(handedOut).toEqual([`${block}.0`, `${block}.1`]);
    for (const jti of handedOut)
      expect(await accountForJti(stores.audit, jti)).toMatchObject({ status: 'issued' });
    // The same numbers written otherwise: never a jti of this server, whatever they parse to.
    for (const forged of ['00', '01', '000000000', '0001', '1 ', '+1', '-0', '0x1', 'A'])
      expect(await accountForJti(stores.audit, `${block}.${forged}`)).toEqual({
        status: 'unknown',
      });
  });
});

describe('a jti block reservation on SQLite', () => {
  it('is on disk (the WAL synced) before its first jti is handed out', async () => {
    const throwaway = await DATABASES[0].create();
    const handle = await openDatabase(throwaway.target);
    try {
      const stores = createStores(handle, {});
      await stores.environments.create({ name: 'development', tier: 'development', createdAt: 1 });
      // In place of the fdatasync openDatabase registers: one the test releases by hand.
      const syncs: (() => void)[] = [];
      syncCommitsWith(
        handle.db,
        () =>
          new Promise<void>((resolve) => {
            syncs.push(resolve);
          }),
      );
      const blocks = new JtiBlocks(stores.audit, () => 1);
      let handedOut: string | undefined;
      const next = blocks.next({
        environment: 'development',
        clientId: 'c1',
        scope: [],
        resource: null,
      });
      void next.then((jti) => {
        handedOut = jti;
      });
      await within(2_000, 'the reservation commits and asks for a sync', () =>
        Promise.resolve(syncs.length === 1),
      );
      expect(await stores.audit.tail({ type: JTI_BLOCK_RESERVED })).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(handedOut).toBeUndefined();
      syncs[0]?.();
      expect(parseBlockJti(await next)?.n).toBe(0);
      const closing = blocks.close();
      await within(2_000, 'the closing entry asks for a sync', () =>
        Promise.resolve(syncs.length === 2),
      );
      syncs[1]?.();
      await closing;
    } finally {
      await handle.close();
      await throwaway.drop();
    }
  });
});
