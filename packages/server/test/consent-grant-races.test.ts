/**
 * A consent is recorded as the union of what the user allowed the client before and what this
 * consent page allowed (storage/consents.ts grant; incremental authorization). The union is read
 * and written in one locked transaction. Read first and written later, a revocation landing in
 * between (the account page's "Revoke", an operator's) was undone: the upsert wrote back the
 * scopes the user had just revoked, which this consent page never showed, and the next request
 * for them was answered without asking. On SQLite and PostgreSQL, with the server's own stores
 * (a keyed audit chain).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stores } from '../src/storage/index.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const ENV = 'development';

describe.each(DATABASES)('recording a consent racing a revocation, on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let stores: Stores;
  let userId: string;
  let clientId: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    stores = t.server.stores;
    userId = await t.user('ada@example.com', 'correct horse battery');
    ({ clientId } = await t.client({
      type: 'web',
      name: 'Reports',
      redirectUris: ['https://app.example.com/cb'],
    }));
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const grant = (scopes: string[]) => {
    const at = Date.now();
    return stores.consents.grant(
      { environment: ENV, userId, clientId, scopes, at },
      {
        at,
        event: {
          environment: ENV,
          type: 'consent.granted',
          actor: `user:${userId}`,
          userId,
          data: { clientId, scope: scopes.join(' ') },
        },
      },
    );
  };

  it('never brings back what a revocation made meanwhile took away', async () => {
    for (let round = 0; round < 5; round++) {
      await grant(['openid', 'admin']);
      // The user allows one more scope on a consent page while revoking the client elsewhere.
      await Promise.all([
        grant(['openid', 'write']),
        stores.consents.revoke(ENV, userId, clientId),
      ]);
      const after = await stores.consents.get(ENV, userId, clientId);
      // Either order is fine (nothing, or only what the page showed): never the revoked `admin`.
      expect(after ?? []).not.toContain('admin');
      await stores.consents.revoke(ENV, userId, clientId);
    }
  });

  it('keeps what concurrent consents add, and the audit chain intact', async () => {
    await stores.consents.revoke(ENV, userId, clientId);
    const before = await stores.audit.verify();
    const scopes = Array.from({ length: 8 }, (_, i) => `scope${i}`);
    await Promise.all(scopes.map((s) => grant([s])));
    expect(await stores.consents.get(ENV, userId, clientId)).toEqual(scopes);
    // Each grant's entry is chained and MACed under the server's key like any other.
    const after = await stores.audit.verify();
    if (!before.ok || !after.ok) throw new Error('the audit chain does not verify');
    expect(after.keyed).toBe(before.keyed + scopes.length);
  });
});
