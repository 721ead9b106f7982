/**
 * The `user_client` revocation event (issue #17: a user revoked an application or agent on their
 * Gatehouse account page): it covers every token whose `sub` and `client_id`, joined by a space,
 * are its key, issued up to `issued_before`; nothing else. Played over real HTTP
 * (support/revocation-server), as the feed follower's other tests.
 */
import type { JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RevocationFeed } from '../src/revocation-feed.js';
import { RevocationServer } from './support/revocation-server.js';

let as: RevocationServer;
const opened: RevocationFeed[] = [];

beforeAll(async () => {
  as = await RevocationServer.start();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((feed) => feed.close()));
  as.events = [];
});
afterAll(async () => {
  await as.close();
});

function follow(): RevocationFeed {
  const feed = RevocationFeed.start({
    issuer: as.issuer,
    feedUrl: as.feedUrl,
    credentials: { clientId: as.clientId, clientSecret: as.clientSecret },
    pollIntervalMs: 10,
    maxStalenessMs: 30_000,
    timeoutMs: 5_000,
    keepAfterExpiryMs: 0,
    clock: Date.now,
  });
  opened.push(feed);
  return feed;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('a user_client event', () => {
  it('covers the tokens of that user at that client issued up to issued_before, and only those', async () => {
    const t = nowSeconds();
    as.revoke('user_client', 'usr_ada https://agent.example/client.json', t);
    const feed = follow();
    await feed.nextSync();
    expect(feed.status().events).toBe(1);
    const ada = { sub: 'usr_ada', client_id: 'https://agent.example/client.json', jti: 'j' };
    const cases: [JWTPayload, boolean][] = [
      [{ ...ada, iat: t }, true], // the same second: refused (fail safe)
      [{ ...ada, iat: t - 100 }, true],
      [{ ...ada }, true], // no iat: any event on its claims covers it
      [{ ...ada, iat: t + 1 }, false], // a new sign-in after the revocation
      // The same user at another client, another user at the same client: untouched.
      [{ ...ada, client_id: 'cl_other', iat: t }, false],
      [{ ...ada, sub: 'usr_bob', iat: t }, false],
      // Neither claim alone is the key (no user or client event was written).
      [{ jti: 'j', sub: 'usr_ada', iat: t }, false],
      [{ jti: 'j', client_id: 'https://agent.example/client.json', iat: t }, false],
      // A pair claim that is not a string cannot be looked up: refused, fail closed.
      [{ ...ada, client_id: 7, iat: t }, true],
    ];
    for (const [claims, revoked] of cases)
      expect([claims, feed.isRevoked(claims)]).toStrictEqual([claims, revoked]);
  });

  it('a key with the pair in the other order, or without the space, covers nothing', async () => {
    const t = nowSeconds();
    as.revoke('user_client', 'cl_app usr_ada', t);
    as.revoke('user_client', 'usr_adacl_app', t);
    const feed = follow();
    await feed.nextSync();
    expect(feed.isRevoked({ sub: 'usr_ada', client_id: 'cl_app', iat: t })).toBe(false);
  });
});
