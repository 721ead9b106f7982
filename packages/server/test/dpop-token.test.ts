/**
 * DPoP at the token endpoint (RFC 9449 §4, §5, §8): a proof binds the access token to its key
 * (`cnf.jkt`, `token_type: DPoP`) in every grant, a public client's refresh token too. Each check
 * of a proof is attacked on its own (method, URL, age, replay, nonce, a private key or a MAC in
 * the header, two headers, size), and a client or environment that requires DPoP refuses a
 * request without one. On SQLite and PostgreSQL: the jti of a proof is stored.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { decodeJwt, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateEnvironmentSettings } from '../src/services/environments.js';
import { sha256 } from '../src/crypto/random.js';
import { dpopNonces, DPOP_NONCE_SLOT_S } from '../src/crypto/dpop-nonces.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import {
  DpopKey,
  dpopTokenRequest,
  postWithDpop,
  serverNonce,
  type DpopReply,
} from './support/dpop.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const ENV = 'development';
const ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA', 'Ed25519'] as const;

describe.each(DATABASES)('DPoP at the token endpoint on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let tokenUrl: string;
  let native: { clientId: string };
  let web: { clientId: string; clientSecret: string };
  let strict: { clientId: string; clientSecret: string };
  const loopback = 'http://127.0.0.1/callback';

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    tokenUrl = `${t.issuer(ENV)}/token`;
    native = await t.client({ type: 'native', name: 'DPoP CLI', redirectUris: [loopback] });
    const created = await t.client({
      type: 'web',
      name: 'DPoP Web',
      redirectUris: ['https://app.example.com/cb'],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['reports:read'],
    });
    web = { clientId: created.clientId, clientSecret: created.clientSecret ?? '' };
    const strictCreated = await t.client({
      type: 'web',
      name: 'Requires DPoP',
      redirectUris: ['https://strict.example.com/cb'],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
    });
    strict = { clientId: strictCreated.clientId, clientSecret: strictCreated.clientSecret ?? '' };
    await t.server.stores.clients.update(ENV, strict.clientId, { requireDpop: true }, Date.now());
    await t.user('alice@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const credentials = (client: { clientId: string; clientSecret: string }) => ({
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
  const clientCredentials = (client = web) => ({
    grant_type: 'client_credentials',
    scope: 'reports:read',
    ...credentials(client),
  });

  async function codeFor(extra: Record<string, string> = {}) {
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: native.clientId,
        redirect_uri: loopback,
        response_type: 'code',
        scope: 'openid email offline_access',
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      },
      'alice@example.com',
      PASSWORD,
    );
    return { code: new URL(location).searchParams.get('code') ?? '', verifier };
  }

  const redeemForm = (code: string, verifier: string) => ({
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: loopback,
    client_id: native.clientId,
  });

  function expectRefused(reply: DpopReply, error: string, description?: RegExp) {
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe(error);
    if (description !== undefined)
      expect(String(reply.body.error_description)).toMatch(description);
    expect(reply.body.access_token).toBeUndefined();
  }

  it.each(ALGS)('binds the access token to a proof signed with %s', async (alg) => {
    const key = await DpopKey.generate(alg);
    const reply = await dpopTokenRequest(tokenUrl, key, clientCredentials());
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe('DPoP');
    const claims = decodeJwt(String(reply.body.access_token));
    expect(claims.cnf).toEqual({ jkt: key.jkt });
    // A fresh nonce rides on the answer (RFC 9449 §8.2).
    expect(reply.headers.get('dpop-nonce')).toMatch(/^[\w.-]+$/);
  });

  it('issues a bearer token without a proof, as before', async () => {
    const reply = await postWithDpop(tokenUrl, clientCredentials(), undefined);
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe('Bearer');
    expect(decodeJwt(String(reply.body.access_token)).cnf).toBeUndefined();
  });

  it('asks for a nonce: use_dpop_nonce with DPoP-Nonce, and a forged or missing one is refused', async () => {
    const key = await DpopKey.generate();
    const first = await postWithDpop(
      tokenUrl,
      clientCredentials(),
      await key.proof('POST', tokenUrl),
    );
    expectRefused(first, 'use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).not.toBeNull();
    const forged = await postWithDpop(
      tokenUrl,
      clientCredentials(),
      await key.proof('POST', tokenUrl, { nonce: `${nonce ?? ''}x` }),
    );
    expectRefused(forged, 'use_dpop_nonce', /not current/);
    const made = await postWithDpop(
      tokenUrl,
      clientCredentials(),
      await key.proof('POST', tokenUrl, { nonce: 'k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
    );
    expectRefused(made, 'use_dpop_nonce');
    const good = await postWithDpop(
      tokenUrl,
      clientCredentials(),
      await key.proof('POST', tokenUrl, { nonce: nonce ?? '' }),
    );
    expect(good.status).toBe(200);
  });

  it('refuses a nonce handed out for another environment', async () => {
    const staging = await t.client({
      environment: 'staging',
      type: 'web',
      name: 'Nonce elsewhere',
      redirectUris: ['https://elsewhere.example.com/cb'],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
    });
    const key = await DpopKey.generate();
    const stagingNonce = await serverNonce(`${t.issuer('staging')}/token`, key, {
      grant_type: 'client_credentials',
      scope: 'reports:read',
      client_id: staging.clientId,
      client_secret: staging.clientSecret ?? '',
    });
    const reply = await postWithDpop(
      tokenUrl,
      clientCredentials(),
      await key.proof('POST', tokenUrl, { nonce: stagingNonce }),
    );
    expectRefused(reply, 'use_dpop_nonce', /not current/);
  });

  describe('each check of a proof, attacked', () => {
    let key: DpopKey;
    let nonce: string;
    beforeAll(async () => {
      key = await DpopKey.generate();
      nonce = await serverNonce(tokenUrl, key, clientCredentials());
    });
    const send = (proof: string | readonly string[]) =>
      postWithDpop(tokenUrl, clientCredentials(), proof);

    it('refuses a proof for another method', async () => {
      expectRefused(
        await send(await key.proof('GET', tokenUrl, { nonce })),
        'invalid_dpop_proof',
        /htm/,
      );
    });

    it('refuses a proof for another URL: another endpoint, another environment, another host', async () => {
      for (const htu of [
        `${t.issuer(ENV)}/userinfo`,
        `${t.issuer('staging')}/token`,
        tokenUrl.replace('127.0.0.1', 'localhost'),
      ])
        expectRefused(
          await send(await key.proof('POST', htu, { nonce })),
          'invalid_dpop_proof',
          /htu/,
        );
    });

    it('takes the URL normalised, without query or fragment (RFC 9449 §4.3)', async () => {
      const url = new URL(tokenUrl);
      const variant = `${url.protocol}//${url.host.toUpperCase()}${url.pathname}?x=1#f`;
      const reply = await send(await key.proof('POST', variant, { nonce }));
      expect(reply.status).toBe(200);
    });

    it('refuses an old iat, and one in the future', async () => {
      expectRefused(
        await send(await key.proof('POST', tokenUrl, { nonce, at: Date.now() - 120_000 })),
        'invalid_dpop_proof',
        /iat/,
      );
      expectRefused(
        await send(await key.proof('POST', tokenUrl, { nonce, at: Date.now() + 120_000 })),
        'invalid_dpop_proof',
        /iat/,
      );
    });

    it('refuses a replayed proof (its jti), and accepts the same jti under another key', async () => {
      const jti = randomUUID();
      const proof = await key.proof('POST', tokenUrl, { nonce, claims: { jti } });
      expect((await send(proof)).status).toBe(200);
      expectRefused(await send(proof), 'invalid_dpop_proof', /used before/);
      // The replay is audited, naming the key and the jti (never the proof).
      const [entry] = await t.server.stores.audit.tail({
        environment: ENV,
        type: 'dpop.proof_replayed',
        limit: 1,
      });
      expect(entry?.data).toMatchObject({ jkt: key.jkt, jti, endpoint: '/token' });
      const other = await DpopKey.generate();
      const otherNonce = await serverNonce(tokenUrl, other, clientCredentials());
      const reply = await send(
        await other.proof('POST', tokenUrl, { nonce: otherNonce, claims: { jti } }),
      );
      expect(reply.status).toBe(200);
    });

    it('refuses a proof without jti, htm, htu or iat', async () => {
      for (const claim of ['jti', 'htm', 'htu', 'iat'])
        expectRefused(
          await send(await key.proof('POST', tokenUrl, { nonce, claims: { [claim]: undefined } })),
          'invalid_dpop_proof',
        );
    });

    it('refuses a private key in the jwk header', async () => {
      const { exportJWK } = await import('jose');
      const privateJwk = await exportJWK(key.privateKey);
      expectRefused(
        await send(await key.proof('POST', tokenUrl, { nonce, header: { jwk: privateJwk } })),
        'invalid_dpop_proof',
        /public key/,
      );
    });

    it('refuses alg none and HS256 (a MAC keyed with anything the sender likes)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { htm: 'POST', htu: tokenUrl, iat: now, jti: randomUUID(), nonce };
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const unsigned = `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${b64(claims)}.`;
      expectRefused(await send(unsigned), 'invalid_dpop_proof', /alg/);
      const secret = new TextEncoder().encode('a'.repeat(32));
      const mac = await new SignJWT({ ...claims, jti: randomUUID() })
        .setProtectedHeader({
          alg: 'HS256',
          typ: 'dpop+jwt',
          jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } as JWK,
        })
        .sign(secret);
      expectRefused(await send(mac), 'invalid_dpop_proof', /alg/);
    });

    it('refuses a proof signed by another key than its jwk header names', async () => {
      const other = await DpopKey.generate();
      expectRefused(
        await send(await other.proof('POST', tokenUrl, { nonce, header: { jwk: key.publicJwk } })),
        'invalid_dpop_proof',
        /signature/,
      );
    });

    it('refuses two DPoP header lines', async () => {
      const url = new URL(tokenUrl);
      const body = new URLSearchParams(clientCredentials()).toString();
      const proofs = [
        await key.proof('POST', tokenUrl, { nonce }),
        await key.proof('POST', tokenUrl, { nonce }),
      ];
      const reply = await new Promise<{ status: number; body: Record<string, unknown> }>(
        (resolve, reject) => {
          const sent = request(
            {
              host: url.hostname,
              port: url.port,
              path: url.pathname,
              method: 'POST',
              // An array is sent as one header line per value.
              headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proofs },
            },
            (response) => {
              let text = '';
              response.on('data', (chunk: Buffer) => (text += chunk.toString()));
              response.on('end', () => {
                resolve({
                  status: response.statusCode ?? 0,
                  body: JSON.parse(text) as Record<string, unknown>,
                });
              });
            },
          );
          sent.on('error', reject);
          sent.end(body);
        },
      );
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('invalid_dpop_proof');
      expect(String(reply.body.error_description)).toMatch(/exactly one/);
    });

    it('refuses another typ, two DPoP headers, and an oversized proof', async () => {
      expectRefused(
        await send(await key.proof('POST', tokenUrl, { nonce, header: { typ: 'JWT' } })),
        'invalid_dpop_proof',
        /typ/,
      );
      expectRefused(
        await send([
          await key.proof('POST', tokenUrl, { nonce }),
          await key.proof('POST', tokenUrl, { nonce }),
        ]),
        'invalid_dpop_proof',
        /exactly one/,
      );
      expectRefused(
        await send(await key.proof('POST', tokenUrl, { nonce, claims: { pad: 'x'.repeat(9000) } })),
        'invalid_dpop_proof',
        /longer/,
      );
    });
  });

  it('binds a public client’s code-flow tokens: cnf.jkt, token_type DPoP, the refresh token row bound', async () => {
    const key = await DpopKey.generate();
    const { code, verifier } = await codeFor();
    const reply = await dpopTokenRequest(tokenUrl, key, redeemForm(code, verifier));
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(reply.body.access_token)).cnf).toEqual({ jkt: key.jkt });
    const refresh = await t.server.stores.tokens.findActiveRefresh(
      ENV,
      sha256(String(reply.body.refresh_token)),
      Date.now(),
    );
    expect(refresh?.dpopJkt).toBe(key.jkt);
  });

  it('does not bind a public client’s refresh token issued without a proof', async () => {
    const { code, verifier } = await codeFor();
    const reply = await postWithDpop(tokenUrl, redeemForm(code, verifier), undefined);
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe('Bearer');
    const refresh = await t.server.stores.tokens.findActiveRefresh(
      ENV,
      sha256(String(reply.body.refresh_token)),
      Date.now(),
    );
    expect(refresh?.dpopJkt ?? null).toBeNull();
  });

  it('does not bind a confidential client’s refresh token (RFC 9449 §5), only its access token', async () => {
    const key = await DpopKey.generate();
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: web.clientId,
        redirect_uri: 'https://app.example.com/cb',
        response_type: 'code',
        scope: 'openid email offline_access',
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'alice@example.com',
      PASSWORD,
    );
    const reply = await dpopTokenRequest(tokenUrl, key, {
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      code_verifier: verifier,
      redirect_uri: 'https://app.example.com/cb',
      ...credentials(web),
    });
    expect(reply.status).toBe(200);
    expect(decodeJwt(String(reply.body.access_token)).cnf).toEqual({ jkt: key.jkt });
    const refresh = await t.server.stores.tokens.findActiveRefresh(
      ENV,
      sha256(String(reply.body.refresh_token)),
      Date.now(),
    );
    expect(refresh).toBeDefined();
    expect(refresh?.dpopJkt ?? null).toBeNull();
  });

  it('refuses a client that requires DPoP without a proof, and takes it with one', async () => {
    expectRefused(
      await postWithDpop(tokenUrl, clientCredentials(strict), undefined),
      'invalid_dpop_proof',
      /must send a DPoP proof/,
    );
    const key = await DpopKey.generate();
    const reply = await dpopTokenRequest(tokenUrl, key, clientCredentials(strict));
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe('DPoP');
  });

  it('refuses any client of an environment that requires DPoP without a proof', async () => {
    const env = 'staging';
    const client = await t.client({
      environment: env,
      type: 'web',
      name: 'Staging service',
      redirectUris: ['https://svc.example.com/cb'],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
    });
    const form = {
      grant_type: 'client_credentials',
      scope: 'reports:read',
      client_id: client.clientId,
      client_secret: client.clientSecret ?? '',
    };
    const url = `${t.issuer(env)}/token`;
    expect((await postWithDpop(url, form, undefined)).status).toBe(200);
    await updateEnvironmentSettings(t.ctx, env, { requireDpop: true });
    try {
      expectRefused(await postWithDpop(url, form, undefined), 'invalid_dpop_proof');
      const reply = await dpopTokenRequest(url, await DpopKey.generate(), form);
      expect(reply.status).toBe(200);
    } finally {
      await updateEnvironmentSettings(t.ctx, env, { requireDpop: false });
    }
  });
});

describe('DPoP nonces (RFC 9449 §8), stateless', () => {
  const slot = DPOP_NONCE_SLOT_S * 1000;
  const start = 1_800_000_000_000;

  it('are accepted in their slot and the next, then refused; by any process with the same secret only', () => {
    const a = dpopNonces('secret-one');
    const nonce = a.current(ENV, start);
    expect(a.accepts(ENV, nonce, start + slot - 1)).toBe(true);
    expect(a.accepts(ENV, nonce, start + slot)).toBe(true);
    expect(a.accepts(ENV, nonce, start + 2 * slot)).toBe(false);
    // Another process of the deployment (same secret) accepts it; another secret does not.
    expect(dpopNonces('secret-one').accepts(ENV, nonce, start)).toBe(true);
    expect(dpopNonces('secret-two').accepts(ENV, nonce, start)).toBe(false);
    // A nonce names its environment.
    expect(a.accepts('staging', nonce, start)).toBe(false);
  });
});
