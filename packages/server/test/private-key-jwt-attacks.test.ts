/**
 * An adversarial review of private_key_jwt (RFC 7523 §2.2/§3, OIDC Core §9, RFC 7521): attacks
 * beyond the checks private-key-jwt.test.ts covers. Keys that make each verification expensive
 * (a huge RSA public exponent or modulus, registered by anyone through dynamic registration or
 * served at a jwks_uri), header injection (`jwk`, `jku`, `x5u`), algorithm and key-type
 * confusion, keys not meant for signing, jti abuse, the jti's life against the assertion's, a race
 * of one assertion on two endpoints, audiences of other environments, and a client switching
 * between a secret and keys.
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateClient } from '../src/services/clients.js';
import { throwawayPostgres, throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ENV = 'development';
const CALLBACK = 'https://app.example.com/callback';

interface Key {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function newKey(alg: string, options: Record<string, unknown> = {}): Promise<Key> {
  const kid = randomUUID();
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid } };
}

function sign(
  key: { privateKey: CryptoKey; alg: string; kid?: string | undefined },
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({
      alg: key.alg,
      ...(key.kid === undefined ? {} : { kid: key.kid }),
      ...header,
    })
    .sign(key.privateKey);
}

function claims(clientId: string, aud: string | string[], now = Date.now()) {
  const s = Math.floor(now / 1000);
  return { iss: clientId, sub: clientId, aud, jti: randomUUID(), iat: s, exp: s + 60 };
}

async function post(
  url: string,
  body: unknown,
  json = false,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
    body: json ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>),
  });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed };
}

const b64u = (value: bigint): string => {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Buffer.from(hex, 'hex').toString('base64url');
};

/**
 * An RSA public key whose exponent is almost as long as its modulus: valid for Node, and each
 * verification with it costs as much as a private-key operation without CRT (about 8 ms for
 * 3072 bits, against 0.06 ms with e = 65537).
 */
let modulus3072: string | undefined;
function hugeExponentJwk(kid: string): JWK {
  modulus3072 ??= generateKeyPairSync('rsa', { modulusLength: 3072 }).publicKey.export({
    format: 'jwk',
  }).n;
  const n = modulus3072 ?? '';
  const e = (1n << 3063n) | BigInt(`0x${randomBytes(383).toString('hex')}`) | 1n;
  return { kty: 'RSA', n, e: b64u(e % (1n << 3064n)), kid };
}

/** An RSA "key" with a 16384-bit modulus (any odd number will do: only the public half is read). */
function hugeModulusJwk(kid: string): JWK {
  const n = (1n << 16383n) | BigInt(`0x${randomBytes(2048).toString('hex')}`) | 1n;
  return { kty: 'RSA', n: b64u(n % (1n << 16384n)), e: 'AQAB', kid };
}

describe('private_key_jwt under attack (SQLite)', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let issuer: string;
  let tokenUrl: string;
  let jwksServer: Server;
  let jwksBase: string;
  const documents = new Map<string, unknown>();
  let fetched: string[] = [];

  const form = (assertion: string, extra: Record<string, string> = {}) => ({
    grant_type: 'client_credentials',
    scope: 'reports:read',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: assertion,
    ...extra,
  });

  /** A web client registered for private_key_jwt through the store (no validation). */
  async function keyedClient(jwks: { keys: JWK[] } | null, jwksUri: string | null = null) {
    const created = await t.client({
      type: 'web',
      name: 'Keyed',
      redirectUris: [CALLBACK],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
    });
    await t.server.stores.clients.update(
      ENV,
      created.clientId,
      { tokenEndpointAuthMethod: 'private_key_jwt', jwks, jwksUri, secretHash: null },
      Date.now(),
    );
    return created.clientId;
  }

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    issuer = t.issuer(ENV);
    tokenUrl = `${issuer}/token`;
    await t.server.stores.environments.update(ENV, {
      allowLoopbackDocuments: true,
      registration: 'open',
    });
    jwksServer = createServer((request, response) => {
      fetched.push(request.url ?? '');
      if (request.url === '/redirect') {
        response.writeHead(302, { location: '/enc.json' }).end();
        return;
      }
      if (request.url === '/html') {
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end(JSON.stringify(documents.get('/ok.json')));
        return;
      }
      if (request.url === '/silent') {
        // Headers, then nothing: the set never arrives.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"keys":[');
        return;
      }
      const document = documents.get(request.url ?? '');
      if (document === undefined) {
        response.writeHead(404).end();
        return;
      }
      response
        .writeHead(200, { 'content-type': 'application/jwk-set+json' })
        .end(JSON.stringify(document));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksBase = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      jwksServer.close(() => {
        resolve();
      });
    });
    await t.close();
    await db.drop();
  });

  describe('keys that make every verification expensive (CPU exhaustion)', () => {
    it('dynamic registration refuses an RSA key with a huge public exponent or modulus', async () => {
      for (const jwk of [hugeExponentJwk('e'), hugeModulusJwk('n')]) {
        const registered = await post(
          `${issuer}/register`,
          {
            client_name: 'Slow keys',
            redirect_uris: [CALLBACK],
            grant_types: ['authorization_code'],
            token_endpoint_auth_method: 'private_key_jwt',
            application_type: 'web',
            jwks: { keys: [jwk] },
          },
          true,
        );
        expect(registered.status, JSON.stringify(registered.body)).toBe(400);
        expect(registered.body.error).toBe('invalid_client_metadata');
        expect(registered.body.error_description).toMatch(/RSA/);
      }
    });

    it('refuses an RSA key with e = 1, whose "signatures" anyone can make (and an even e)', async () => {
      const rs = await newKey('RS256');
      const n = rs.jwk.n ?? '';
      for (const e of ['AQ', 'Ag', 'AQAA']) {
        const registered = await post(
          `${issuer}/register`,
          {
            client_name: 'Weak key',
            redirect_uris: [CALLBACK],
            grant_types: ['authorization_code'],
            token_endpoint_auth_method: 'private_key_jwt',
            application_type: 'web',
            jwks: { keys: [{ kty: 'RSA', n, e, kid: 'weak' }] },
          },
          true,
        );
        expect(registered.status, e).toBe(400);
        expect(registered.body.error_description).toMatch(/odd number of at least 3/);
      }
      // Stored anyway (from before the check): a forged RS256 signature with e = 1 is refused.
      const id = await keyedClient({ keys: [{ kty: 'RSA', n, e: 'AQ', kid: 'weak' }] });
      const [header, payload] = [{ alg: 'RS256', kid: 'weak' }, claims(id, issuer)].map((part) =>
        Buffer.from(JSON.stringify(part)).toString('base64url'),
      );
      const input = `${header}.${payload}`;
      const digestInfo = Buffer.concat([
        Buffer.from('3031300d060960864801650304020105000420', 'hex'),
        createHash('sha256').update(input).digest(),
      ]);
      const size = Buffer.from(n, 'base64url').length;
      const forged = Buffer.concat([
        Buffer.from([0, 1]),
        Buffer.alloc(size - digestInfo.length - 3, 0xff),
        Buffer.from([0]),
        digestInfo,
      ]).toString('base64url');
      const reply = await post(tokenUrl, form(`${input}.${forged}`));
      expect(reply.status).toBe(401);
      expect(reply.body.error_description).toMatch(/odd number of at least 3/);
    });

    it('a stored or fetched set with such a key is refused before any signature is checked', async () => {
      const slow = { keys: Array.from({ length: 10 }, (_, i) => hugeExponentJwk(`k${i}`)) };
      documents.set('/slow.json', slow);
      const rs = await newKey('RS256');
      for (const id of [
        await keyedClient(slow),
        await keyedClient(null, `${jwksBase}/slow.json`),
      ]) {
        // No kid: every RSA key of the set would be tried, ten slow verifications a request.
        const reply = await post(
          tokenUrl,
          form(await sign({ ...rs, kid: undefined }, claims(id, issuer))),
        );
        expect(reply.status).toBe(401);
        expect(reply.body.error_description).toMatch(/RSA/);
      }
    });
  });

  it('a jwks_uri that redirects, is not JSON, or never finishes is refused, not followed or waited on', async () => {
    const key = await newKey('ES256');
    documents.set('/ok.json', { keys: [key.jwk] });
    for (const [path, message] of [
      ['/redirect', /redirects are not followed/],
      ['/html', /not served as application\/json/],
      ['/silent', /did not arrive within/],
    ] as const) {
      const id = await keyedClient(null, `${jwksBase}${path}`);
      fetched = [];
      const reply = await post(tokenUrl, form(await sign(key, claims(id, issuer))));
      expect(reply.status, path).toBe(401);
      expect(reply.body.error_description, path).toMatch(message);
      expect(fetched, path).toEqual([path]);
    }
  });

  it('a jwks_uri host name that resolves to this machine is refused when loopback is not allowed', async () => {
    // /etc/hosts on the test machine names it vm; any name a DNS answer points at 127.0.0.1 is alike.
    const { lookup } = await import('node:dns/promises');
    const name = (await lookup('vm').catch(() => undefined)) === undefined ? 'localhost' : 'vm';
    const key = await newKey('ES256');
    documents.set('/ok.json', { keys: [key.jwk] });
    await t.server.stores.environments.update(ENV, { allowLoopbackDocuments: false });
    try {
      const port = (jwksServer.address() as AddressInfo).port;
      const id = await keyedClient(null, `https://${name}:${port}/ok.json`);
      fetched = [];
      const reply = await post(tokenUrl, form(await sign(key, claims(id, issuer))));
      expect(reply.status).toBe(401);
      expect(reply.body.error_description).toMatch(/this machine/);
      expect(fetched).toEqual([]);
    } finally {
      await t.server.stores.environments.update(ENV, { allowLoopbackDocuments: true });
    }
  });

  it('made-up kids on many clients sharing one jwks_uri: one fetch per client, however many requests', async () => {
    const key = await newKey('ES256');
    documents.set('/shared.json', { keys: [key.jwk] });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await keyedClient(null, `${jwksBase}/shared.json`));
    fetched = [];
    for (let round = 0; round < 5; round++)
      for (const id of ids) {
        const madeUp = await newKey('ES256');
        expect((await post(tokenUrl, form(await sign(madeUp, claims(id, issuer))))).status).toBe(
          401,
        );
      }
    expect(fetched).toHaveLength(ids.length);
    // Each client's cache is its own: another client's fetch never stands for it.
    expect((await post(tokenUrl, form(await sign(key, claims(ids[0] ?? '', issuer))))).status).toBe(
      200,
    );
  });

  describe('header injection: the client’s registered keys only', () => {
    let id: string;
    let registered: Key;
    beforeAll(async () => {
      registered = await newKey('ES256');
      id = await keyedClient({ keys: [registered.jwk] });
    });

    it('never trusts a jwk, jku or x5u header', async () => {
      const attacker = await newKey('ES256');
      documents.set('/attacker.json', { keys: [{ ...attacker.jwk, kid: registered.kid }] });
      fetched = [];
      for (const header of [
        { jwk: attacker.jwk },
        { jwk: { ...attacker.jwk, kid: registered.kid } },
        { jku: `${jwksBase}/attacker.json` },
        { x5u: `${jwksBase}/attacker.json` },
      ]) {
        const forged = await sign({ ...attacker, kid: registered.kid }, claims(id, issuer), header);
        const reply = await post(tokenUrl, form(forged));
        expect(reply.status, JSON.stringify(header)).toBe(401);
        expect(reply.body.error_description).toMatch(/signature does not verify/);
      }
      expect(fetched).toEqual([]);
    });

    it('refuses a crit header it does not understand, and b64: false', async () => {
      for (const header of [
        { crit: ['exp'], exp: 1 },
        { crit: ['b64'], b64: false },
      ]) {
        const signed = await sign(registered, claims(id, issuer), header).catch(() => undefined);
        if (signed === undefined) continue;
        expect((await post(tokenUrl, form(signed))).status, JSON.stringify(header)).toBe(401);
      }
    });
  });

  describe('algorithm and key confusion', () => {
    it('an RSA key registered for RS256 does not verify PS256, nor an EC P-384 key ES256', async () => {
      const rsa = await newKey('RS256');
      const id = await keyedClient({ keys: [{ ...rsa.jwk, alg: 'RS256' }] });
      // The same RSA key, as a key object jose will sign PS256 with.
      const keyObject = createPrivateKey({
        key: (await exportJWK(rsa.privateKey)) as never,
        format: 'jwk',
      });
      const asPs = await new SignJWT(claims(id, issuer))
        .setProtectedHeader({ alg: 'PS256', kid: rsa.kid })
        .sign(keyObject);
      expect((await post(tokenUrl, form(asPs))).status).toBe(401);
      expect((await post(tokenUrl, form(await sign(rsa, claims(id, issuer))))).status).toBe(200);

      const p384 = await newKey('ES384');
      const ecId = await keyedClient({ keys: [{ ...p384.jwk }] });
      const es384 = await sign(p384, claims(ecId, issuer));
      expect((await post(tokenUrl, form(es384))).body.error_description).toMatch(/alg ES384/);
    });

    it('keys meant for encryption (use enc, key_ops without verify) never verify', async () => {
      const enc = await newKey('ES256');
      const ops = await newKey('ES256');
      documents.set('/enc.json', {
        keys: [
          { ...enc.jwk, use: 'enc' },
          { ...ops.jwk, key_ops: ['encrypt', 'deriveKey'] },
        ],
      });
      const id = await keyedClient(null, `${jwksBase}/enc.json`);
      for (const key of [enc, ops]) {
        const reply = await post(tokenUrl, form(await sign(key, claims(id, issuer))));
        expect(reply.status).toBe(401);
        expect(reply.body.error_description).toMatch(/no key/);
      }
    });
  });

  describe('jti', () => {
    let id: string;
    let key: Key;
    beforeAll(async () => {
      key = await newKey('ES256');
      id = await keyedClient({ keys: [key.jwk] });
    });

    it('refuses a jti too long to be an identifier, and one with control characters', async () => {
      for (const jti of ['x'.repeat(257), 'a\u0000b', 'a\nb']) {
        const reply = await post(tokenUrl, form(await sign(key, { ...claims(id, issuer), jti })));
        expect(reply.status, JSON.stringify(jti)).toBe(401);
        expect(reply.body.error_description).toMatch(/jti/);
      }
    });

    it('one assertion raced at the token, introspection and revocation endpoints wins once', async () => {
      for (let round = 0; round < 3; round++) {
        const signed = await sign(key, claims(id, issuer));
        const statuses = await Promise.all([
          post(tokenUrl, form(signed)),
          post(`${issuer}/introspect`, {
            token: 'x',
            client_assertion_type: ASSERTION_TYPE,
            client_assertion: signed,
          }),
          post(`${issuer}/revoke`, {
            token: 'x',
            client_assertion_type: ASSERTION_TYPE,
            client_assertion: signed,
          }),
          post(tokenUrl, form(signed)),
        ]);
        expect(statuses.filter((r) => r.status === 200)).toHaveLength(1);
      }
    });

    it('refuses the audience of another environment’s endpoints, at each endpoint', async () => {
      const staging = t.issuer('staging');
      for (const [at, aud] of [
        [`${issuer}/introspect`, `${staging}/introspect`],
        [`${issuer}/revoke`, `${staging}/revoke`],
        [`${issuer}/par`, `${staging}/par`],
        [tokenUrl, `${staging}/token`],
        [tokenUrl, staging],
      ] as const) {
        const reply = await post(at, {
          ...(at === tokenUrl ? { grant_type: 'client_credentials' } : {}),
          ...(at.endsWith('/par')
            ? {
                response_type: 'code',
                redirect_uri: CALLBACK,
                code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
                code_challenge_method: 'S256',
              }
            : {}),
          token: 'x',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await sign(key, claims(id, aud)),
        });
        expect(reply.status, `${at} ${aud}`).toBe(401);
        expect(reply.body.error_description).toMatch(/aud/);
      }
    });

    it('a huge assertion is refused without harm', async () => {
      const big = await sign(key, { ...claims(id, issuer), padding: 'x'.repeat(500_000) });
      const reply = await post(tokenUrl, form(big));
      expect([400, 401, 413]).toContain(reply.status);
    });
  });

  it('a client that goes from a secret to keys and back: no old secret works again', async () => {
    const key = await newKey('ES256');
    const created = await t.client({
      type: 'web',
      name: 'Switching',
      redirectUris: [CALLBACK],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
    });
    const bySecret = (secret: string) =>
      post(tokenUrl, {
        grant_type: 'client_credentials',
        scope: 'reports:read',
        client_id: created.clientId,
        client_secret: secret,
      });
    const old = created.clientSecret ?? '';
    // Used once, so this process remembers it as verified (http/verified-secrets.ts).
    expect((await bySecret(old)).status).toBe(200);
    await updateClient(t.ctx, ENV, created.clientId, {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [key.jwk] },
    });
    expect((await bySecret(old)).status).toBe(401);
    expect(
      (await post(tokenUrl, form(await sign(key, claims(created.clientId, issuer))))).status,
    ).toBe(200);
    const back = await updateClient(t.ctx, ENV, created.clientId, {
      tokenEndpointAuthMethod: 'client_secret_basic',
      jwks: null,
    });
    expect(back.clientSecret).toEqual(expect.any(String));
    expect((await bySecret(old)).status).toBe(401);
    expect((await bySecret(back.clientSecret ?? '')).status).toBe(200);
    expect(
      (await post(tokenUrl, form(await sign(key, claims(created.clientId, issuer))))).status,
    ).toBe(401);
  });
});

describe('the jti outlives the assertion (clock moved)', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();

  beforeAll(async () => {
    db = await throwawayPostgres();
    t = await startTestServer(db, { clock: () => now });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('a replay just before the assertion stops being accepted is refused, even after housekeeping', async () => {
    const key = await newKey('ES256');
    const created = await t.client({
      type: 'web',
      name: 'Clocked',
      redirectUris: [CALLBACK],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
      jwks: { keys: [key.jwk] },
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    const issuer = t.issuer(ENV);
    const start = now;
    // The longest life accepted: exp 300 s ahead.
    const signed = await sign(key, {
      ...claims(created.clientId, issuer, start),
      exp: Math.floor(start / 1000) + 300,
    });
    const use = async () =>
      post(`${issuer}/token`, {
        grant_type: 'client_credentials',
        scope: 'reports:read',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: signed,
      });
    expect((await use()).status).toBe(200);
    for (const later of [60_000, 299_000, 329_000]) {
      now = start + later;
      await t.server.stores.expired.deleteExpired('client_assertion_jtis', now, 1000);
      const replay = await use();
      expect(replay.status, String(later)).toBe(401);
      expect(replay.body.error_description, String(later)).toMatch(/used before/);
    }
    now = start + 331_000;
    expect((await use()).body.error_description).toMatch(/expired/);
  });

  it('another process whose clock is 20 s behind still refuses the replay after housekeeping', async () => {
    const key = await newKey('ES256');
    const created = await t.client({
      type: 'web',
      name: 'Skewed',
      redirectUris: [CALLBACK],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
      jwks: { keys: [key.jwk] },
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    const issuer = t.issuer(ENV);
    const start = now;
    const signed = await sign(key, claims(created.clientId, issuer, start));
    const use = async () =>
      post(`${issuer}/token`, {
        grant_type: 'client_credentials',
        scope: 'reports:read',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: signed,
      });
    expect((await use()).status).toBe(200);
    // A process with the right time sweeps just after the assertion stopped being accepted
    // there (exp 60 s, 30 s tolerance)...
    now = start + 91_000;
    await t.server.stores.expired.deleteExpired('client_assertion_jtis', now, 1000);
    // ...while one 20 s behind still accepts the assertion itself.
    now = start + 71_000;
    const replay = await use();
    expect(replay.status).toBe(401);
    expect(replay.body.error_description).toMatch(/used before/);
    now = start + 1_000;
  });

  it('a jti with a NUL character is refused, not a database error (PostgreSQL)', async () => {
    const key = await newKey('ES256');
    const created = await t.client({
      type: 'web',
      name: 'Nul',
      redirectUris: [CALLBACK],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
      jwks: { keys: [key.jwk] },
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    const issuer = t.issuer(ENV);
    const reply = await post(`${issuer}/token`, {
      grant_type: 'client_credentials',
      scope: 'reports:read',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await sign(key, {
        ...claims(created.clientId, issuer, now),
        jti: 'a\u0000b',
      }),
    });
    expect(reply.status).toBe(401);
    expect(reply.body.error).toBe('invalid_client');
  });
});

describe('a jwks_uri that failed for a moment', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();
  let jwksServer: Server;
  let up = false;
  let fetches = 0;
  let served: { keys: JWK[] } = { keys: [] };

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { clock: () => now });
    await t.server.stores.environments.update(ENV, { allowLoopbackDocuments: true });
    jwksServer = createServer((_request, response) => {
      fetches++;
      if (!up) {
        response.writeHead(503).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      jwksServer.close(() => {
        resolve();
      });
    });
    await t.close();
    await db.drop();
  });

  it('locks the client out for the refetch interval (30 s), not the cache life (5 min)', async () => {
    const key = await newKey('ES256');
    served = { keys: [key.jwk] };
    const port = (jwksServer.address() as AddressInfo).port;
    const created = await t.client({
      type: 'web',
      name: 'Flaky',
      redirectUris: [CALLBACK],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
      jwksUri: `http://127.0.0.1:${port}/jwks`,
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    const issuer = t.issuer(ENV);
    const use = async () =>
      post(`${issuer}/token`, {
        grant_type: 'client_credentials',
        scope: 'reports:read',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await sign(key, claims(created.clientId, issuer, now)),
      });
    expect((await use()).body.error_description).toMatch(/503/);
    up = true;
    now += 10_000;
    // Within the interval the failure stands (no fetch per request).
    expect((await use()).status).toBe(401);
    expect(fetches).toBe(1);
    now += 21_000;
    expect((await use()).status).toBe(200);
    expect(fetches).toBe(2);
  });

  it('a refetch an attacker forces (a made-up kid) that fails does not drop the set in hand', async () => {
    const key = await newKey('ES256');
    served = { keys: [key.jwk] };
    up = true;
    const port = (jwksServer.address() as AddressInfo).port;
    const created = await t.client({
      type: 'web',
      name: 'Steady',
      redirectUris: [CALLBACK],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
      jwksUri: `http://127.0.0.1:${port}/steady`,
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    const issuer = t.issuer(ENV);
    const use = async (signing: Key) =>
      post(`${issuer}/token`, {
        grant_type: 'client_credentials',
        scope: 'reports:read',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await sign(signing, claims(created.clientId, issuer, now)),
      });
    fetches = 0;
    expect((await use(key)).status).toBe(200);
    // The key server has a bad moment just as an attacker's made-up kid forces a refetch.
    up = false;
    now += 31_000;
    expect((await use(await newKey('ES256'))).status).toBe(401);
    expect(fetches).toBe(2);
    // The client's own assertions still verify with the set fetched before.
    expect((await use(key)).status).toBe(200);
    // Not beyond the set's cache life, though: then the failure is the answer.
    now += 5 * 60_000;
    expect((await use(key)).body.error_description).toMatch(/503/);
    up = true;
  });
});
