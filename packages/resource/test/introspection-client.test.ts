/**
 * Introspection mode (RFC 7662), against an introspection endpoint played over real HTTP
 * (support/revocation-server): the question asked and its credentials, active and inactive
 * answers, the per-token cache on the injected clock, no request for a token that fails local
 * verification, and 503 (with no secret in the cause) when the server cannot answer.
 */
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createResourceServer, type ResourceServer } from '../src/index.js';
import { basicAuthorization } from '../src/client-credentials.js';
import { deadUrl } from './support/key-server.js';
import { decodeBasic, RevocationServer } from './support/revocation-server.js';

const RESOURCE = 'https://api.example.test/notes';

function bearer(token: string) {
  return { authorization: [`Bearer ${token}`] };
}

let as: RevocationServer;
const opened: ResourceServer[] = [];

beforeAll(async () => {
  as = await RevocationServer.start();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((rs) => rs.close()));
  as.release();
  as.active.clear();
  as.introspectionStatus = 200;
  as.introspectionBody = undefined;
  as.introspectionRequests.length = 0;
});
afterAll(async () => {
  await as.close();
});

function server(
  options: {
    clock?: () => number;
    cacheTtlMs?: number;
    endpoint?: string;
    clientSecret?: string;
  } = {},
): ResourceServer {
  const rs = createResourceServer({
    resource: RESOURCE,
    issuer: as.issuer,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    introspection: {
      clientId: as.clientId,
      clientSecret: options.clientSecret ?? as.clientSecret,
      ...(options.cacheTtlMs === undefined ? {} : { cacheTtlMs: options.cacheTtlMs }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    },
  });
  opened.push(rs);
  return rs;
}

describe('createResourceServer({ introspection })', () => {
  it('asks the discovered introspection_endpoint with RFC 6749 §2.3.1 credentials', async () => {
    const rs = server();
    const token = await as.token(RESOURCE);
    as.active.set(token, true);
    const outcome = await rs.authenticate(bearer(token));
    expect(outcome.ok).toBe(true);
    expect(as.introspectionRequests).toHaveLength(1);
    const [request] = as.introspectionRequests;
    expect(decodeBasic(request?.authorization)).toStrictEqual({
      id: as.clientId,
      secret: as.clientSecret,
    });
    // RFC 7662 §2.1: the token and its hint in a form body.
    expect(Object.fromEntries(request?.form ?? [])).toStrictEqual({
      token,
      token_type_hint: 'access_token',
    });
    expect(rs.revocationStatus()).toStrictEqual({ mode: 'introspection', cachedAnswers: 1 });
  });

  it('active: false is 401 invalid_token "the access token is not active"', async () => {
    const rs = server();
    const token = await as.token(RESOURCE);
    const outcome = await rs.authenticate(bearer(token));
    if (outcome.ok) throw new Error('expected a refusal');
    expect(outcome.failure).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token is not active',
    });
    expect(await rs.checkAccessToken(token)).toMatchObject({ ok: false, reason: 'invalid_token' });
    // verifyAccessToken is the JWT alone, documented as such.
    expect((await rs.verifyAccessToken(token)).ok).toBe(true);
  });

  it('reuses an answer for cacheTtlMs, per token, then asks again', async () => {
    let now = Date.now();
    const rs = server({ clock: () => now, cacheTtlMs: 2_000 });
    const token = await as.token(RESOURCE, { jti: 'cached-one' });
    const other = await as.token(RESOURCE, { jti: 'cached-two' });
    as.active.set(token, true);
    as.active.set(other, true);
    for (let i = 0; i < 3; i++) expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    expect(as.introspectionRequests).toHaveLength(1);
    expect((await rs.authenticate(bearer(other))).ok).toBe(true);
    expect(as.introspectionRequests).toHaveLength(2);
    as.active.set(token, false); // revoked on the server
    now += 1_999;
    expect((await rs.authenticate(bearer(token))).ok).toBe(true); // still the cached answer
    now += 1;
    expect((await rs.authenticate(bearer(token))).ok).toBe(false); // asked again
    expect(as.introspectionRequests).toHaveLength(3);
  });

  it('cacheTtlMs 0 asks every time; concurrent requests with one token share one question', async () => {
    const rs = server({ cacheTtlMs: 0 });
    const token = await as.token(RESOURCE);
    as.active.set(token, true);
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    expect(as.introspectionRequests).toHaveLength(2);
    as.maxInFlight = 0;
    as.hold();
    const outcomes = Promise.all([1, 2, 3, 4].map(() => rs.authenticate(bearer(token))));
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 400 && as.inFlight === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    as.release();
    expect((await outcomes).every((outcome) => outcome.ok)).toBe(true);
    // Never two questions about one token at once (a request that verified only after the
    // answer came would ask anew, since nothing is cached: the count is not the property).
    expect(as.maxInFlight).toBe(1);
    expect(as.introspectionRequests.length).toBeLessThan(6);
  });

  it('never asks about a token that fails local verification', async () => {
    const rs = server();
    const token = await as.token(RESOURCE);
    const now = Math.floor(Date.now() / 1000);
    for (const bad of [
      `${token.slice(0, -4)}AAAA`, // forged signature
      await as.token(RESOURCE, { iat: now - 700, exp: now - 600 }), // expired
      await as.token('https://other.example.test/'), // another audience
    ]) {
      const outcome = await rs.authenticate(bearer(bad));
      expect(outcome).toMatchObject({ ok: false, failure: { status: 401 } });
    }
    expect(as.introspectionRequests).toHaveLength(0);
  });

  it('503 when the server cannot answer; nothing cached; the secret in no cause', async () => {
    const token = await as.token(RESOURCE);
    as.active.set(token, true);
    const secretForms = [
      as.clientSecret,
      encodeURIComponent(as.clientSecret),
      basicAuthorization({ clientId: as.clientId, clientSecret: as.clientSecret }).slice(6),
      'sëcret',
    ];
    const cases: [ResourceServer, () => void, RegExp][] = [
      [server({ endpoint: `${await deadUrl()}/introspect` }), () => undefined, /ECONNREFUSED/],
      [
        server({ clientSecret: `${as.clientSecret}-wrong` }),
        () => undefined,
        /HTTP 401 invalid_client/,
      ],
      [
        server(),
        () => {
          as.introspectionStatus = 500;
        },
        /HTTP 500 server_error/,
      ],
      [
        server(),
        () => {
          as.introspectionBody = () => ({ active: 'yes' });
        },
        /no boolean "active"/,
      ],
    ];
    for (const [rs, arrange, cause] of cases) {
      as.introspectionStatus = 200;
      as.introspectionBody = undefined;
      arrange();
      const outcome = await rs.authenticate(bearer(token));
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject({
        status: 503,
        error: 'server_error',
        description: 'the authorization server could not say whether the access token is active',
      });
      expect(String(outcome.failure.cause)).toMatch(cause);
      const shown = inspect(outcome.failure.cause, { depth: 10, showHidden: true });
      for (const form of secretForms) expect(shown).not.toContain(form);
      expect(rs.revocationStatus()).toMatchObject({ cachedAnswers: 0 });
    }
  });

  it('checks its options at start-up: the cache is the revocation delay, 5 s at most unless allowed', () => {
    const base = { resource: RESOURCE, issuer: as.issuer };
    const creds = { clientId: 'c', clientSecret: 's' };
    const cases: [unknown, string][] = [
      [{ introspection: { ...creds, cacheTtlMs: 5_001 } }, 'introspection.allowLongCache'],
      [{ introspection: { ...creds, cacheTtlMs: -1 } }, 'introspection.cacheTtlMs'],
      [{ introspection: { ...creds, endpoint: 'http://as.example.test/i' } }, 'https'],
      [{ introspection: { clientSecret: 's' } }, 'introspection.clientId'],
      [{ introspection: { ...creds, cacheTTL: 1 } }, 'introspection.cacheTTL is not an option'],
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
    const long = createResourceServer({
      ...base,
      introspection: { ...creds, cacheTtlMs: 30_000, allowLongCache: true },
    });
    opened.push(long);
    expect(long.revocationStatus().mode).toBe('introspection');
  });
});
