/**
 * The pushed-request store (RFC 9126) on both databases: a request_uri is taken once, only by the
 * client that pushed it, only in its environment and lifetime; of concurrent uses exactly one wins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

const now = 1_800_000_000_000;
const params = { response_type: 'code', redirect_uri: 'https://app.example.com/cb', state: 's' };

describe.each(DATABASES)('pushed authorization requests on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;

  beforeAll(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle);
  });
  afterAll(async () => {
    await handle.close();
    await throwaway.drop();
  });

  const save = (hash: string, clientId = 'c1', environment = 'development') =>
    stores.pushedRequests.save(environment, hash, clientId, params, now + 90_000, now);

  it('is taken once, with the parameters pushed', async () => {
    await save('h-once');
    expect(await stores.pushedRequests.take('development', 'h-once', 'c1', now + 1)).toEqual(
      params,
    );
    expect(
      await stores.pushedRequests.take('development', 'h-once', 'c1', now + 2),
    ).toBeUndefined();
  });

  it("is not another client's or another environment's, and their attempts leave it usable", async () => {
    await save('h-bound');
    expect(await stores.pushedRequests.take('development', 'h-bound', 'c2', now)).toBeUndefined();
    expect(await stores.pushedRequests.take('staging', 'h-bound', 'c1', now)).toBeUndefined();
    expect(await stores.pushedRequests.take('development', 'h-bound', 'c1', now)).toEqual(params);
  });

  it('is refused once expired, and housekeeping removes it', async () => {
    await save('h-expired');
    expect(
      await stores.pushedRequests.take('development', 'h-expired', 'c1', now + 90_000),
    ).toBeUndefined();
    const removed = await stores.expired.removeExpired(now + 90_000);
    expect(removed.pushed_authorization_requests).toBeGreaterThanOrEqual(1);
  });

  it('of 20 concurrent uses exactly one gets it', async () => {
    await save('h-race');
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        stores.pushedRequests.take('development', 'h-race', 'c1', now + 1),
      ),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });
});
