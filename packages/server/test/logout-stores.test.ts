/**
 * The logout stores (session_clients, logout_deliveries) on SQLite and a real PostgreSQL server:
 * a session's clients taken exactly once, a delivery attempt claimed by exactly one of several
 * concurrent claimers, give-up and retry bookkeeping, and housekeeping's rules for both tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { LOGOUT_DELIVERY_RETENTION_MS } from '../src/storage/expired.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

describe.each(DATABASES)('logout stores on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  const now = 1_800_000_000_000;

  beforeAll(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle);
  });
  afterAll(async () => {
    await handle.close();
    await throwaway.drop();
  });

  const entry = (sid: string, clientId: string, userId = 'u1', expiresAt = now + 1000) => ({
    environment: 'development',
    sid,
    clientId,
    userId,
    expiresAt,
    createdAt: now,
  });

  it('session clients: recorded once per (session, client), taken once', async () => {
    await stores.sessionClients.record(entry('s1', 'a'));
    await stores.sessionClients.record(entry('s1', 'a'));
    await stores.sessionClients.record(entry('s1', 'b'));
    await stores.sessionClients.record(entry('s2', 'a'));
    expect(
      (await stores.sessionClients.forSession('development', 's1')).map((e) => e.clientId),
    ).toEqual(['a', 'b']);
    // Two processes ending the same session: each client goes to one of them.
    const [one, two] = await Promise.all([
      stores.sessionClients.takeForSession('development', 's1'),
      stores.sessionClients.takeForSession('development', 's1'),
    ]);
    expect([...one, ...two].map((e) => e.clientId).sort()).toEqual(['a', 'b']);
    expect(await stores.sessionClients.forSession('development', 's1')).toEqual([]);
    expect(await stores.sessionClients.forSession('development', 's2')).toEqual([entry('s2', 'a')]);
  });

  it('session clients: every session of a user taken; expired rows swept', async () => {
    await stores.sessionClients.record(entry('s3', 'a', 'u2'));
    await stores.sessionClients.record(entry('s4', 'b', 'u2'));
    await stores.sessionClients.record(entry('s5', 'a', 'u3', now - 1));
    const taken = await stores.sessionClients.takeForUser('development', 'u2');
    expect(taken.map((e) => e.sid).sort()).toEqual(['s3', 's4']);
    expect(await stores.expired.deleteExpired('session_clients', now, 100)).toBe(1);
    expect(await stores.sessionClients.forSession('development', 's5')).toEqual([]);
  });

  it('session clients: a later record or a session kept alive moves the expiry later, never earlier', async () => {
    await stores.sessionClients.record(entry('s6', 'a', 'u4', now + 1000));
    await stores.sessionClients.record(entry('s6', 'a', 'u4', now + 5000));
    await stores.sessionClients.record(entry('s6', 'a', 'u4', now + 2000));
    await stores.sessionClients.record(entry('s6', 'b', 'u4', now + 1000));
    await stores.sessionClients.extend('development', 's6', now + 3000);
    const expiries = (await stores.sessionClients.forSession('development', 's6')).map((e) => [
      e.clientId,
      e.expiresAt,
    ]);
    expect(expiries).toEqual([
      ['a', now + 5000],
      ['b', now + 3000],
    ]);
  });

  const delivery = (id: string) => ({
    id,
    environment: 'development',
    clientId: 'a',
    uri: 'https://rp.example.com/bcl',
    sub: 'u1',
    sid: 's1',
  });

  it('deliveries: due when their time has come; one claimer of many wins each attempt', async () => {
    await stores.logoutDeliveries.enqueue([delivery('d1'), delivery('d2')], now);
    expect((await stores.logoutDeliveries.due(now - 1, 10)).map((d) => d.id)).toEqual([]);
    const due = await stores.logoutDeliveries.due(now, 10);
    expect(due.map((d) => d.id).sort()).toEqual(['d1', 'd2']);
    const d1 = due.find((d) => d.id === 'd1');
    if (d1 === undefined) throw new Error('d1 not due');
    expect(d1).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: now, sid: 's1' });
    const claims = await Promise.all(
      [0, 1, 2, 3].map(() => stores.logoutDeliveries.claim(d1, now, now + 60_000)),
    );
    const won = claims.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ attempts: 1, nextAttemptAt: now + 60_000 });
    // Held by its lease: not due again until it ends.
    expect((await stores.logoutDeliveries.due(now + 1, 10)).map((d) => d.id)).toEqual(['d2']);
  });

  it('deliveries: a failed attempt is retried at its time or given up; delivered is final', async () => {
    await stores.logoutDeliveries.attemptFailed('d1', 'answered 503', now + 1, now + 500);
    expect(await stores.logoutDeliveries.get('d1')).toMatchObject({
      status: 'pending',
      nextAttemptAt: now + 500,
      lastError: 'answered 503',
    });
    await stores.logoutDeliveries.attemptFailed('d2', 'refused', now + 1, undefined);
    expect(await stores.logoutDeliveries.get('d2')).toMatchObject({ status: 'failed' });
    await stores.logoutDeliveries.delivered('d1', now + 600);
    // A slow attempt that lost its lease does not take a delivery back.
    await stores.logoutDeliveries.attemptFailed('d1', 'late', now + 700, now + 900);
    expect(await stores.logoutDeliveries.get('d1')).toMatchObject({
      status: 'delivered',
      lastError: null,
    });
    expect(await stores.logoutDeliveries.due(now + 10_000, 10)).toEqual([]);
    // Kept a week after they finish, then swept; a pending one stays.
    await stores.logoutDeliveries.enqueue([delivery('d3')], now);
    expect(
      await stores.expired.deleteExpired(
        'logout_deliveries',
        now + LOGOUT_DELIVERY_RETENTION_MS,
        100,
      ),
    ).toBe(0);
    expect(
      await stores.expired.deleteExpired(
        'logout_deliveries',
        now + 1000 + LOGOUT_DELIVERY_RETENTION_MS,
        100,
      ),
    ).toBe(2);
    expect((await stores.logoutDeliveries.list('development', 10)).map((d) => d.id)).toEqual([
      'd3',
    ]);
  });

  it('deliveries: an attempt that outlived its lease does not reschedule the attempt under way', async () => {
    await stores.logoutDeliveries.enqueue([{ ...delivery('lease-1'), environment: 'lease' }], now);
    const first = await stores.logoutDeliveries.get('lease-1');
    if (first === undefined) throw new Error('not queued');
    const one = await stores.logoutDeliveries.claim(first, now, now + 60_000);
    if (one === undefined) throw new Error('not claimed');
    expect(one.attempts).toBe(1);
    // The first process stalls past its lease; another claims the next attempt.
    const two = await stores.logoutDeliveries.claim(one, now + 60_001, now + 120_001);
    expect(two?.attempts).toBe(2);
    // The stalled attempt's failure arrives late: it would have made the delivery due again at
    // once, for a third process to POST while the second is still at it.
    await stores.logoutDeliveries.attemptFailed('lease-1', 'late', now + 60_002, now + 60_010, 1);
    expect(await stores.logoutDeliveries.get('lease-1')).toMatchObject({
      attempts: 2,
      nextAttemptAt: now + 120_001,
      lastError: null,
    });
    await stores.logoutDeliveries.attemptFailed(
      'lease-1',
      'answered 503',
      now + 60_003,
      now + 70_000,
      2,
    );
    expect(await stores.logoutDeliveries.get('lease-1')).toMatchObject({
      nextAttemptAt: now + 70_000,
      lastError: 'answered 503',
    });
  });

  it('deliveries: thousands queued at once (a user with that many sessions) fit every database’s parameter limit', async () => {
    const many = Array.from({ length: 6000 }, (_, i) => ({
      ...delivery(`many-${i}`),
      environment: 'many',
    }));
    await stores.logoutDeliveries.enqueue(many, now);
    expect(await stores.logoutDeliveries.list('many', 7000)).toHaveLength(6000);
  });

  it('deliveries: due at most a few per client, so one client’s backlog leaves room for the others', async () => {
    const of = (clientId: string, count: number, at: number) =>
      stores.logoutDeliveries.enqueue(
        Array.from({ length: count }, (_, i) => ({
          ...delivery(`${clientId}-${i}`),
          environment: 'fair',
          clientId,
        })),
        at,
      );
    // Due before anything the other tests left pending.
    await of('backlog', 40, now - 2000);
    await of('other', 2, now - 1000);
    const due = await stores.logoutDeliveries.due(now, 10, 3);
    expect(due.slice(0, 5).map((d) => d.clientId)).toEqual([
      'backlog',
      'backlog',
      'backlog',
      'other',
      'other',
    ]);
    // Without the cap, the backlog alone fills the run.
    expect(
      (await stores.logoutDeliveries.due(now, 10)).every((d) => d.clientId === 'backlog'),
    ).toBe(true);
  });
});
