/**
 * private_key_jwt client authentication (RFC 7523 §2.2 and §3, OIDC Core §9): a client proves
 * who it is with a JWT signed by one of its registered keys. Every check is attacked here: replay
 * (also across two servers on one PostgreSQL), a wrong audience, expiry, `alg: none`, HS256 keyed
 * with the public key, a secret client or a keyed one switching method, iss ≠ sub, and the
 * jwks_uri fetch (SSRF guard, cache, one rate-limited refetch on an unknown kid).
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig, startServer, type RunningServer } from '../src/index.js';
import { DATABASES, throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, TEST_SECRET_KEY, type TestServer } from './support/server.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ENV = 'development';
const ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'] as const;

interface Key {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function newKey(alg: string, kid: string = randomUUID()): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** An assertion as a library makes one (oauth4webapi: aud = issuer, 60 s), with overrides. */
async function assertion(
  key: Key,
  clientId: string,
  aud: string | string[],
  now: number,
  overrides: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const s = Math.floor(now / 1000);
  // An override of undefined leaves the claim out.
  const claims = Object.fromEntries(
    Object.entries<unknown>({
      iss: clientId,
      sub: clientId,
      aud,
      jti: randomUUID(),
      iat: s,
      exp: s + 60,
      ...overrides,
    }).filter(([, value]) => value !== undefined),
  );
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function post(url: string, form: Record<string, string>): Promise<Reply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('private_key_jwt on SQLite', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let issuer: string;
  let tokenUrl: string;
  const keys: Key[] = [];
  let clientId: string;

  const tokenForm = (clientAssertion: string, extra: Record<string, string> = {}) => ({
    grant_type: 'client_credentials',
    scope: 'reports:read',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: clientAssertion,
    ...extra,
  });

  /** A confidential client registered for private_key_jwt with `jwks` (the store's fields). */
  async function keyedClient(
    jwks: { keys: JWK[] } | null,
    jwksUri: string | null = null,
  ): Promise<string> {
    const created = await t.client({
      type: 'web',
      name: 'Keyed',
      redirectUris: ['https://app.example.com/callback'],
      grantTypes: ['client_credentials', 'authorization_code'],
      scopes: ['reports:read'],
    });
    await t.server.stores.clients.update(
      ENV,
      created.clientId,
      {
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks,
        jwksUri,
        secretHash: null,
      },
      Date.now(),
    );
    return created.clientId;
  }

  beforeAll(async () => {
    db = await DATABASES[0].create();
    t = await startTestServer(db);
    issuer = t.issuer(ENV);
    tokenUrl = `${issuer}/token`;
    for (const alg of ALGS) keys.push(await newKey(alg));
    clientId = await keyedClient({ keys: keys.map((k) => k.jwk) });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const key = (alg: string) => {
    const found = keys.find((k) => k.alg === alg);
    if (found === undefined) throw new Error(alg);
    return found;
  };

  it('discovery advertises private_key_jwt and exactly the algorithms it accepts', async () => {
    const metadata = (await (
      await fetch(`${issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(metadata.revocation_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(metadata.introspection_endpoint_auth_methods_supported).toContain('private_key_jwt');
    for (const name of [
      'token_endpoint_auth_signing_alg_values_supported',
      'revocation_endpoint_auth_signing_alg_values_supported',
      'introspection_endpoint_auth_signing_alg_values_supported',
    ])
      expect(metadata[name], name).toEqual([...ALGS]);
  });

  it.each(ALGS)('accepts an assertion signed with %s', async (alg) => {
    const reply = await post(
      tokenUrl,
      tokenForm(await assertion(key(alg), clientId, issuer, Date.now())),
    );
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.access_token).toEqual(expect.any(String));
  });

  it('accepts the token endpoint URL as audience (OIDC Core §9), and client_id alongside', async () => {
    const signed = await assertion(key('ES256'), clientId, tokenUrl, Date.now());
    const reply = await post(tokenUrl, tokenForm(signed, { client_id: clientId }));
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    // A list of this server's own names (openid-client 5 sent issuer and token endpoint).
    const both = await assertion(key('ES256'), clientId, [issuer, tokenUrl], Date.now());
    expect((await post(tokenUrl, tokenForm(both))).status).toBe(200);
  });

  it('refuses a replayed assertion: its jti is used once', async () => {
    const signed = await assertion(key('ES256'), clientId, issuer, Date.now());
    expect((await post(tokenUrl, tokenForm(signed))).status).toBe(200);
    const replay = await post(tokenUrl, tokenForm(signed));
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');
    expect(replay.body.error_description).toMatch(/used before/);
    // Audited once for the operator (repeats in the window are only counted).
    await post(tokenUrl, tokenForm(signed));
    const jti = decodeJwt(signed).jti;
    const entries = await t.server.stores.audit.tail({
      type: 'client.assertion_replayed',
      clientId,
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]?.data).toMatchObject({ jti });
    // A fresh assertion with the same jti is the same replay.
    const sameJti = await assertion(key('RS256'), clientId, issuer, Date.now(), {
      jti: decodeJwt(signed).jti,
    });
    expect((await post(tokenUrl, tokenForm(sameJti))).status).toBe(401);
  });

  it.each([
    ['another server', 'https://other.example.com'],
    ['another environment of this server', 'staging'],
    ['the introspection endpoint, presented at the token endpoint', 'introspect'],
    ['no audience at all', undefined],
    ['this issuer and another server', 'both'],
  ])('refuses an assertion whose aud is %s', async (_what, aud) => {
    const audience =
      aud === 'staging'
        ? t.issuer('staging')
        : aud === 'introspect'
          ? `${issuer}/introspect`
          : aud === 'both'
            ? [issuer, 'https://other.example.com']
            : aud;
    const signed = await assertion(key('ES256'), clientId, issuer, Date.now(), {
      aud: audience,
    });
    const reply = await post(tokenUrl, tokenForm(signed));
    expect(reply.status).toBe(401);
    expect(reply.body.error).toBe('invalid_client');
    expect(reply.body.error_description).toMatch(/aud/);
  });

  it.each([
    ['expired a minute ago', { exp: -60 }, /expired/],
    ['valid for an hour', { exp: 3600 }, /exp is more than 300 seconds ahead/],
    ['issued in the future', { iat: 200, exp: 260 }, /iat is in the future/],
    ['without exp', { exp: undefined }, /no exp claim/],
    ['without jti', { jti: undefined }, /no jti claim/],
    ['not yet valid', { nbf: 600 }, /nbf/],
  ] as const)('refuses an assertion %s', async (_what, times, message) => {
    const now = Date.now();
    const s = Math.floor(now / 1000);
    const overrides: Record<string, unknown> = {};
    for (const [claim, offset] of Object.entries(times))
      overrides[claim] = offset === undefined ? undefined : s + offset;
    const signed = await assertion(key('ES256'), clientId, issuer, now, overrides);
    const reply = await post(tokenUrl, tokenForm(signed));
    expect(reply.status).toBe(401);
    expect(reply.body.error_description).toMatch(message);
  });

  it('refuses alg none (an unsigned assertion)', async () => {
    const s = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: clientId, sub: clientId, aud: issuer, jti: randomUUID(), exp: s + 60 })}.`;
    const reply = await post(tokenUrl, tokenForm(unsigned));
    expect(reply.status).toBe(401);
    expect(reply.body.error_description).toMatch(/alg none is not accepted/);
  });

  it('refuses HS256 keyed with the public key (algorithm confusion)', async () => {
    const rsa = key('RS256');
    const pem = createPublicKey({ key: rsa.jwk as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const s = Math.floor(Date.now() / 1000);
    for (const secret of [pem, JSON.stringify(rsa.jwk), rsa.jwk.n ?? '']) {
      const forged = await new SignJWT({
        iss: clientId,
        sub: clientId,
        aud: issuer,
        jti: randomUUID(),
        exp: s + 60,
      })
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(new TextEncoder().encode(secret));
      const reply = await post(tokenUrl, tokenForm(forged));
      expect(reply.status).toBe(401);
      expect(reply.body.error_description).toMatch(/alg HS256 is not accepted/);
    }
  });

  it('tries each fitting key when the client registered its keys without kids', async () => {
    const [older, newer] = [await newKey('ES256'), await newKey('ES256')];
    const strip = (jwk: JWK): JWK =>
      Object.fromEntries(Object.entries(jwk).filter(([name]) => name !== 'kid'));
    const id = await keyedClient({ keys: [strip(older.jwk), strip(newer.jwk)] });
    for (const signing of [older, newer]) {
      const signed = await new SignJWT({
        iss: id,
        sub: id,
        aud: issuer,
        jti: randomUUID(),
        exp: Math.floor(Date.now() / 1000) + 60,
      })
        .setProtectedHeader({ alg: 'ES256' })
        .sign(signing.privateKey);
      const reply = await post(tokenUrl, tokenForm(signed));
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    }
    const stranger = await newKey('ES256');
    const forged = await new SignJWT({
      iss: id,
      sub: id,
      aud: issuer,
      jti: randomUUID(),
      exp: Math.floor(Date.now() / 1000) + 60,
    })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(stranger.privateKey);
    const refused = await post(tokenUrl, tokenForm(forged));
    expect(refused.status).toBe(401);
    expect(refused.body.error_description).toMatch(/signature does not verify/);
    // The right key but expired: the answer is the expiry, not a signature failure.
    const expired = await new SignJWT({
      iss: id,
      sub: id,
      aud: issuer,
      jti: randomUUID(),
      exp: Math.floor(Date.now() / 1000) - 120,
    })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(newer.privateKey);
    expect((await post(tokenUrl, tokenForm(expired))).body.error_description).toMatch(/expired/);
  });

  it('refuses an assertion signed by a key the client never registered, even under its kid', async () => {
    const stranger = await newKey('ES256', key('ES256').kid);
    const reply = await post(
      tokenUrl,
      tokenForm(await assertion(stranger, clientId, issuer, Date.now())),
    );
    expect(reply.status).toBe(401);
    expect(reply.body.error_description).toMatch(/signature does not verify/);
  });

  it('refuses iss ≠ sub, and a client_id that is not the assertion’s', async () => {
    const other = await keyedClient({ keys: [key('ES256').jwk] });
    const mixed = await assertion(key('ES256'), clientId, issuer, Date.now(), { iss: other });
    const reply = await post(tokenUrl, tokenForm(mixed));
    expect(reply.status).toBe(401);
    expect(reply.body.error_description).toMatch(/iss and sub/);
    const signed = await assertion(key('ES256'), clientId, issuer, Date.now());
    const named = await post(tokenUrl, tokenForm(signed, { client_id: other }));
    expect(named.status).toBe(401);
    expect(named.body.error_description).toMatch(/client_id does not match/);
  });

  it('refuses a client with a secret that presents an assertion, and a keyed client that sends a secret', async () => {
    // A secret client that (somehow) has keys too: its registered method is the secret.
    const secretClient = await t.client({
      type: 'web',
      name: 'Secret',
      redirectUris: ['https://app.example.com/callback'],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
    });
    await t.server.stores.clients.update(
      ENV,
      secretClient.clientId,
      { jwks: { keys: [key('ES256').jwk] } },
      Date.now(),
    );
    const signed = await assertion(key('ES256'), secretClient.clientId, issuer, Date.now());
    const reply = await post(tokenUrl, tokenForm(signed));
    expect(reply.status).toBe(401);
    expect(reply.body.error_description).toMatch(/not registered for private_key_jwt/);
    // Both at once is never accepted (RFC 7521 §4.2.1).
    const both = await post(
      tokenUrl,
      tokenForm(signed, { client_secret: secretClient.clientSecret ?? '' }),
    );
    expect(both.status).toBe(401);
    const basic = Buffer.from(
      `${secretClient.clientId}:${secretClient.clientSecret ?? ''}`,
    ).toString('base64');
    const withBasic = await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${basic}`,
      },
      body: new URLSearchParams(tokenForm(signed)),
    });
    expect(withBasic.status).toBe(401);
    expect(((await withBasic.json()) as { error_description: string }).error_description).toMatch(
      /one client authentication method/,
    );

    // The other way: a private_key_jwt client that still has a secret cannot use it.
    await t.server.stores.clients.update(
      ENV,
      secretClient.clientId,
      { tokenEndpointAuthMethod: 'private_key_jwt' },
      Date.now(),
    );
    const withSecret = await post(tokenUrl, {
      grant_type: 'client_credentials',
      scope: 'reports:read',
      client_id: secretClient.clientId,
      client_secret: secretClient.clientSecret ?? '',
    });
    expect(withSecret.status).toBe(401);
    expect(withSecret.body.error_description).toMatch(/signed client assertion/);
  });

  it('refuses a public client presenting an assertion', async () => {
    const native = await t.client({
      type: 'native',
      name: 'Native',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    await t.server.stores.clients.update(
      ENV,
      native.clientId,
      {
        jwks: { keys: [key('ES256').jwk] },
        tokenEndpointAuthMethod: 'private_key_jwt',
      },
      Date.now(),
    );
    const signed = await assertion(key('ES256'), native.clientId, issuer, Date.now());
    const reply = await post(tokenUrl, tokenForm(signed));
    expect(reply.status).toBe(401);
  });

  it('refuses a wrong or missing client_assertion_type', async () => {
    const signed = await assertion(key('ES256'), clientId, issuer, Date.now());
    const wrong = await post(
      tokenUrl,
      tokenForm(signed, {
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
      }),
    );
    expect(wrong.status).toBe(401);
    const noType: Record<string, string> = tokenForm(signed);
    delete noType.client_assertion_type;
    expect((await post(tokenUrl, noType)).status).toBe(401);
  });

  it('authenticates at introspection and revocation, with their own URL as audience too', async () => {
    const token = await post(
      tokenUrl,
      tokenForm(await assertion(key('ES256'), clientId, issuer, Date.now())),
    );
    const accessToken = String(token.body.access_token);
    const introspectUrl = `${issuer}/introspect`;
    const introspected = await post(introspectUrl, {
      token: accessToken,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(key('RS256'), clientId, introspectUrl, Date.now()),
    });
    expect(introspected.status, JSON.stringify(introspected.body)).toBe(200);
    expect(introspected.body).toMatchObject({ active: true, client_id: clientId });
    const revokeUrl = `${issuer}/revoke`;
    const revoked = await post(revokeUrl, {
      token: accessToken,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(key('EdDSA'), clientId, issuer, Date.now()),
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    const after = await post(introspectUrl, {
      token: accessToken,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(key('PS256'), clientId, issuer, Date.now()),
    });
    expect(after.body).toEqual({ active: false });
  });

  it('a client registered through the clients service authenticates at PAR, its URL the audience', async () => {
    const created = await t.client({
      type: 'web',
      name: 'Pushing',
      redirectUris: ['https://app.example.com/callback'],
      jwks: { keys: [key('ES256').jwk] },
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    // A private_key_jwt client has no secret at all.
    expect(created.clientSecret).toBeUndefined();
    const parUrl = `${issuer}/par`;
    const push = async (aud: string) =>
      post(parUrl, {
        response_type: 'code',
        client_id: created.clientId,
        redirect_uri: 'https://app.example.com/callback',
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await assertion(key('ES256'), created.clientId, aud, Date.now()),
      });
    const pushed = await push(parUrl);
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
    expect(pushed.body.request_uri).toEqual(expect.any(String));
    expect((await push(issuer)).status).toBe(201);
    // Another server's PAR endpoint is not this one.
    const elsewhere = await push('https://other.example.com/e/development/par');
    expect(elsewhere.status).toBe(401);
    // Nor is the PAR URL an audience at the token endpoint.
    const atToken = await post(tokenUrl, {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(key('ES256'), created.clientId, parUrl, Date.now()),
    });
    expect(atToken.status).toBe(401);
    expect(atToken.body.error_description).toMatch(/aud/);
  });

  it('refuses a registered jwks that holds a private or symmetric key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'p' };
    for (const bad of [privateJwk, { kty: 'oct', k: 'c2VjcmV0', kid: 'p' }]) {
      const id = await keyedClient({ keys: [bad] });
      const reply = await post(
        tokenUrl,
        tokenForm(await assertion(key('ES256'), id, issuer, Date.now())),
      );
      expect(reply.status).toBe(401);
      expect(reply.body.error_description).toMatch(/private key material|not RSA, EC or OKP/);
    }
  });

  describe('jwks_uri', () => {
    let jwksServer: Server;
    let jwksBase: string;
    let served: { keys: JWK[] } = { keys: [] };
    let fetches = 0;

    beforeAll(async () => {
      jwksServer = createServer((request, response) => {
        fetches++;
        if (request.url === '/broken') {
          response.writeHead(500).end();
          return;
        }
        const body =
          request.url === '/huge'
            ? JSON.stringify({ keys: served.keys, padding: 'x'.repeat(20_000) })
            : JSON.stringify(served);
        response.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(body);
      });
      await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
      jwksBase = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
    });
    afterAll(
      () =>
        new Promise<void>((resolve) => {
          jwksServer.close(() => {
            resolve();
          });
        }),
    );

    const allowLoopback = (allowed: boolean) =>
      t.server.stores.environments.update(ENV, { allowLoopbackDocuments: allowed });

    it('is not fetched from this machine unless the development environment allows it', async () => {
      await allowLoopback(false);
      served = { keys: [key('ES256').jwk] };
      const id = await keyedClient(null, `${jwksBase}/not-allowed`);
      fetches = 0;
      const reply = await post(
        tokenUrl,
        tokenForm(await assertion(key('ES256'), id, issuer, Date.now())),
      );
      expect(reply.status).toBe(401);
      expect(reply.body.error_description).toMatch(
        /jwks_uri could not be used: it is on this machine/,
      );
      expect(fetches).toBe(0);
    });

    it('never fetches an internal address (SSRF), development or not', async () => {
      await allowLoopback(true);
      for (const uri of [
        'https://10.0.0.1/jwks',
        'https://169.254.169.254/latest/meta-data',
        'https://[::ffff:192.168.0.1]/jwks',
      ]) {
        const id = await keyedClient(null, uri);
        const reply = await post(
          tokenUrl,
          tokenForm(await assertion(key('ES256'), id, issuer, Date.now())),
        );
        expect(reply.status, uri).toBe(401);
        expect(reply.body.error_description, uri).toMatch(/internal address/);
      }
    });

    it('caches the set, refetches once on an unknown kid, and no more often than every 30 s', async () => {
      await allowLoopback(true);
      // Its own server with a clock the test moves; the jwks server is shared.
      const clockDb = await DATABASES[0].create();
      let now = Date.now();
      const clocked = await startTestServer(clockDb, { clock: () => now });
      try {
        await clocked.server.stores.environments.update(ENV, { allowLoopbackDocuments: true });
        const created = await clocked.client({
          type: 'web',
          name: 'Rotating',
          redirectUris: ['https://app.example.com/callback'],
          grantTypes: ['client_credentials'],
          scopes: ['reports:read'],
        });
        const id = created.clientId;
        await clocked.server.stores.clients.update(
          ENV,
          id,
          {
            tokenEndpointAuthMethod: 'private_key_jwt',
            jwksUri: `${jwksBase}/rotating`,
            secretHash: null,
          },
          now,
        );
        const iss = clocked.issuer(ENV);
        const url = `${iss}/token`;
        const first = await newKey('ES256');
        const second = await newKey('ES256');
        served = { keys: [first.jwk] };
        fetches = 0;
        const use = async (signing: Key) =>
          (await post(url, tokenForm(await assertion(signing, id, iss, now)))).status;

        expect(await use(first)).toBe(200);
        expect(await use(first)).toBe(200);
        expect(fetches).toBe(1);

        // The client rotates in a second key. Within 30 s of the last fetch it is not fetched.
        served = { keys: [first.jwk, second.jwk] };
        now += 10_000;
        expect(await use(second)).toBe(401);
        expect(fetches).toBe(1);
        // Past the interval an unknown kid refetches once, and the new key works.
        now += 21_000;
        expect(await use(second)).toBe(200);
        expect(fetches).toBe(2);
        // Made-up kids right after: refused without another fetch each.
        for (let i = 0; i < 5; i++) expect(await use(await newKey('ES256'))).toBe(401);
        expect(fetches).toBe(2);
        // After five minutes the set is fetched again anyway: a removed key stops working.
        served = { keys: [second.jwk] };
        now += 5 * 60_000;
        expect(await use(first)).toBe(401);
        expect(fetches).toBe(3);
        expect(await use(second)).toBe(200);
        expect(fetches).toBe(3);
      } finally {
        await clocked.close();
        await clockDb.drop();
      }
    });

    it('remembers a failing jwks_uri: one fetch, however many assertions arrive', async () => {
      await allowLoopback(true);
      const id = await keyedClient(null, `${jwksBase}/broken`);
      fetches = 0;
      for (let i = 0; i < 4; i++) {
        const reply = await post(
          tokenUrl,
          tokenForm(await assertion(key('ES256'), id, issuer, Date.now())),
        );
        expect(reply.status).toBe(401);
        expect(reply.body.error_description).toMatch(/jwks_uri could not be used: .*500/);
      }
      expect(fetches).toBe(1);
    });

    it('refuses a key set larger than 16 KB', async () => {
      await allowLoopback(true);
      served = { keys: [key('ES256').jwk] };
      const id = await keyedClient(null, `${jwksBase}/huge`);
      const reply = await post(
        tokenUrl,
        tokenForm(await assertion(key('ES256'), id, issuer, Date.now())),
      );
      expect(reply.status).toBe(401);
      expect(reply.body.error_description).toMatch(/larger than 16384 bytes/);
    });

    it('refuses a jwks_uri document that serves a private key', async () => {
      await allowLoopback(true);
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      served = { keys: [{ ...(await exportJWK(privateKey)), kid: 'leak' }] };
      const id = await keyedClient(null, `${jwksBase}/leaky`);
      const reply = await post(
        tokenUrl,
        tokenForm(await assertion(key('ES256'), id, issuer, Date.now())),
      );
      expect(reply.status).toBe(401);
      expect(reply.body.error_description).toMatch(/private key material/);
    });
  });
});

describe.each(DATABASES)('the jti store on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('takes a jti once until it expires, then housekeeping removes it', async () => {
    const jtis = t.server.stores.clientAssertionJtis;
    expect(await jtis.use(ENV, 'c1', 'j', 2_000, 1_000)).toBe(true);
    expect(await jtis.use(ENV, 'c1', 'j', 2_500, 1_500)).toBe(false);
    // Another client's jti space is its own.
    expect(await jtis.use(ENV, 'c2', 'j', 2_000, 1_000)).toBe(true);
    // A row of an expired assertion does not count as a use.
    expect(await jtis.use(ENV, 'c1', 'j', 3_000, 2_000)).toBe(true);
    expect(await jtis.use(ENV, 'c1', 'j', 3_000, 2_999)).toBe(false);
    // Only one of many concurrent uses wins.
    const results = await Promise.all(
      Array.from({ length: 10 }, () => jtis.use(ENV, 'c3', 'race', 10_000, 1_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await t.server.stores.expired.deleteExpired('client_assertion_jtis', 3_000, 100)).toBe(
      2,
    );
    expect(await jtis.use(ENV, 'c3', 'race', 20_000, 3_000)).toBe(false);
  });
});

describe('a replayed assertion across two servers on one PostgreSQL', () => {
  let db: ThrowawayDatabase;
  const servers: RunningServer[] = [];
  const ports: number[] = [];
  const BASE = 'https://auth.example.com';

  beforeAll(async () => {
    db = await throwawayPostgres();
    if (db.target.kind !== 'postgres') throw new Error('postgres expected');
    for (let i = 0; i < 2; i++) {
      const config = resolveServerConfig(
        { port: 0, databaseUrl: db.target.url, secretKey: TEST_SECRET_KEY, baseUrl: BASE },
        process.cwd(),
      );
      const server = await startServer(config, { logger: false });
      servers.push(server);
      ports.push((server.app.server.address() as AddressInfo).port);
    }
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await db.drop();
  });

  it('is refused by the other process, and of concurrent uses exactly one wins', async () => {
    const [a] = servers;
    if (a === undefined) throw new Error('no server');
    const key = await newKey('ES256');
    const { createClient } = await import('../src/services/clients.js');
    const created = await createClient(
      { stores: a.stores, clock: Date.now, actor: 'admin:test' },
      {
        environment: ENV,
        type: 'web',
        name: 'Two processes',
        redirectUris: ['https://app.example.com/callback'],
        grantTypes: ['client_credentials'],
        scopes: ['reports:read'],
      },
    );
    const id = created.client.clientId;
    await a.stores.clients.update(
      ENV,
      id,
      { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [key.jwk] } },
      Date.now(),
    );
    const issuer = `${BASE}/e/${ENV}`;
    const at = (i: number) => `http://127.0.0.1:${ports[i]}/e/${ENV}/token`;
    const form = (signed: string) => ({
      grant_type: 'client_credentials',
      scope: 'reports:read',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: signed,
    });

    const signed = await assertion(key, id, issuer, Date.now());
    expect((await post(at(0), form(signed))).status).toBe(200);
    const replay = await post(at(1), form(signed));
    expect(replay.status).toBe(401);
    expect(replay.body.error_description).toMatch(/used before/);

    for (let round = 0; round < 5; round++) {
      const raced = await assertion(key, id, issuer, Date.now());
      const statuses = await Promise.all(
        [0, 1, 0, 1].map(async (i) => (await post(at(i), form(raced))).status),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    }
  });
});
