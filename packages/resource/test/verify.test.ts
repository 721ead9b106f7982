/**
 * RFC 9068 §4 validation against real issuers: Gatehouse for what it issues, and a key server of
 * our own for the tokens Gatehouse never would (expired, mistyped, foreign, other algorithms,
 * rotated keys). Every refusal is checked for its code and fixed description.
 */
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createResourceServer,
  type AuthOutcome,
  type ResourceServer,
  type ResourceServerOptions,
} from '../src/index.js';
import { parseChallenges } from './support/challenge-parser.js';
import { startGatehouse, type Gatehouse } from './support/gatehouse.js';
import { deadUrl, KeyServer, type SigningKey } from './support/key-server.js';

const RESOURCE = 'https://mcp.example.test/mcp';
const OTHER_RESOURCE = 'https://other.example.test/api';

function bearer(token: string) {
  return { authorization: [`Bearer ${token}`] };
}

function refusal(outcome: AuthOutcome) {
  if (outcome.ok) throw new Error('expected a refusal');
  const { failure } = outcome;
  const challenge = failure.headers['www-authenticate'];
  return {
    status: failure.status,
    error: failure.error,
    description: failure.description,
    // The first challenge: the only one, but for a missing token.
    params:
      challenge === undefined
        ? undefined
        : Object.fromEntries(parseChallenges(challenge)[0]?.params ?? []),
    failure,
  };
}

describe('against Gatehouse', () => {
  let gatehouse: Gatehouse;
  let rs: ResourceServer;

  beforeAll(async () => {
    gatehouse = await startGatehouse();
    await gatehouse.register(RESOURCE, ['mcp:tools', 'mcp:admin']);
    await gatehouse.register(OTHER_RESOURCE, ['api:read']);
    await gatehouse.register(RESOURCE, ['mcp:tools'], 'staging');
    rs = createResourceServer({ resource: RESOURCE, issuer: gatehouse.issuer });
  });
  afterAll(async () => {
    await gatehouse.close();
  });

  it('accepts its access token: AuthInfo as the MCP SDK shapes it', async () => {
    const token = await gatehouse.token(RESOURCE, 'mcp:tools');
    const outcome = await rs.authenticate(bearer(token), { requiredScopes: ['mcp:tools'] });
    if (!outcome.ok) throw new Error(outcome.failure.description);
    const { auth, claims } = outcome;
    expect(auth.token).toBe(token);
    expect(auth.clientId).toMatch(/^ghc_development_/);
    expect(auth.scopes).toStrictEqual(['mcp:tools']);
    expect(auth.resource?.href).toBe(RESOURCE);
    expect(auth.expiresAt).toBe(claims.exp);
    expect(auth.expiresAt).toBeGreaterThan(Date.now() / 1000 + 500);
    expect(auth.extra).toStrictEqual({ subject: auth.clientId, issuer: gatehouse.issuer, claims });
    expect(claims.aud).toBe(RESOURCE);
    // verifyAccessToken alone says the same.
    expect(await rs.verifyAccessToken(token)).toMatchObject({ ok: true, auth: { token } });
  });

  it('refuses a token for another resource (RFC 8707 audience)', async () => {
    const token = await gatehouse.token(OTHER_RESOURCE, 'api:read');
    expect(refusal(await rs.authenticate(bearer(token)))).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token was not issued for this resource',
      params: { error: 'invalid_token', resource_metadata: rs.metadataUrl },
    });
  });

  it('refuses a token of another environment (another issuer, other keys)', async () => {
    const token = await gatehouse.token(RESOURCE, 'mcp:tools', 'staging');
    expect(refusal(await rs.authenticate(bearer(token)))).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token is not signed with a key of the issuer',
    });
    // And a resource server that trusts staging does not take a development token.
    const staging = createResourceServer({
      resource: RESOURCE,
      issuer: gatehouse.issuerOf('staging'),
    });
    expect((await staging.authenticate(bearer(token))).ok).toBe(true);
    const development = await gatehouse.token(RESOURCE, 'mcp:tools');
    expect(refusal(await staging.authenticate(bearer(development))).error).toBe('invalid_token');
  });

  it('403 insufficient_scope names every required scope', async () => {
    const token = await gatehouse.token(RESOURCE, 'mcp:tools');
    expect(
      refusal(await rs.authenticate(bearer(token), { requiredScopes: ['mcp:tools', 'mcp:admin'] })),
    ).toMatchObject({
      status: 403,
      error: 'insufficient_scope',
      params: {
        error: 'insufficient_scope',
        scope: 'mcp:tools mcp:admin',
        resource_metadata: rs.metadataUrl,
      },
    });
    const none = await gatehouse.token(RESOURCE);
    expect(
      refusal(await rs.authenticate(bearer(none), { requiredScopes: ['mcp:tools'] })).status,
    ).toBe(403);
    expect((await rs.authenticate(bearer(none))).ok).toBe(true);
  });

  it('no token: 401 without an error code (RFC 6750 §3.1), naming the scopes wanted', async () => {
    const outcome = refusal(
      await rs.authenticate({ authorization: [] }, { requiredScopes: ['mcp:tools'] }),
    );
    expect(outcome.status).toBe(401);
    expect(outcome.error).toBeUndefined();
    expect(outcome.failure.body).toBeUndefined();
    // A Bearer challenge, then a DPoP one (RFC 9449 §7.1): either kind of token is welcome.
    expect(
      parseChallenges(outcome.failure.headers['www-authenticate'] ?? '').map((c) => [
        c.scheme,
        Object.fromEntries(c.params),
      ]),
    ).toStrictEqual([
      ['Bearer', { scope: 'mcp:tools', resource_metadata: rs.metadataUrl }],
      [
        'DPoP',
        {
          scope: 'mcp:tools',
          resource_metadata: rs.metadataUrl,
          algs: 'ES256 ES384 EdDSA Ed25519 RS256 PS256',
        },
      ],
    ]);
  });

  it('refuses a tampered token and garbage', async () => {
    const token = await gatehouse.token(RESOURCE, 'mcp:tools');
    const [header = '', payload = '', signature = ''] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const forged = Buffer.from(
      JSON.stringify({ ...claims, scope: 'mcp:tools mcp:admin' }),
    ).toString('base64url');
    expect(
      refusal(await rs.authenticate(bearer(`${header}.${forged}.${signature}`))),
    ).toMatchObject({
      status: 401,
      description: 'the access token signature is invalid',
    });
    for (const garbage of [
      'abc',
      'a.b.c',
      `${header}.${payload}`,
      `${header}.${payload}.${signature}.x`,
      'e30.e30.e30',
    ]) {
      expect(refusal(await rs.authenticate(bearer(garbage)))).toMatchObject({
        status: 401,
        error: 'invalid_token',
        description: 'the access token is malformed',
      });
    }
  });

  it('refuses an expired token by the resource server clock (default tolerance 30 s)', async () => {
    const token = await gatehouse.token(RESOURCE, 'mcp:tools');
    const later = (seconds: number) =>
      createResourceServer({
        resource: RESOURCE,
        issuer: gatehouse.issuer,
        clock: () => Date.now() + seconds * 1000,
      });
    // Gatehouse access tokens live 600 s.
    expect((await later(610).authenticate(bearer(token))).ok).toBe(true);
    expect(refusal(await later(640).authenticate(bearer(token)))).toMatchObject({
      status: 401,
      description: 'the access token has expired',
    });
  });
});

describe('against a key server of our own', () => {
  let keys: KeyServer;
  let key: SigningKey;
  let rs: ResourceServer;
  const make = (options: Partial<ResourceServerOptions> = {}) =>
    createResourceServer({ resource: RESOURCE, issuer: keys.issuer, ...options });

  beforeAll(async () => {
    keys = await KeyServer.start();
    key = await keys.addKey('ES256');
    rs = make();
  });
  afterAll(async () => {
    await keys.close();
  });

  const check = async (token: string, server: ResourceServer = rs) =>
    server.authenticate(bearer(token));

  it('discovers jwks_uri from RFC 8414 metadata at the well-known URL before the issuer path', async () => {
    const fresh = make();
    const before = keys.metadataFetches;
    expect((await check(await KeyServer.sign(key, keys.claims(RESOURCE)), fresh)).ok).toBe(true);
    expect((await check(await KeyServer.sign(key, keys.claims(RESOURCE)), fresh)).ok).toBe(true);
    expect(keys.metadataFetches - before).toBe(1);
  });

  it('accepts an audience array holding the resource, and application/at+jwt', async () => {
    const claims = keys.claims(RESOURCE, { aud: ['https://else.example.test', RESOURCE] });
    expect((await check(await KeyServer.sign(key, claims))).ok).toBe(true);
    expect((await check(await KeyServer.sign(key, claims, { typ: 'application/at+jwt' }))).ok).toBe(
      true,
    );
    expect((await check(await KeyServer.sign(key, claims, { typ: 'AT+JWT' }))).ok).toBe(true);
  });

  it.each([
    [
      'wrong iss',
      { iss: 'https://evil.example.test/tenant/one' },
      'the access token was issued by another authorization server',
    ],
    [
      'iss differing by a trailing slash',
      { iss: 'ISSUER/' },
      'the access token was issued by another authorization server',
    ],
    [
      'aud a prefix of the resource',
      { aud: 'https://mcp.example.test' },
      'the access token was not issued for this resource',
    ],
    [
      'aud with a trailing slash',
      { aud: `${RESOURCE}/` },
      'the access token was not issued for this resource',
    ],
    ['expired 31 s ago', { exp: 'NOW-31' }, 'the access token has expired'],
    ['not valid for another minute', { nbf: 'NOW+60' }, 'the access token is not valid yet'],
    [
      'no client_id (RFC 9068 §2.2)',
      { client_id: undefined },
      'the access token has no client_id claim',
    ],
    ['no jti', { jti: undefined }, 'the access token has no jti claim'],
    ['no exp', { exp: undefined }, 'the access token has no exp claim'],
    [
      'a scope that is not a string',
      { scope: ['mcp:tools'] },
      'the scope claim of the access token is not a string',
    ],
    [
      'a client_id that is not a string',
      { client_id: 7 },
      'the client_id claim of the access token is not a string',
    ],
  ])('refuses %s', async (_name, changes, description) => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = keys.claims(RESOURCE);
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) Reflect.deleteProperty(claims, name);
      else if (value === 'ISSUER/') claims[name] = `${keys.issuer}/`;
      else if (typeof value === 'string' && value.startsWith('NOW'))
        claims[name] = now + Number(value.slice(3));
      else claims[name] = value;
    }
    expect(refusal(await check(await KeyServer.sign(key, claims)))).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description,
    });
  });

  it('takes a token expired less than the tolerance ago; a tolerance of 0 does not', async () => {
    const token = await KeyServer.sign(
      key,
      keys.claims(RESOURCE, { exp: Math.floor(Date.now() / 1000) - 10 }),
    );
    expect((await check(token)).ok).toBe(true);
    expect(refusal(await check(token, make({ clockToleranceSeconds: 0 }))).description).toBe(
      'the access token has expired',
    );
  });

  it('refuses a JWT that is not typed at+jwt (an ID token, a plain JWT), unless opted out', async () => {
    const claims = keys.claims(RESOURCE);
    for (const typ of ['JWT', 'jwt', 'application/jwt', 'at+jwt+x', '']) {
      expect(refusal(await check(await KeyServer.sign(key, claims, { typ })))).toMatchObject({
        status: 401,
        description: 'not an access token: the typ header must be at+jwt (RFC 9068)',
      });
    }
    const lax = make({ requireAtJwt: false });
    const plain = await KeyServer.sign(
      key,
      { iss: keys.issuer, aud: RESOURCE, exp: Math.floor(Date.now() / 1000) + 300, azp: 'c' },
      { typ: 'JWT' },
    );
    const outcome = await check(plain, lax);
    expect(outcome.ok && outcome.auth.clientId).toBe('c');
    // Opting out of the type check keeps the rest: expiry is still required.
    expect(
      refusal(
        await check(
          await KeyServer.sign(key, { iss: keys.issuer, aud: RESOURCE }, { typ: 'JWT' }),
          lax,
        ),
      ).description,
    ).toBe('the access token has no exp claim');
  });

  it('refuses a token signed by a key the issuer does not publish', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT(keys.claims(RESOURCE))
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
      .sign(privateKey);
    expect(refusal(await check(foreign))).toMatchObject({
      status: 401,
      description: 'the access token signature is invalid',
    });
    const unknownKid = await new SignJWT(keys.claims(RESOURCE))
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'made-up' })
      .sign(privateKey);
    expect(refusal(await check(unknownKid)).description).toBe(
      'the access token is not signed with a key of the issuer',
    );
  });

  it('refuses alg none and algorithms outside the allowed list', async () => {
    const unsecured = new UnsecuredJWT(keys.claims(RESOURCE)).encode();
    expect(refusal(await check(unsecured)).description).toBe(
      'the access token is signed with an algorithm this resource does not accept',
    );
    const rsa = await keys.addKey('RS256');
    const eddsa = await keys.addKey('EdDSA');
    const es384 = await keys.addKey('ES384');
    const fresh = make();
    expect((await check(await KeyServer.sign(rsa, keys.claims(RESOURCE)), fresh)).ok).toBe(true);
    expect((await check(await KeyServer.sign(eddsa, keys.claims(RESOURCE)), fresh)).ok).toBe(true);
    expect(
      refusal(await check(await KeyServer.sign(es384, keys.claims(RESOURCE)), fresh)).description,
    ).toBe('the access token is signed with an algorithm this resource does not accept');
    const onlyEs256 = make({ algorithms: ['ES256'] });
    expect(
      refusal(await check(await KeyServer.sign(rsa, keys.claims(RESOURCE)), onlyEs256)).description,
    ).toBe('the access token is signed with an algorithm this resource does not accept');
    expect(
      (
        await check(
          await KeyServer.sign(es384, keys.claims(RESOURCE)),
          make({ algorithms: ['ES384'] }),
        )
      ).ok,
    ).toBe(true);
  });

  it('never repeats anything from the token in the refusal', async () => {
    const marker = 'MARKER"\\<script>';
    const claims = keys.claims(RESOURCE, {
      iss: `https://${marker}.example`,
      aud: marker,
      scope: marker,
      client_id: marker,
    });
    const tokens = [
      await KeyServer.sign(key, claims),
      await KeyServer.sign(key, keys.claims(RESOURCE, { aud: marker })),
      await KeyServer.sign(key, keys.claims(RESOURCE), { typ: marker }),
      await KeyServer.sign(key, keys.claims(RESOURCE), { kid: marker }),
      `${Buffer.from(marker).toString('base64url')}.e30.e30`,
    ];
    for (const token of tokens) {
      const { failure } = refusal(await check(token));
      const text = JSON.stringify(failure.headers) + (failure.body ?? '');
      expect(text).not.toContain('MARKER');
      expect(text).not.toContain(token);
    }
  });
});

describe('keys: rotation, cooldown, discovery and outages', () => {
  let keys: KeyServer;
  beforeAll(async () => {
    keys = await KeyServer.start();
  });
  afterAll(async () => {
    await keys.close();
  });

  it('picks up a rotated key: an unknown kid makes it fetch the keys again', async () => {
    const first = await keys.rotate();
    const rs = createResourceServer({
      resource: RESOURCE,
      issuer: keys.issuer,
      jwksUri: keys.jwksUri,
      jwksCooldownMs: 0,
    });
    const fetches = keys.jwksFetches;
    const old = await KeyServer.sign(first, keys.claims(RESOURCE));
    expect((await rs.authenticate(bearer(old))).ok).toBe(true);
    expect((await rs.authenticate(bearer(old))).ok).toBe(true);
    expect(keys.jwksFetches - fetches).toBe(1); // cached
    const second = await keys.rotate();
    const rotated = await KeyServer.sign(second, keys.claims(RESOURCE));
    expect((await rs.authenticate(bearer(rotated))).ok).toBe(true);
    expect(keys.jwksFetches - fetches).toBe(2);
    // The retired key is gone from the refetched set.
    expect(refusal(await rs.authenticate(bearer(old))).description).toBe(
      'the access token is not signed with a key of the issuer',
    );
  });

  it('does not refetch for an unknown kid within the cooldown, then does', async () => {
    const first = await keys.rotate();
    const rs = createResourceServer({
      resource: RESOURCE,
      issuer: keys.issuer,
      jwksUri: keys.jwksUri,
      jwksCooldownMs: 300,
    });
    const fetches = keys.jwksFetches;
    expect(
      (await rs.authenticate(bearer(await KeyServer.sign(first, keys.claims(RESOURCE))))).ok,
    ).toBe(true);
    const second = await keys.rotate();
    const token = await KeyServer.sign(second, keys.claims(RESOURCE));
    // Made-up or brand-new kids within the cooldown cost the issuer nothing.
    for (let i = 0; i < 5; i++) expect((await rs.authenticate(bearer(token))).ok).toBe(false);
    expect(keys.jwksFetches - fetches).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
    expect(keys.jwksFetches - fetches).toBe(2);
  });

  it('falls back to OpenID discovery; refuses metadata naming another issuer', async () => {
    const key = await keys.rotate();
    const token = await KeyServer.sign(key, keys.claims(RESOURCE));
    keys.metadataMode = 'openid';
    expect(
      (
        await createResourceServer({ resource: RESOURCE, issuer: keys.issuer }).authenticate(
          bearer(token),
        )
      ).ok,
    ).toBe(true);
    keys.metadataMode = 'wrong-issuer';
    const misled = refusal(
      await createResourceServer({ resource: RESOURCE, issuer: keys.issuer }).authenticate(
        bearer(token),
      ),
    );
    expect(misled).toMatchObject({ status: 503, error: 'server_error' });
    expect(String(misled.failure.cause)).toMatch(/is not http:\/\/127\.0\.0\.1:\d+\/tenant\/one/);
    keys.metadataMode = 'rfc8414';
  });

  it('503 while discovery fails, retried after 5 s; the token is not blamed', async () => {
    const key = await keys.rotate();
    const token = await KeyServer.sign(key, keys.claims(RESOURCE));
    keys.metadataMode = 'none';
    let now = Date.now();
    const rs = createResourceServer({ resource: RESOURCE, issuer: keys.issuer, clock: () => now });
    const fetches = keys.metadataFetches;
    const down = refusal(await rs.authenticate(bearer(token)));
    expect(down).toMatchObject({
      status: 503,
      error: 'server_error',
      description: 'the authorization server metadata could not be read',
    });
    expect(down.failure.headers['www-authenticate']).toBeUndefined();
    expect(down.failure.body).toBe(
      JSON.stringify({
        error: 'server_error',
        error_description: 'the authorization server metadata could not be read',
      }),
    );
    expect(keys.metadataFetches - fetches).toBe(2); // RFC 8414, then OpenID
    keys.metadataMode = 'rfc8414';
    expect(refusal(await rs.authenticate(bearer(token))).status).toBe(503);
    expect(keys.metadataFetches - fetches).toBe(2); // not retried yet
    now += 5_000;
    expect((await rs.authenticate(bearer(token))).ok).toBe(true);
  });

  it('503 when the JWKS cannot be fetched', async () => {
    const key = await keys.rotate();
    const rs = createResourceServer({
      resource: RESOURCE,
      issuer: keys.issuer,
      jwksUri: `${await deadUrl()}/keys`,
    });
    expect(
      refusal(await rs.authenticate(bearer(await KeyServer.sign(key, keys.claims(RESOURCE))))),
    ).toMatchObject({
      status: 503,
      description: 'the authorization server keys could not be fetched',
    });
  });
});
