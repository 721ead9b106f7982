/**
 * A parked authorization request gains facts while it waits (the sign-in made on its login page,
 * authorization/parked.ts recordSignInFor). The update reads the JSON parameters and writes them
 * back in one transaction, which must take the write lock first:
 *
 * - SQLite: a transaction that has read and then writes gets SQLITE_BUSY at once when another
 *   connection holds the write lock (the busy timeout does not apply to a lock upgrade). The
 *   server's own WAL checkpointer thread holds it during a TRUNCATE checkpoint, so under load a
 *   sign-in now and then answered 500 ("database is locked") on the way to the consent page.
 * - PostgreSQL: two updates that both read before either writes lose one's facts.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import type { PendingAuthorization } from '../src/storage/authorization-requests.js';
import { DATABASES, throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';

const NOW = 1_800_000_000_000;
const PENDING: PendingAuthorization = {
  clientId: 'ghc_development_parked',
  redirectUri: 'http://127.0.0.1/callback',
  scope: ['openid'],
  state: 's',
  codeChallenge: 'c'.repeat(43),
  nonce: null,
  prompt: [],
  maxAge: null,
  loginHint: null,
  resource: null,
};

async function open(
  database: ThrowawayDatabase,
): Promise<{ handle: DatabaseHandle; stores: Stores }> {
  const handle = await openDatabase(database.target);
  const stores = createStores(handle);
  await stores.environments.create({ name: 'development', tier: 'development', createdAt: NOW });
  return { handle, stores };
}

/**
 * Another connection (in another process, as the checkpointer's is on another thread) holds the
 * SQLite write lock for a while and then lets go. Resolves once it holds it.
 */
function holdWriteLock(file: string, holdMs: number): Promise<{ done: Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const Database = require('better-sqlite3');
       const db = new Database(${JSON.stringify(file)});
       db.exec('BEGIN IMMEDIATE');
       process.stdout.write('locked\\n');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs});
       db.exec('COMMIT');
       db.close();`,
    ],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const done = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`lock holder exited ${String(code)}`));
    });
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', () => {
      resolve({ done });
    });
  });
}

describe('a parked request updated while another connection writes (SQLite)', () => {
  let database: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;

  beforeAll(async () => {
    database = await throwawaySqlite();
    ({ handle, stores } = await open(database));
  });
  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  it('waits for the write lock instead of failing with SQLITE_BUSY, and records the fact', async () => {
    await stores.authorizationRequests.save('development', 'parked-1', PENDING, NOW + 600_000, NOW);
    if (database.target.kind !== 'sqlite') throw new Error('expected SQLite');
    // Held long enough that the update surely starts while it is held, well within the 5 s
    // busy timeout the update may wait.
    const holder = await holdWriteLock(database.target.file, 1500);
    await stores.authorizationRequests.update('development', 'parked-1', NOW + 1, {
      signedInAt: NOW + 1,
    });
    await holder.done;
    expect(await stores.authorizationRequests.find('development', 'parked-1', NOW + 2)).toEqual({
      ...PENDING,
      signedInAt: NOW + 1,
    });
  });
});

describe.each(DATABASES)('concurrent updates of one parked request on $kind', ({ create }) => {
  let database: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;

  beforeAll(async () => {
    database = await create();
    ({ handle, stores } = await open(database));
  });
  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  it('keeps every fact: no update overwrites another made meanwhile', async () => {
    await stores.authorizationRequests.save('development', 'parked-2', PENDING, NOW + 600_000, NOW);
    const facts = Array.from({ length: 10 }, (_, i) => ({ [`fact${i}`]: i }));
    await Promise.all(
      facts.map((fact) =>
        stores.authorizationRequests.update('development', 'parked-2', NOW + 1, fact),
      ),
    );
    expect(await stores.authorizationRequests.find('development', 'parked-2', NOW + 2)).toEqual(
      Object.assign({ ...PENDING }, ...facts),
    );
  });
});
