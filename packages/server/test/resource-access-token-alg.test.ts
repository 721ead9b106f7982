/**
 * A resource that asks for RS256 access tokens (issue #16 part 1: "access tokens stay ES256 unless
 * a resource asks otherwise"): its tokens are RS256, verified against the JWKS by jose and active at
 * introspection; every other token stays ES256; an algorithm other than ES256 or RS256 is refused.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerResource, setResourceAccessTokenAlg } from '../src/services/resources.js';
import { operatorSession } from './support/admin.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const LEGACY = 'https://legacy-api.example.com';
const MODERN = 'https://api.example.com';

describe.each(DATABASES)('access_token_alg per resource on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let agent: { clientId: string; clientSecret?: string };

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    await registerResource(t.ctx, 'development', {
      uri: LEGACY,
      name: 'Legacy API',
      scopes: ['read'],
      accessTokenAlg: 'RS256',
    });
    await registerResource(t.ctx, 'development', { uri: MODERN, name: 'API', scopes: ['read'] });
    agent = await t.client({
      type: 'web',
      name: 'Agent',
      redirectUris: [],
      grantTypes: ['client_credentials'],
    });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const tokenFor = async (resource: string) => {
    const reply = await t.tokenRequest({
      grant_type: 'client_credentials',
      client_id: agent.clientId,
      client_secret: agent.clientSecret ?? '',
      resource,
      scope: 'read',
    });
    expect(reply.status).toBe(200);
    return reply.access_token;
  };
  const active = async (token: string) =>
    (
      (await (
        await fetch(`${t.issuer('development')}/introspect`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            token,
            client_id: agent.clientId,
            client_secret: agent.clientSecret ?? '',
          }),
        })
      ).json()) as { active: boolean }
    ).active;

  it('signs the tokens of a resource that asks with RS256, and the others with ES256', async () => {
    const legacy = await tokenFor(LEGACY);
    expect(decodeProtectedHeader(legacy)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const jwks = (await (await fetch(`${t.issuer('development')}/jwks`)).json()) as Parameters<
      typeof createLocalJWKSet
    >[0];
    const { payload } = await jwtVerify(legacy, createLocalJWKSet(jwks), {
      issuer: t.issuer('development'),
      audience: LEGACY,
      algorithms: ['RS256'],
      typ: 'at+jwt',
    });
    expect(payload.client_id).toBe(agent.clientId);
    expect(await active(legacy)).toBe(true);
    expect(decodeProtectedHeader(await tokenFor(MODERN)).alg).toBe('ES256');

    // Back to ES256: new tokens change, the RS256 one still verifies until it expires.
    await setResourceAccessTokenAlg(t.ctx, 'development', LEGACY, null);
    expect(decodeProtectedHeader(await tokenFor(LEGACY)).alg).toBe('ES256');
    expect(await active(legacy)).toBe(true);
    await setResourceAccessTokenAlg(t.ctx, 'development', LEGACY, 'RS256');
    expect(decodeProtectedHeader(await tokenFor(LEGACY)).alg).toBe('RS256');
    const entries = await t.ctx.stores.audit.tail({ type: 'resource.access_token_alg_changed' });
    expect(entries.map((e) => e.data)).toEqual([
      { uri: LEGACY, accessTokenAlg: 'ES256', previous: 'RS256' },
      { uri: LEGACY, accessTokenAlg: 'RS256', previous: 'ES256' },
    ]);
  });

  it('refuses any other algorithm, in the service and the admin API, changing nothing', async () => {
    await expect(
      setResourceAccessTokenAlg(t.ctx, 'development', MODERN, 'HS256'),
    ).rejects.toMatchObject({ code: 'invalid_access_token_alg' });
    await expect(
      registerResource(t.ctx, 'development', {
        uri: 'https://other.example.com',
        name: 'Other',
        scopes: [],
        accessTokenAlg: 'none',
      }),
    ).rejects.toMatchObject({ code: 'invalid_access_token_alg' });
    const { session } = await operatorSession(t, 'ops@example.com', 'admin');
    const path = `/environments/development/resources?uri=${encodeURIComponent(MODERN)}`;
    expect((await session.call('PATCH', path, { accessTokenAlg: 'HS256' })).status).toBe(400);
    expect((await t.ctx.stores.resources.get('development', MODERN))?.accessTokenAlg).toBeNull();
    const changed = await session.call('PATCH', path, { accessTokenAlg: 'RS256' });
    expect(changed.status).toBe(200);
    expect(changed.body.resource).toMatchObject({ uri: MODERN, accessTokenAlg: 'RS256' });
  });
});
