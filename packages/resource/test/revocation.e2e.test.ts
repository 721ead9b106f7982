/**
 * End to end against a real Gatehouse server (SQLite, real HTTP): a registered resource linked to
 * a confidential client of its own follows the environment's revocation feed (found in the
 * issuer's metadata) and refuses a token once it is revoked at /revoke, or once its client is
 * deleted; the same resource in introspection mode asks the server and refuses it too. A client
 * that is not a resource's cannot read the feed, and the resource then fails closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceServer, type AuthOutcome, type ResourceServer } from '../src/index.js';
import { startGatehouse, type Gatehouse } from './support/gatehouse.js';

const RESOURCE = 'https://notes.example.test/api';
const SCOPE = 'notes:read';

function bearer(token: string) {
  return { authorization: [`Bearer ${token}`] };
}

/** Waits (on real time) until `condition` holds; the assertion is the condition, not the time. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 4_000 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

function refusal(outcome: AuthOutcome) {
  if (outcome.ok) throw new Error('expected a refusal');
  return outcome.failure;
}

describe('a resource following the Gatehouse revocation feed', () => {
  let gatehouse: Gatehouse;
  let credentials: { clientId: string; clientSecret: string };
  const opened: ResourceServer[] = [];

  beforeAll(async () => {
    gatehouse = await startGatehouse();
    credentials = await gatehouse.registerLinked(RESOURCE, [SCOPE]);
  });
  afterAll(async () => {
    await Promise.all(opened.map((rs) => rs.close()));
    await gatehouse.close();
  });

  const feedStatus = (rs: ResourceServer) => {
    const status = rs.revocationStatus();
    if (status.mode !== 'feed') throw new Error('not in feed mode');
    return status;
  };

  /** Resolves once a complete read of the feed has begun after this call. */
  const readAfterNow = async (rs: ResourceServer) => {
    const now = Date.now();
    await until(() => (feedStatus(rs).lastSyncAt ?? 0) > now);
  };

  it('refuses a token at the first read after it is revoked at /revoke', async () => {
    const rs = createResourceServer({
      resource: RESOURCE,
      issuer: gatehouse.issuer,
      revocation: { ...credentials, pollIntervalMs: 50 },
    });
    opened.push(rs);
    const token = await gatehouse.token(RESOURCE, SCOPE);
    const other = await gatehouse.token(RESOURCE, SCOPE);
    await until(() => feedStatus(rs).fresh);
    expect((await rs.authenticate(bearer(token), { requiredScopes: [SCOPE] })).ok).toBe(true);

    await gatehouse.revoke(token);
    await readAfterNow(rs);
    expect(refusal(await rs.authenticate(bearer(token)))).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token has been revoked',
    });
    expect(feedStatus(rs)).toMatchObject({ fresh: true, failures: 0 });
    expect(feedStatus(rs).events).toBeGreaterThanOrEqual(1);
    // Only that token: another of the same client still passes; the JWT alone is still valid.
    expect((await rs.authenticate(bearer(other))).ok).toBe(true);
    expect((await rs.verifyAccessToken(token)).ok).toBe(true);
  });

  it('a second resource server starting later reads the event from cursor 0', async () => {
    const token = await gatehouse.token(RESOURCE, SCOPE);
    await gatehouse.revoke(token);
    const rs = createResourceServer({
      resource: RESOURCE,
      issuer: gatehouse.issuer,
      revocation: { ...credentials, pollIntervalMs: 50 },
    });
    opened.push(rs);
    await until(() => feedStatus(rs).fresh);
    expect(refusal(await rs.authenticate(bearer(token))).description).toBe(
      'the access token has been revoked',
    );
  });

  it('refuses every token of a deleted client (a client event)', async () => {
    const rs = createResourceServer({
      resource: RESOURCE,
      issuer: gatehouse.issuer,
      revocation: { ...credentials, pollIntervalMs: 50 },
    });
    opened.push(rs);
    const tokens = [await gatehouse.token(RESOURCE, SCOPE), await gatehouse.token(RESOURCE, SCOPE)];
    await until(() => feedStatus(rs).fresh);
    for (const token of tokens) expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    await gatehouse.deleteTokenClient();
    await readAfterNow(rs);
    for (const token of tokens)
      expect(refusal(await rs.authenticate(bearer(token))).description).toBe(
        'the access token has been revoked',
      );
    // A new client's token is not covered.
    expect((await rs.authenticate(bearer(await gatehouse.token(RESOURCE, SCOPE)))).ok).toBe(true);
  });

  it('a client that is no resource’s gets 403, a wrong secret 401: the API fails closed', async () => {
    const agent = await gatehouse.tokenClient();
    const token = await gatehouse.token(RESOURCE, SCOPE);
    for (const [revocation, cause] of [
      [agent, 'HTTP 403 access_denied'],
      [
        { ...credentials, clientSecret: `${credentials.clientSecret}-wrong` },
        'HTTP 401 invalid_client',
      ],
    ] as const) {
      const rs = createResourceServer({
        resource: RESOURCE,
        issuer: gatehouse.issuer,
        revocation: { ...revocation, pollIntervalMs: 50 },
      });
      opened.push(rs);
      await until(() => feedStatus(rs).failures > 0);
      const failure = refusal(await rs.authenticate(bearer(token)));
      expect(failure).toMatchObject({
        status: 503,
        description: 'the revocation feed has not been read yet',
      });
      expect(String(failure.cause)).toContain(cause);
      expect(String(failure.cause)).not.toContain(revocation.clientSecret);
    }
  });
});

describe('a resource introspecting at Gatehouse', () => {
  let gatehouse: Gatehouse;
  let credentials: { clientId: string; clientSecret: string };
  const opened: ResourceServer[] = [];

  beforeAll(async () => {
    gatehouse = await startGatehouse();
    credentials = await gatehouse.registerLinked(RESOURCE, [SCOPE]);
  });
  afterAll(async () => {
    await Promise.all(opened.map((rs) => rs.close()));
    await gatehouse.close();
  });

  it('refuses a token once it is revoked: active false is "not active"', async () => {
    let now = Date.now();
    const rs = createResourceServer({
      resource: RESOURCE,
      issuer: gatehouse.issuer,
      clock: () => now,
      introspection: credentials, // cacheTtlMs 2000, endpoint from the metadata
    });
    opened.push(rs);
    const token = await gatehouse.token(RESOURCE, SCOPE);
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    await gatehouse.revoke(token);
    // The cached answer stands for cacheTtlMs (the documented bound), then the server is asked.
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    now += 2_000;
    expect(refusal(await rs.authenticate(bearer(token)))).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token is not active',
    });
    expect((await rs.authenticate(bearer(await gatehouse.token(RESOURCE, SCOPE)))).ok).toBe(true);
  });

  it('a client not linked to the token’s resource learns nothing: every token is "not active"', async () => {
    // Linked to another resource: the server answers active false (RFC 7662 §4, no oracle), so
    // a resource configured with the wrong client refuses everything rather than accept anything.
    const stranger = await gatehouse.registerLinked('https://other.example.test/api', []);
    const rs = createResourceServer({
      resource: RESOURCE,
      issuer: gatehouse.issuer,
      introspection: { ...stranger, cacheTtlMs: 0 },
    });
    opened.push(rs);
    const outcome = await rs.authenticate(bearer(await gatehouse.token(RESOURCE, SCOPE)));
    expect(refusal(outcome)).toMatchObject({
      status: 401,
      description: 'the access token is not active',
    });
  });
});
