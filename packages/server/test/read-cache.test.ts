/**
 * The read cache in front of environments, clients, users and resources (src/storage/read-cache.ts,
 * cached-stores.ts). A cache here is a security question: a disabled user, a removed redirect URI
 * or a rotated secret must stop working at once in this process, and within a second in every
 * other one. Each test first makes the cache hold the old state, then changes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForChanges } from '../src/storage/change-feed.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { cacheStores } from '../src/storage/cached-stores.js';
import { ReadCache } from '../src/storage/read-cache.js';
import { clientStore, type Client } from '../src/storage/clients.js';
import { environmentStore } from '../src/storage/environments.js';
import { resourceStore } from '../src/storage/resources.js';
import { sessionStore } from '../src/storage/sessions.js';
import { userStore } from '../src/storage/users.js';
import { withTransaction } from '../src/storage/transaction.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { within } from './support/processes.js';

const NOW = Date.UTC(2026, 10, 23);

function client(clientId: string, redirectUris: string[]): Client {
  return {
    clientId,
    environment: 'development',
    name: 'App',
    type: 'web',
    secretHash: 'hash',
    redirectUris,
    grantTypes: ['authorization_code'],
    skipConsent: false,
    redirectUriExpiries: {},
    managedBy: null,
    promotedFrom: null,
    kind: 'registered',
    metadata: {},
    registrationTokenHash: null,
    fetchedAt: null,
    allowedResources: null,
    exchangeAudiences: null,
    scopes: [],
    createdAt: NOW,
    updatedAt: NOW,
  };
}

describe('the cached stores', () => {
  it('wrap every write: a store method that is not a cached read invalidates', async () => {
    // A write added to one of these stores later and forgotten here would serve stale rows.
    const handle = await openDatabase({ kind: 'sqlite', file: ':memory:' });
    try {
      const plain = {
        environments: environmentStore(handle.db),
        clients: clientStore(handle.db),
        users: userStore(handle.db),
        resources: resourceStore(handle.db),
        sessions: sessionStore(handle.db),
      };
      const cached = cacheStores(plain, new ReadCache(), handle.db, handle.kind);
      const uncachedReads: Record<string, string[]> = {
        environments: ['list'],
        clients: ['list', 'count', 'listWithExpiringRedirectUris'],
        users: ['findByEmail', 'list', 'count'],
        resources: ['get'],
        sessions: [],
      };
      for (const [name, store] of Object.entries(plain) as [keyof typeof plain, object][]) {
        const original = store as Record<string, unknown>;
        const wrapped = cached[name] as unknown as Record<string, unknown>;
        const overridden = Object.keys(original).filter((m) => wrapped[m] !== original[m]);
        expect(overridden.sort(), name).toEqual(
          Object.keys(original)
            .filter((m) => !(uncachedReads[name] ?? []).includes(m))
            .sort(),
        );
      }
    } finally {
      await handle.close();
    }
  });
});

describe('ReadCache', () => {
  it('does not keep a load that overlapped an invalidation', async () => {
    const cache = new ReadCache(() => NOW);
    let release: (value: string) => void = () => undefined;
    const slow = cache.read(
      'clients:development',
      'a',
      () => new Promise<string>((r) => (release = r)),
    );
    cache.invalidate('clients:development');
    release('old');
    expect(await slow).toBe('old');
    // Not kept: the next read loads again.
    expect(await cache.read('clients:development', 'a', () => Promise.resolve('new'))).toBe('new');
    expect(await cache.read('clients:development', 'a', () => Promise.resolve('newer'))).toBe(
      'new',
    );
  });

  it('keeps an entry for less than a second, and drops everything on *', async () => {
    let now = NOW;
    const cache = new ReadCache(() => now);
    await cache.read('users:development', 'u', () => Promise.resolve('v1'));
    now += 999;
    expect(await cache.read('users:development', 'u', () => Promise.resolve('v2'))).toBe('v1');
    now += 1;
    expect(await cache.read('users:development', 'u', () => Promise.resolve('v2'))).toBe('v2');
    cache.invalidate('*');
    expect(await cache.read('users:development', 'u', () => Promise.resolve('v3'))).toBe('v3');
    // An unknown row is not kept: creating it needs no invalidation to be seen.
    const missing = await cache.read('users:development', 'x', () =>
      Promise.resolve<string | undefined>(undefined),
    );
    expect(missing).toBeUndefined();
    expect(await cache.read('users:development', 'x', () => Promise.resolve('made'))).toBe('made');
  });

  it('does not keep entries longer, nor skip the SQLite version check, when the clock steps back', async () => {
    let now = NOW;
    let version = 1;
    const cache = new ReadCache(
      () => now,
      () => version,
    );
    await cache.read('users:development', 'u', () => Promise.resolve('enabled'));
    now -= 60_000;
    expect(await cache.read('users:development', 'u', () => Promise.resolve('disabled'))).toBe(
      'disabled',
    );
    // Cached again at the earlier time; another process commits; the clock steps back again.
    version = 2;
    now -= 1;
    expect(await cache.read('users:development', 'u', () => Promise.resolve('deleted'))).toBe(
      'deleted',
    );
  });
});

describe.each(DATABASES)('the read cache on $kind', ({ kind, create }) => {
  let database: ThrowawayDatabase;
  let first: DatabaseHandle;
  let second: DatabaseHandle;
  let one: Stores;
  let other: Stores;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    database = await create();
    // Two handles on one database: two processes, each with its own cache.
    first = await openDatabase(database.target);
    second = await openDatabase(database.target);
    if (database.target.kind === 'postgres') {
      const feed = listenForChanges(database.target.url);
      first.cache?.follow(feed);
      await within(5_000, 'the change feed listens', () => Promise.resolve(feed.live));
      cleanups.push(() => feed.close());
    }
    one = createStores(first);
    other = createStores(second);
    await one.environments.create({ name: 'development', tier: 'development', createdAt: NOW });
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    await first.close();
    await second.close();
    await database.drop();
  });

  it(`(${kind}) sees its own writes at once`, async () => {
    await one.clients.create(client('c-own', ['https://a.example/cb']));
    expect((await one.clients.get('development', 'c-own'))?.redirectUris).toEqual([
      'https://a.example/cb',
    ]);
    await one.clients.update(
      'development',
      'c-own',
      { redirectUris: ['https://b.example/cb'] },
      NOW,
    );
    expect((await one.clients.get('development', 'c-own'))?.redirectUris).toEqual([
      'https://b.example/cb',
    ]);
    await one.clients.delete('development', 'c-own');
    expect(await one.clients.get('development', 'c-own')).toBeUndefined();
  });

  it(`(${kind}) sees another process's writes within a second`, async () => {
    await other.clients.create(client('c-other', ['https://a.example/cb']));
    await other.users.create({
      id: 'u-other',
      environment: 'development',
      email: 'u@example.com',
      name: null,
      passwordHash: null,
      disabled: false,
      createdAt: NOW,
      updatedAt: NOW,
    });
    // Cached in the first process...
    expect((await one.clients.get('development', 'c-other'))?.redirectUris).toHaveLength(1);
    expect((await one.users.get('development', 'u-other'))?.disabled).toBe(false);
    // ...then changed by the second.
    await other.clients.update('development', 'c-other', { redirectUris: [] }, NOW);
    await other.users.setDisabled('development', 'u-other', true, NOW);
    await other.resources.create({
      environment: 'development',
      uri: 'https://api.example',
      name: 'API',
      scopes: ['read'],
      createdAt: NOW,
    });
    await within(1_000, 'the change reaches the other process', async () => {
      const seen = {
        uris: (await one.clients.get('development', 'c-other'))?.redirectUris.length,
        disabled: (await one.users.get('development', 'u-other'))?.disabled,
        resources: (await one.resources.list('development')).length,
      };
      return { ok: seen.uris === 0 && seen.disabled === true && seen.resources === 1, seen };
    });
  });

  it(`(${kind}) the spa clients CORS preflights read follow another process's writes within a second`, async () => {
    const spaUris = async () =>
      (await one.clients.listOfType('development', 'spa')).flatMap((c) => c.redirectUris);
    expect(await spaUris()).toEqual([]); // cached empty in the first process
    await other.clients.create({
      ...client('c-spa', ['https://spa.example/cb']),
      type: 'spa',
      secretHash: null,
    });
    await within(1_000, 'a new spa client reaches the other process', async () => {
      const seen = await spaUris();
      return { ok: seen.includes('https://spa.example/cb'), seen };
    });
    await other.clients.update(
      'development',
      'c-spa',
      { redirectUris: ['https://moved.example/cb'] },
      NOW,
    );
    await within(1_000, 'its changed origin reaches the other process', async () => {
      const seen = await spaUris();
      return { ok: seen.length === 1 && seen[0] === 'https://moved.example/cb', seen };
    });
  });

  it(`(${kind}) a session ends everywhere: signed out elsewhere, or past its expiry`, async () => {
    await other.users.create({
      id: 'u-session',
      environment: 'development',
      email: 'session@example.com',
      name: null,
      passwordHash: null,
      disabled: false,
      createdAt: NOW,
      updatedAt: NOW,
    });
    const session = {
      idHash: 'session-1',
      environment: 'development',
      userId: 'u-session',
      sid: 's-1',
      authTime: NOW,
      expiresAt: NOW + 60_000,
      createdAt: NOW,
    };
    await other.sessions.create(session);
    await within(
      1_000,
      'the new session is seen',
      async () => (await one.sessions.find('development', 'session-1', NOW)) !== undefined,
    );
    // Cached now; the expiry is checked against each call's time, not the time it was read.
    expect(await one.sessions.find('development', 'session-1', NOW + 60_000)).toBeUndefined();
    await other.sessions.delete('development', 'session-1');
    await within(
      1_000,
      'the sign-out reaches the other process',
      async () => (await one.sessions.find('development', 'session-1', NOW)) === undefined,
    );
    await one.sessions.create({ ...session, idHash: 'session-2' });
    expect(await one.sessions.find('development', 'session-2', NOW)).toBeDefined();
    await other.sessions.deleteForUser('development', 'u-session');
    await within(
      1_000,
      "ending a user's sessions reaches the other process",
      async () => (await one.sessions.find('development', 'session-2', NOW)) === undefined,
    );
  });

  it(`(${kind}) a transaction's writes are seen once it commits, and not if it rolls back`, async () => {
    await one.clients.create(client('c-trx', ['https://a.example/cb']));
    expect((await one.clients.get('development', 'c-trx'))?.name).toBe('App');
    await expect(
      withTransaction(first, async (stores) => {
        await stores.clients.update('development', 'c-trx', { name: 'Rolled back' }, NOW);
        // Inside the transaction the change is visible; outside it is not yet.
        expect((await stores.clients.get('development', 'c-trx'))?.name).toBe('Rolled back');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await one.clients.get('development', 'c-trx'))?.name).toBe('App');
    await withTransaction(first, async (stores) => {
      await stores.clients.update('development', 'c-trx', { name: 'Committed' }, NOW);
    });
    expect((await one.clients.get('development', 'c-trx'))?.name).toBe('Committed');
  });
});
