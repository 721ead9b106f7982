/**
 * The revocation feed follower, against a feed played over real HTTP (support/revocation-server):
 * credentials, cursor paging, the matching rule, pruning at expires_at, back-off, staleness
 * (fail closed and fail open), and that the secret never shows in an error. Time is the
 * follower's injected clock wherever an assertion depends on it; real timers only pace the reads.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import Fastify from 'fastify';
import type { JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createResourceServer, type ResourceServer } from '../src/index.js';
import { basicAuthorization } from '../src/client-credentials.js';
import { protectedResource } from '../src/fastify.js';
import { requireBearer } from '../src/node.js';
import { RevocationFeed, retryDelayMs } from '../src/revocation-feed.js';
import { deadUrl } from './support/key-server.js';
import { decodeBasic, RevocationServer } from './support/revocation-server.js';

const RESOURCE = 'https://api.example.test/notes';

/** Waits (on real time) until `condition` holds; the assertion is the condition, not the time. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

function bearer(token: string) {
  return { authorization: [`Bearer ${token}`] };
}

let as: RevocationServer;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  as = await RevocationServer.start();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
  as.release();
  as.events = [];
  as.pageLimit = 1000;
  as.feedStatus = 200;
  as.feedError = 'server_error';
  as.feedBody = undefined;
  as.feedRequests.length = 0;
  as.maxInFlight = 0;
});
afterAll(async () => {
  await as.close();
});

function follow(
  options: { clock?: () => number; pollIntervalMs?: number; feedUrl?: string } = {},
): RevocationFeed {
  const feed = RevocationFeed.start({
    issuer: as.issuer,
    feedUrl: options.feedUrl ?? as.feedUrl,
    credentials: { clientId: as.clientId, clientSecret: as.clientSecret },
    pollIntervalMs: options.pollIntervalMs ?? 10,
    maxStalenessMs: 30_000,
    timeoutMs: 5_000,
    keepAfterExpiryMs: 0,
    clock: options.clock ?? Date.now,
  });
  opened.push(feed);
  return feed;
}

function server(options: {
  clock?: () => number;
  onStale?: 'fail-closed' | 'fail-open';
  maxStalenessMs?: number;
  feedUrl?: string;
  clockToleranceSeconds?: number;
}): ResourceServer {
  const rs = createResourceServer({
    resource: RESOURCE,
    issuer: as.issuer,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.clockToleranceSeconds === undefined
      ? {}
      : { clockToleranceSeconds: options.clockToleranceSeconds }),
    revocation: {
      clientId: as.clientId,
      clientSecret: as.clientSecret,
      pollIntervalMs: 10,
      ...(options.maxStalenessMs === undefined ? {} : { maxStalenessMs: options.maxStalenessMs }),
      ...(options.onStale === undefined ? {} : { onStale: options.onStale }),
      ...(options.feedUrl === undefined ? {} : { feedUrl: options.feedUrl }),
    },
  });
  opened.push(rs);
  return rs;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('client credentials', () => {
  it('form-urlencodes the id and the secret before base64 (RFC 6749 §2.3.1)', async () => {
    const feed = follow();
    await feed.nextSync();
    const header = as.feedRequests[0]?.authorization ?? '';
    // What the server decodes is exactly what was configured, `:`, `+`, `%` and non-ASCII included.
    expect(decodeBasic(header)).toStrictEqual({ id: as.clientId, secret: as.clientSecret });
    const raw = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    expect(raw).toBe('resource%3Aclient+%C3%A9%2B1:s%C3%ABcret%3Awith+%252F+and+%2B+and+spaces');
    expect(header).toBe(
      basicAuthorization({ clientId: as.clientId, clientSecret: as.clientSecret }),
    );
  });
});

describe('following the feed', () => {
  it('starts from cursor 0 and follows next while more is true, then polls from the cursor', async () => {
    const now = nowSeconds();
    for (let i = 0; i < 25; i++) as.revoke('token', `jti-${i}`, now);
    as.pageLimit = 10;
    const feed = follow();
    await feed.nextSync();
    expect(as.feedRequests.slice(0, 3).map((request) => request.after)).toStrictEqual([
      '0',
      '10',
      '20',
    ]);
    expect(feed.status()).toMatchObject({ synced: true, cursor: 25, events: 25, failures: 0 });
    as.revoke('grant', 'grant-late', now);
    await feed.nextSync();
    expect(as.feedRequests.some((request) => request.after === '25')).toBe(true);
    expect(feed.status()).toMatchObject({ cursor: 26, events: 26 });
    expect(feed.isRevoked({ grant_id: 'grant-late', iat: now })).toBe(true);
    expect(feed.isRevoked({ jti: 'jti-24', iat: now })).toBe(true);
  });

  it('matches each kind to its claim, for tokens issued up to issued_before', async () => {
    const t = nowSeconds();
    as.revoke('token', 'the-jti', t);
    as.revoke('grant', 'the-grant', t);
    as.revoke('user', 'the-user', t);
    as.revoke('client', 'the-client', t);
    as.revoke('impersonation', 'the-impersonation', t);
    as.revoke('future-kind', 'the-jti-2', t); // unknown to this version: ignored
    const feed = follow();
    await feed.nextSync();
    const base: JWTPayload = { jti: 'x', sub: 'u', client_id: 'c' };
    const cases: [JWTPayload, boolean][] = [
      [{ ...base, jti: 'the-jti', iat: t }, true], // the same second: refused (fail safe)
      [{ ...base, jti: 'the-jti', iat: t - 100 }, true],
      // A jti names one token: refused whatever its iat (its signer's clock may be ahead).
      [{ ...base, jti: 'the-jti', iat: t + 100 }, true],
      [{ ...base, grant_id: 'the-grant', iat: t + 1 }, false], // issued after the revocation
      [{ ...base, grant_id: 'the-grant', iat: t }, true],
      [{ ...base, sub: 'the-user', iat: t }, true],
      [{ ...base, client_id: 'the-client', iat: t }, true],
      [{ ...base, impersonation_id: 'the-impersonation', iat: t }, true],
      [{ ...base, impersonation_id: 'the-impersonation', iat: t + 1 }, false],
      // A key matches only its own kind's claim.
      [{ ...base, sub: 'the-jti', grant_id: 'the-user', iat: t }, false],
      [{ ...base, jti: 'the-jti-2', iat: t }, false],
      // No iat: any event on its claims covers it.
      [{ ...base, jti: 'the-jti' }, true],
      [{ ...base, jti: 'the-jti', iat: String(t + 5) } as unknown as JWTPayload, true],
      // A claim events match that is not a string cannot be looked up: refused, fail closed.
      [{ ...base, grant_id: 7, iat: t - 100 }, true],
      [{ ...base, sub: ['the-user'] as unknown as string, iat: t - 100 }, true],
      [{ ...base, impersonation_id: { id: 'x' }, iat: t - 100 }, true],
    ];
    for (const [claims, revoked] of cases)
      expect([claims, feed.isRevoked(claims)]).toStrictEqual([claims, revoked]);
    expect(feed.status().events).toBe(5);
  });

  it('keeps an event until its expires_at, then prunes it', async () => {
    let now = Date.now();
    const t = Math.floor(now / 1000);
    as.revoke('token', 'short', t, t + 60);
    as.revoke('token', 'long', t, t + 600);
    as.revoke('token', 'gone', t - 700, t - 40); // already expired when read: never kept
    const feed = follow({ clock: () => now });
    await feed.nextSync();
    expect(feed.status().events).toBe(2);
    expect(feed.isRevoked({ jti: 'short', iat: t })).toBe(true);
    expect(feed.isRevoked({ jti: 'gone', iat: t - 800 })).toBe(false);
    now = (t + 60) * 1000; // exactly expires_at: no token it covers can still be valid
    await feed.nextSync();
    expect(feed.status().events).toBe(1);
    expect(feed.isRevoked({ jti: 'short', iat: t })).toBe(false);
    expect(feed.isRevoked({ jti: 'long', iat: t })).toBe(true);
    now = (t + 601) * 1000;
    await feed.nextSync();
    expect(feed.status().events).toBe(0);
  });

  it('never has two reads under way, however slow the server', async () => {
    as.hold();
    const feed = follow({ pollIntervalMs: 1 });
    await until(() => as.feedRequests.length === 0 && as.inFlight === 1);
    as.release();
    for (let i = 0; i < 3; i++) {
      as.hold();
      const synced = feed.nextSync();
      await until(() => as.inFlight === 1);
      as.release();
      await synced;
    }
    expect(as.maxInFlight).toBe(1);
  });

  it('backs off on errors, doubling from the poll interval, and recovers', async () => {
    as.feedStatus = 500;
    const feed = follow({ pollIntervalMs: 10 });
    await until(() => feed.status().failures >= 4);
    as.hold(); // freeze while looking, so the figures belong together
    await until(() => as.inFlight === 1);
    const { failures, nextReadInMs } = feed.status();
    expect(nextReadInMs).toBeUndefined(); // a read is under way: no timer set
    as.feedStatus = 200;
    const synced = feed.nextSync();
    as.release();
    await synced;
    expect(feed.status()).toMatchObject({ failures: 0, lastError: undefined, nextReadInMs: 10 });
    expect(failures).toBeGreaterThanOrEqual(4);
    expect(as.maxInFlight).toBe(1);
  });

  it('waits 2^(n-1) × the interval after n failures, at most max(15 s, the interval)', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(10, n))).toStrictEqual([10, 20, 40, 80, 160]);
    expect(retryDelayMs(2_000, 1)).toBe(2_000);
    expect(retryDelayMs(2_000, 4)).toBe(15_000);
    expect(retryDelayMs(2_000, 1_000)).toBe(15_000);
    expect(retryDelayMs(60_000, 3)).toBe(60_000);
  });

  it('finds the feed in the issuer metadata (revocation_feed_endpoint)', async () => {
    const feed = RevocationFeed.start({
      issuer: as.issuer,
      feedUrl: undefined,
      credentials: { clientId: as.clientId, clientSecret: as.clientSecret },
      pollIntervalMs: 10,
      maxStalenessMs: 30_000,
      timeoutMs: 5_000,
      keepAfterExpiryMs: 0,
      clock: Date.now,
    });
    opened.push(feed);
    await feed.nextSync();
    expect(as.feedRequests.length).toBeGreaterThan(0);
  });

  it('refuses a feed whose cursor goes back, or that says more without moving', async () => {
    as.revoke('token', 'a', nowSeconds());
    const feed = follow();
    await feed.nextSync();
    as.feedBody = { events: [], next: 0, more: false };
    await until(() => feed.status().failures > 0);
    expect(feed.status().lastError).toContain('the cursor went back from 1 to 0');
    as.feedBody = { events: [], next: 1, more: true };
    await until(() => feed.status().lastError?.includes('did not move') === true);
    as.feedBody = { events: [{ seq: 2, kind: 'token' }], next: 2, more: false };
    await until(() => feed.status().lastError?.includes('an event lacks') === true);
    expect(feed.status().cursor).toBe(1); // nothing of a bad page was used
  });

  it('close() stops it: the read under way is aborted, no timer is left, nextSync rejects', async () => {
    as.hold();
    const feed = follow();
    await until(() => as.inFlight === 1);
    await feed.close();
    expect(feed.status()).toMatchObject({ closed: true, nextReadInMs: undefined });
    await expect(feed.nextSync()).rejects.toThrow('closed');
    expect(feed.freshness()).toMatchObject({ fresh: false });
  });
});

describe('a hung connection', () => {
  it('a feed that sends its headers and then nothing times out, and says so', async () => {
    const hung = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"events":[');
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const feed = RevocationFeed.start({
      issuer: as.issuer,
      feedUrl: `http://127.0.0.1:${(hung.address() as AddressInfo).port}/feed`,
      credentials: { clientId: as.clientId, clientSecret: as.clientSecret },
      pollIntervalMs: 10,
      maxStalenessMs: 30_000,
      timeoutMs: 100,
      keepAfterExpiryMs: 0,
      clock: Date.now,
    });
    try {
      await until(() => feed.status().failures > 0);
      expect(feed.status()).toMatchObject({ synced: false });
      expect(feed.status().lastError).toMatch(/: timed out$/);
      expect(feed.freshness().fresh).toBe(false);
    } finally {
      await feed.close();
      hung.closeAllConnections();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});

describe('never shows the secret', () => {
  const secretForms = () => [
    as.clientSecret,
    encodeURIComponent(as.clientSecret),
    basicAuthorization({ clientId: as.clientId, clientSecret: as.clientSecret }).slice(6),
  ];
  const expectNoSecret = (text: string) => {
    for (const form of secretForms()) expect(text).not.toContain(form);
    expect(text).not.toContain('sëcret');
  };

  it('not in the errors of a refused, a failing or an unreachable feed', async () => {
    const wrong = RevocationFeed.start({
      issuer: as.issuer,
      feedUrl: as.feedUrl,
      credentials: { clientId: as.clientId, clientSecret: `${as.clientSecret}x` },
      pollIntervalMs: 10,
      maxStalenessMs: 30_000,
      timeoutMs: 5_000,
      keepAfterExpiryMs: 0,
      clock: Date.now,
    });
    opened.push(wrong);
    await until(() => wrong.status().failures > 0);
    const refused = wrong.freshness();
    if (refused.fresh) throw new Error('expected stale');
    expect(refused.cause.message).toMatch(
      /HTTP 401 invalid_client \(are clientId and clientSecret/,
    );
    const unreachable = follow({ feedUrl: `${await deadUrl()}/feed` });
    await until(() => unreachable.status().failures > 0);
    const down = unreachable.freshness();
    if (down.fresh) throw new Error('expected stale');
    expect(down.cause.message).toMatch(/ECONNREFUSED/);
    for (const cause of [refused.cause, down.cause]) {
      expectNoSecret(inspect(cause, { depth: 10, showHidden: true }));
      expectNoSecret(String(cause.stack));
    }
    expectNoSecret(JSON.stringify(wrong.status()));
  });

  it('not in the TypeError of a mistaken option', () => {
    const secret = as.clientSecret;
    const mistakes: unknown[] = [
      { clientId: '', clientSecret: secret },
      { clientId: 'x', clientSecret: secret, pollIntervalMs: -1 },
      { clientId: 'x', clientSecret: secret, pollInterval: 10 },
      { clientId: 'x', clientSecret: secret, feedUrl: `https://user:${secret}@as.example.test/f` },
      // Refused for its userinfo before the https check, whose message repeats the URL.
      { clientId: 'x', clientSecret: secret, feedUrl: `http://user:${secret}@as.example.test/f` },
    ];
    for (const revocation of mistakes) {
      let message = '';
      try {
        createResourceServer({
          resource: RESOURCE,
          issuer: as.issuer,
          revocation: revocation as never,
        });
      } catch (error) {
        message = (error as TypeError).message;
      }
      expect(message).not.toBe('');
      expectNoSecret(message);
    }
  });
});

describe('createResourceServer({ revocation })', () => {
  it('refuses a revoked token as invalid_token, and it reaches the API at the next read', async () => {
    const rs = server({});
    const token = await as.token(RESOURCE, { jti: 'to-revoke' });
    const other = await as.token(RESOURCE, { jti: 'kept' });
    await until(
      () =>
        rs.revocationStatus().mode === 'feed' &&
        (rs.revocationStatus() as { synced: boolean }).synced,
    );
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    as.revoke('token', 'to-revoke', nowSeconds());
    const before = as.feedRequests.length;
    await until(() => as.feedRequests.length > before + 1);
    const outcome = await rs.authenticate(bearer(token));
    if (outcome.ok) throw new Error('expected a refusal');
    expect(outcome.failure).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token has been revoked',
    });
    expect(outcome.failure.headers['www-authenticate']).toContain('error="invalid_token"');
    expect((await rs.authenticate(bearer(other))).ok).toBe(true);
    // checkAccessToken checks revocation too; verifyAccessToken is the JWT alone.
    expect(await rs.checkAccessToken(token)).toMatchObject({ ok: false, reason: 'invalid_token' });
    expect((await rs.verifyAccessToken(token)).ok).toBe(true);
  });

  it('fails closed (503) until the first read, and when the last one is older than maxStalenessMs', async () => {
    let now = Date.now();
    as.hold();
    const rs = server({ clock: () => now, maxStalenessMs: 1_000 });
    const token = await as.token(RESOURCE);
    const first = await rs.authenticate(bearer(token));
    if (first.ok) throw new Error('expected a refusal');
    expect(first.failure).toMatchObject({
      status: 503,
      error: 'server_error',
      description: 'the revocation feed has not been read yet',
    });
    expect(first.failure.headers['www-authenticate']).toBeUndefined();
    as.release();
    await until(() => (rs.revocationStatus() as { synced: boolean }).synced);
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    as.feedStatus = 500;
    await until(() => (rs.revocationStatus() as { failures: number }).failures > 0);
    expect((await rs.authenticate(bearer(token))).ok).toBe(true); // not stale yet
    now += 1_001;
    const stale = await rs.authenticate(bearer(token));
    if (stale.ok) throw new Error('expected a refusal');
    expect(stale.failure).toMatchObject({
      status: 503,
      description: 'the revocation feed has not been read recently',
    });
    expect(String(stale.failure.cause)).toContain('HTTP 500');
    expect(rs.revocationStatus()).toMatchObject({ mode: 'feed', fresh: false });
    // Back: fresh again at the next successful read.
    as.feedStatus = 200;
    await until(() => (rs.revocationStatus() as { fresh: boolean }).fresh);
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
  });

  it("fails open with onStale 'fail-open', still refusing what it knows", async () => {
    let now = Date.now();
    as.revoke('token', 'known', nowSeconds() + 60); // covers the token signed below, whatever second it is
    as.hold();
    const rs = server({ clock: () => now, maxStalenessMs: 1_000, onStale: 'fail-open' });
    const token = await as.token(RESOURCE);
    expect((await rs.authenticate(bearer(token))).ok).toBe(true); // not read yet: accepted
    as.release();
    await until(() => (rs.revocationStatus() as { synced: boolean }).synced);
    as.feedStatus = 500;
    now += 5_000;
    expect(rs.revocationStatus()).toMatchObject({ fresh: false });
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    const known = await rs.authenticate(bearer(await as.token(RESOURCE, { jti: 'known' })));
    expect(known.ok).toBe(false);
  });

  it('refuses a token revoked at /revoke whose iat is after issued_before: the signing process’s clock was ahead of the revoking one’s', async () => {
    const rs = server({});
    const t = nowSeconds();
    // Signed by a process whose clock is two minutes ahead, revoked (RFC 7009) by one on time.
    const token = await as.token(RESOURCE, { jti: 'skewed', iat: t + 120, exp: t + 720 });
    as.revoke('token', 'skewed', t);
    // The event read, not just any sync: the first one may have finished before the revocation.
    await until(() => (rs.revocationStatus() as { events?: number }).events === 1);
    const outcome = await rs.authenticate(bearer(token));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok)
      expect(outcome.failure).toMatchObject({
        status: 401,
        description: 'the access token has been revoked',
      });
  });

  it('keeps an event past its expires_at for as long as clockToleranceSeconds still accepts a covered token', async () => {
    let now = Date.now();
    const t = Math.floor(now / 1000);
    const rs = server({ clock: () => now, clockToleranceSeconds: 60 });
    // Signed by a process whose clock is 30 s ahead (iat t + 30, exp t + 630), revoked at t on
    // time: the event expires at t + 660, while this resource accepts the JWT until t + 690.
    const token = await as.token(RESOURCE, { jti: 'lenient', iat: t + 30, exp: t + 630 });
    as.revoke('token', 'lenient', t, t + 660);
    await until(() => (rs.revocationStatus() as { events?: number }).events === 1);
    expect((await rs.authenticate(bearer(token))).ok).toBe(false);
    // Past the event's expires_at, within the 60 s this resource allows past exp.
    now = (t + 680) * 1000;
    await until(() => (rs.revocationStatus() as { lastSyncAt?: number }).lastSyncAt === now);
    expect((await rs.verifyAccessToken(token)).ok).toBe(true); // the JWT alone is still accepted
    const outcome = await rs.authenticate(bearer(token));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.failure).toMatchObject({ status: 401 });
    // At expires_at + the leeway, the token itself has been refused for a while: the event goes.
    now = (t + 720) * 1000;
    await until(() => (rs.revocationStatus() as { events?: number }).events === 0);
  });

  it('a forged token never reaches the revocation check', async () => {
    as.hold();
    const rs = server({});
    const token = await as.token(RESOURCE);
    const forged = `${token.slice(0, -4)}AAAA`;
    const outcome = await rs.authenticate(bearer(forged));
    if (outcome.ok) throw new Error('expected a refusal');
    // 401 for the signature, not 503 for the (not yet read) feed.
    expect(outcome.failure).toMatchObject({ status: 401, error: 'invalid_token' });
  });

  it('checks its options at start-up', () => {
    const base = { resource: RESOURCE, issuer: as.issuer };
    const creds = { clientId: 'c', clientSecret: 's' };
    const cases: [unknown, string][] = [
      [{ revocation: creds, introspection: creds }, 'exclusive'],
      [{ revocation: { clientId: 'c' } }, 'revocation.clientSecret'],
      [{ revocation: { ...creds, pollIntervalMs: 0 } }, 'revocation.pollIntervalMs'],
      [{ revocation: { ...creds, pollIntervalMs: 5_000, maxStalenessMs: 5_000 } }, 'longer than'],
      [{ revocation: { ...creds, onStale: 'open' } }, 'revocation.onStale'],
      [{ revocation: { ...creds, feedUrl: 'http://as.example.test/feed' } }, 'https'],
      [{ revocation: { ...creds, pollInterval: 1 } }, 'revocation.pollInterval is not an option'],
      // Past 60 s of leeway, a resource that starts after the server dropped an event would
      // accept the token it covered (the test below keeps 300 s only for a running follower).
      [{ clockToleranceSeconds: 61, revocation: creds }, 'clockToleranceSeconds above 60'],
    ];
    for (const [options, message] of cases) {
      let thrown: unknown;
      try {
        createResourceServer({ ...base, ...(options as object) });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as TypeError).message).toContain(message);
    }
  });
});

describe('adapters', () => {
  it('Fastify closes the resource server with the app, unless closeWithApp is false', async () => {
    const rs = server({});
    const kept = server({});
    const app = Fastify();
    await app.register(protectedResource, { resourceServer: rs });
    const other = Fastify();
    await other.register(protectedResource, { resourceServer: kept, closeWithApp: false });
    await Promise.all([app.ready(), other.ready()]);
    await Promise.all([app.close(), other.close()]);
    expect(rs.revocationStatus()).toMatchObject({ mode: 'feed', closed: true, fresh: false });
    expect(kept.revocationStatus()).toMatchObject({ mode: 'feed', closed: false });
  });

  it('node:http answers 503 while the feed is stale and tells onError why', async () => {
    as.feedStatus = 401;
    as.feedError = 'invalid_client';
    const rs = server({});
    const causes: unknown[] = [];
    const authenticate = requireBearer(rs, { onError: (cause) => causes.push(cause) });
    const http = createServer((req, res) => {
      void authenticate(req, res).then((auth) => {
        if (auth !== undefined) res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
      await until(() => (rs.revocationStatus() as { failures: number }).failures > 0);
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${await as.token(RESOURCE)}` },
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toStrictEqual({
        error: 'server_error',
        error_description: 'the revocation feed has not been read yet',
      });
      expect(String(causes[0])).toContain('HTTP 401 invalid_client');
    } finally {
      as.feedError = 'server_error';
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
