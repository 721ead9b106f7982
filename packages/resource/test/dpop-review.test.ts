/**
 * Attacks on DPoP at the resource found in review (RFC 9449 §4.3, §7): a proof made for one URL
 * taken at a request target the router sees as another (dot segments, backslashes, percent-encoded
 * dots); a token bound by DPoP and by a method this resource cannot check; a bound token handed to
 * `checkAccessToken`; a replay store or nonce source that fails, and a `requiredScopes` function
 * that throws, which must end in an answer, never a rejected promise (an unhandled rejection ends
 * a Node process; Express 4 does not catch it).
 */
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { calculateJwkThumbprint } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as expressAdapter from '../src/express.js';
import * as fastifyAdapter from '../src/fastify.js';
import {
  accessTokenHash,
  createResourceServer,
  type AuthOutcome,
  type BearerRequest,
  type ResourceServer,
  type ResourceServerOptions,
} from '../src/index.js';
import * as nodeAdapter from '../src/node.js';
import { makeProof, proofKey, type ProofKey } from './support/dpop-proofs.js';
import { KeyServer, type SigningKey } from './support/key-server.js';

const RESOURCE = 'https://mcp.example.test/mcp';
const ORIGIN = 'https://mcp.example.test';

function failure(outcome: AuthOutcome) {
  if (outcome.ok) throw new Error('expected a refusal');
  return outcome.failure;
}

describe('DPoP review: unit attacks', () => {
  let issuer: KeyServer;
  let signing: SigningKey;
  let key: ProofKey;
  let rs: ResourceServer;
  let bound: string;

  const server = (options: Partial<ResourceServerOptions> = {}) =>
    createResourceServer({
      resource: RESOURCE,
      issuer: issuer.issuer,
      jwksUri: issuer.jwksUri,
      ...options,
    });
  const dpopRequest = async (
    token: string,
    htu: string,
    url: string,
    more: Partial<BearerRequest> = {},
  ): Promise<BearerRequest> => ({
    authorization: [`DPoP ${token}`],
    dpop: [await makeProof(key, { htm: 'POST', htu, accessToken: token })],
    method: 'POST',
    url,
    ...more,
  });

  beforeAll(async () => {
    issuer = await KeyServer.start();
    signing = await issuer.addKey();
    key = await proofKey();
    rs = server();
    bound = await KeyServer.sign(signing, issuer.claims(RESOURCE, { cnf: { jkt: key.jkt } }));
  });
  afterAll(async () => {
    await issuer.close();
  });

  it('a proof for /admin is refused at a target a router sees as another path', async () => {
    // The check normalises the target (WHATWG URL drops dot segments, reads `\` as `/` and
    // `%2e` as `.`); a router matches the raw path, `/mcp/*` here. A proof made for /admin must
    // not be taken at a request that reaches another route.
    for (const url of [
      '/mcp/../admin',
      '/mcp/%2e%2e/admin',
      '/mcp/%2E%2e/admin',
      '/mcp/./../admin',
      '/mcp\\..\\admin',
      `${ORIGIN}/mcp/../admin`,
    ]) {
      const refused = failure(
        await rs.authenticate(await dpopRequest(bound, `${ORIGIN}/admin`, url)),
      );
      expect({ url, status: refused.status, error: refused.error }).toStrictEqual({
        url,
        status: 400,
        error: 'invalid_request',
      });
    }
    // A target already in normal form is taken as before, the query still ignored.
    for (const url of ['/admin', '/admin?x=..', `${ORIGIN}/admin`]) {
      expect((await rs.authenticate(await dpopRequest(bound, `${ORIGIN}/admin`, url))).ok).toBe(
        true,
      );
    }
    // The proof's htu is the client's signed value: normalising it is RFC 9449 §4.3's own rule.
    expect(
      (await rs.authenticate(await dpopRequest(bound, `${ORIGIN}/x/../admin`, '/admin'))).ok,
    ).toBe(true);
  });

  it('refuses a token whose cnf holds a confirmation method besides jkt', async () => {
    // RFC 7800 §3: each cnf member is a confirmation method; one this resource cannot check
    // (an RFC 8705 certificate thumbprint) is not dropped because another one is checked.
    const token = await KeyServer.sign(
      signing,
      issuer.claims(RESOURCE, { cnf: { jkt: key.jkt, 'x5t#S256': 'A'.repeat(43) } }),
    );
    const refused = failure(
      await rs.authenticate(await dpopRequest(token, `${ORIGIN}/mcp`, '/mcp')),
    );
    expect(refused).toMatchObject({
      status: 401,
      error: 'invalid_token',
      description: 'the access token is bound by a method this resource does not support',
    });
  });

  it('checkAccessToken refuses a bound token: without a proof it is a copied token', async () => {
    // checkAccessToken is what an application calls outside the adapters (an MCP SDK verifier,
    // a WebSocket upgrade); it sees no proof, so a bound token must not pass it (RFC 9449 §7.2).
    const checked = await rs.checkAccessToken(bound);
    expect(checked).toMatchObject({ ok: false, reason: 'invalid_token' });
    const plain = await KeyServer.sign(signing, issuer.claims(RESOURCE));
    expect((await rs.checkAccessToken(plain)).ok).toBe(true);
    // verifyAccessToken stays the JWT alone, and says the token is bound.
    const verified = await rs.verifyAccessToken(bound);
    expect(verified.ok && verified.claims.cnf).toStrictEqual({ jkt: key.jkt });
  });

  it('a failing replay store or nonce source is a 503, not a thrown error', async () => {
    const broken = new Error('store down');
    const withStore = server({
      dpop: {
        replayStore: {
          useOnce: () => Promise.reject(broken),
        },
      },
    });
    const outcome = await withStore.authenticate(await dpopRequest(bound, RESOURCE, '/mcp'));
    expect(failure(outcome)).toMatchObject({ status: 503, error: 'server_error', cause: broken });

    const withNonces = server({
      dpop: {
        nonce: 'required',
        nonceSource: {
          issue: () => {
            throw broken;
          },
          verify: () => {
            throw broken;
          },
        },
      },
    });
    // No token: the first nonce cannot be made.
    expect(failure(await withNonces.authenticate({ authorization: [] }))).toMatchObject({
      status: 503,
      cause: broken,
    });
    const noNonce = await withNonces.authenticate(await dpopRequest(bound, RESOURCE, '/mcp'));
    expect(failure(noNonce)).toMatchObject({ status: 503, cause: broken });
    const withNonce: BearerRequest = {
      authorization: [`DPoP ${bound}`],
      dpop: [
        await makeProof(key, {
          htm: 'POST',
          htu: RESOURCE,
          accessToken: bound,
          claims: { nonce: 'n' },
        }),
      ],
      method: 'POST',
      url: '/mcp',
    };
    expect(failure(await withNonces.authenticate(withNonce))).toMatchObject({
      status: 503,
      cause: broken,
    });
  });

  it('a requiredScopes function that throws: node answers 500, Express calls next(error)', async () => {
    const broken = new Error('no such tool');
    const throwing = () => {
      throw broken;
    };
    // node:http: the guard answers; nothing rejects.
    const errors: unknown[] = [];
    const guard = nodeAdapter.requireBearer(rs, {
      requiredScopes: throwing,
      onError: (cause) => errors.push(cause),
    });
    const http = createServer((req, res) => {
      void guard(req, res).then((auth) => {
        if (auth !== undefined) res.end('through');
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = http.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/mcp`);
      expect(response.status).toBe(500);
      expect(await response.json()).toStrictEqual({
        error: 'server_error',
        error_description: 'the resource could not decide which scopes this request needs',
      });
      expect(errors).toStrictEqual([broken]);
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
    // Express: next(error), which Express 4 and 5 both route to the error handler; the
    // middleware's promise itself never rejects (Express 4 would leave it unhandled).
    const middleware = expressAdapter.requireBearer(rs, { requiredScopes: throwing });
    const passed: unknown[] = [];
    await middleware(
      { rawHeaders: [], method: 'GET', originalUrl: '/mcp' } as unknown as express.Request,
      {} as unknown as express.Response,
      (error?: unknown) => passed.push(error),
    );
    expect(passed).toStrictEqual([broken]);
  });
});

/** node:http, so the request target goes out as written (fetch would normalise it). */
function send(url: URL, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: 'POST', agent: false, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

type Wire = (server: Server, rs: ResourceServer) => Promise<() => Promise<void>>;

/** Each app: `POST /files/*` behind requireBearer answers "files"; `POST /admin` answers "admin". */
const wires: [string, Wire][] = [
  [
    'node:http',
    (server, rs) => {
      const guard = nodeAdapter.requireBearer(rs);
      const handle = async (req: IncomingMessage, res: ServerResponse) => {
        // Routed on the raw path, as a hand-written node:http server does.
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (!path.startsWith('/files/') && path !== '/admin') {
          res.writeHead(404).end();
          return;
        }
        if ((await guard(req, res)) === undefined) return;
        res.end(path === '/admin' ? 'admin' : 'files');
      };
      server.on('request', (req, res) => void handle(req, res));
      return Promise.resolve(() => Promise.resolve());
    },
  ],
  [
    'Express',
    (server, rs) => {
      const app = express();
      app.post('/files/*rest', expressAdapter.requireBearer(rs), (_req, res) => {
        res.send('files');
      });
      app.post('/admin', expressAdapter.requireBearer(rs), (_req, res) => {
        res.send('admin');
      });
      server.on('request', app);
      return Promise.resolve(() => Promise.resolve());
    },
  ],
  [
    'Fastify',
    async (server, rs) => {
      const app = Fastify({
        serverFactory: (handler) => {
          server.on('request', handler);
          return server;
        },
      });
      app.post('/files/*', { onRequest: fastifyAdapter.requireBearer(rs) }, () => 'files');
      app.post('/admin', { onRequest: fastifyAdapter.requireBearer(rs) }, () => 'admin');
      await app.ready();
      return () => app.close();
    },
  ],
];

for (const [name, wire] of wires) {
  describe(`DPoP review over HTTP: ${name}`, () => {
    let issuer: KeyServer;
    let signing: SigningKey;
    let key: ProofKey;
    let server: Server;
    let close: () => Promise<void>;
    let origin: URL;

    beforeAll(async () => {
      issuer = await KeyServer.start();
      signing = await issuer.addKey();
      key = await proofKey();
      server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const rs = createResourceServer({
        resource: `${origin.origin}/files`,
        issuer: issuer.issuer,
        jwksUri: issuer.jwksUri,
      });
      close = await wire(server, rs);
    });
    afterAll(async () => {
      await close();
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
      await issuer.close();
    });

    it('a proof made for /admin does not open /files/../admin', async () => {
      const token = await KeyServer.sign(
        signing,
        issuer.claims(`${origin.origin}/files`, { cnf: { jkt: key.jkt } }),
      );
      const headers = async () => ({
        authorization: `DPoP ${token}`,
        'content-type': 'application/json',
        dpop: await makeProof(key, {
          htm: 'POST',
          htu: `${origin.origin}/admin`,
          accessToken: token,
        }),
      });
      for (const path of ['/files/../admin', '/files/%2e%2e/admin']) {
        const response = await send(origin, path, await headers());
        // Whatever route the framework picked, the proof for /admin is not taken there.
        expect({ path, status: response.status }).toStrictEqual({ path, status: 400 });
      }
      // The proof for /admin opens /admin.
      const admin = await send(origin, '/admin', await headers());
      expect(admin).toStrictEqual({ status: 200, body: 'admin' });
    });
  });
}

/** A JWS signed with node:crypto, for keys and algorithm pairings jose will not sign with. */
function rawProof(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  sign: (input: Buffer) => Buffer,
): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part(header)}.${part(claims)}`;
  return `${input}.${sign(Buffer.from(input)).toString('base64url')}`;
}

describe('DPoP review: what holds (regressions)', () => {
  let issuer: KeyServer;
  let signing: SigningKey;
  let key: ProofKey;
  let rs: ResourceServer;
  let bound: (jkt: string, extra?: Record<string, unknown>) => Promise<string>;

  beforeAll(async () => {
    issuer = await KeyServer.start();
    signing = await issuer.addKey();
    key = await proofKey();
    rs = createResourceServer({
      resource: RESOURCE,
      issuer: issuer.issuer,
      jwksUri: issuer.jwksUri,
    });
    bound = (jkt, extra = {}) =>
      KeyServer.sign(signing, issuer.claims(RESOURCE, { cnf: { jkt }, ...extra }));
  });
  afterAll(async () => {
    await issuer.close();
  });

  const claimsFor = (token: string) => ({
    jti: crypto.randomUUID(),
    htm: 'POST',
    htu: RESOURCE,
    iat: Math.floor(Date.now() / 1000),
    ath: accessTokenHash(token),
  });
  const attempt = (token: string, proof: string) =>
    rs.authenticate({
      authorization: [`DPoP ${token}`],
      dpop: [proof],
      method: 'POST',
      url: '/mcp',
    });

  it('refuses a 1024-bit RSA proof key, and an alg that does not fit the key', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weakJwk = weak.publicKey.export({ format: 'jwk' });
    const weakToken = await bound(await calculateJwkThumbprint(weakJwk, 'sha256'));
    const weakProof = rawProof(
      { typ: 'dpop+jwt', alg: 'RS256', jwk: weakJwk },
      claimsFor(weakToken),
      (input) => cryptoSign('sha256', input, weak.privateKey),
    );
    expect(failure(await attempt(weakToken, weakProof)).error).toBe('invalid_dpop_proof');

    // ES256 named, a P-384 key signing with SHA-256: the curve does not fit the algorithm.
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p384Jwk = p384.publicKey.export({ format: 'jwk' });
    const p384Token = await bound(await calculateJwkThumbprint(p384Jwk, 'sha256'));
    const confused = rawProof(
      { typ: 'dpop+jwt', alg: 'ES256', jwk: p384Jwk },
      claimsFor(p384Token),
      (input) => cryptoSign('sha256', input, { key: p384.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    expect(failure(await attempt(p384Token, confused)).error).toBe('invalid_dpop_proof');

    // An X25519 (key agreement) key named as an EdDSA proof key.
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    const xToken = await bound(await calculateJwkThumbprint(x25519, 'sha256'));
    const ed = generateKeyPairSync('ed25519');
    const xProof = rawProof(
      { typ: 'dpop+jwt', alg: 'EdDSA', jwk: x25519 },
      claimsFor(xToken),
      (input) => cryptoSign(null, input, ed.privateKey),
    );
    expect(failure(await attempt(xToken, xProof)).error).toBe('invalid_dpop_proof');
  });

  it('htu: default port and host case are one URL; query and fragment are ignored', async () => {
    const token = await bound(key.jkt);
    for (const htu of [
      'https://MCP.example.test:443/mcp',
      'https://mcp.example.test/mcp?x=1',
      'https://mcp.example.test/mcp#f',
    ]) {
      const proof = await makeProof(key, { htm: 'POST', htu, accessToken: token });
      expect({ htu, ok: (await attempt(token, proof)).ok }).toStrictEqual({ htu, ok: true });
    }
    for (const htu of [
      'https://mcp.example.test/mcp/',
      'https://mcp.example.test/MCP',
      'https://mcp.example.test:8443/mcp',
      'https://user@mcp.example.test/mcp',
    ]) {
      const proof = await makeProof(key, { htm: 'POST', htu, accessToken: token });
      expect({ htu, error: failure(await attempt(token, proof)).error }).toStrictEqual({
        htu,
        error: 'invalid_dpop_proof',
      });
    }
  });

  it('a token with no scope claim gets 403 naming every required scope; nothing else leaks', async () => {
    const token = await bound(key.jkt);
    const proof = await makeProof(key, { htm: 'POST', htu: RESOURCE, accessToken: token });
    const refused = failure(
      await rs.authenticate(
        { authorization: [`DPoP ${token}`], dpop: [proof], method: 'POST', url: '/mcp' },
        { requiredScopes: ['mcp:tools', 'mcp:admin'] },
      ),
    );
    expect(refused.status).toBe(403);
    expect(refused.body).toBe(
      JSON.stringify({
        error: 'insufficient_scope',
        error_description: 'the access token lacks a scope this request needs',
      }),
    );
    expect(refused.headers['www-authenticate']).toBe(
      `DPoP error="insufficient_scope", error_description="the access token lacks a scope this request needs", scope="mcp:tools mcp:admin", resource_metadata="${rs.metadataUrl}", algs="ES256 ES384 EdDSA Ed25519 RS256 PS256"`,
    );
  });
});

describe('DPoP review: htu under a mounted Express router and a Fastify prefix', () => {
  let issuer: KeyServer;
  let signing: SigningKey;
  let key: ProofKey;
  const servers: Server[] = [];
  const closers: (() => Promise<void>)[] = [];

  const listen = async (server: Server) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  };

  beforeAll(async () => {
    issuer = await KeyServer.start();
    signing = await issuer.addKey();
    key = await proofKey();
  });
  afterAll(async () => {
    for (const close of closers) await close();
    for (const server of servers) {
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    }
    await issuer.close();
  });

  it('the proof names the full path (prefix included), not the path the router sees', async () => {
    const expressServer = createServer();
    const expressOrigin = await listen(expressServer);
    const fastifyServer = createServer();
    const fastifyOrigin = await listen(fastifyServer);

    const expressRs = createResourceServer({
      resource: `${expressOrigin.origin}/api`,
      issuer: issuer.issuer,
      jwksUri: issuer.jwksUri,
    });
    const app = express();
    const router = express.Router();
    router.post('/thing', expressAdapter.requireBearer(expressRs), (_req, res) => {
      res.send('thing');
    });
    app.use('/api', router);
    expressServer.on('request', app);

    const fastifyRs = createResourceServer({
      resource: `${fastifyOrigin.origin}/api`,
      issuer: issuer.issuer,
      jwksUri: issuer.jwksUri,
    });
    const fastify = Fastify({
      serverFactory: (handler) => {
        fastifyServer.on('request', handler);
        return fastifyServer;
      },
    });
    await fastify.register(
      (scope, _options, done) => {
        scope.post('/thing', { onRequest: fastifyAdapter.requireBearer(fastifyRs) }, () => 'thing');
        done();
      },
      { prefix: '/api' },
    );
    await fastify.ready();
    closers.push(() => fastify.close());

    for (const origin of [expressOrigin, fastifyOrigin]) {
      const token = await KeyServer.sign(
        signing,
        issuer.claims(`${origin.origin}/api`, { cnf: { jkt: key.jkt } }),
      );
      const headers = async (htu: string) => ({
        authorization: `DPoP ${token}`,
        'content-type': 'application/json',
        dpop: await makeProof(key, { htm: 'POST', htu, accessToken: token }),
      });
      const full = await send(origin, '/api/thing', await headers(`${origin.origin}/api/thing`));
      expect(full).toStrictEqual({ status: 200, body: 'thing' });
      const stripped = await send(origin, '/api/thing', await headers(`${origin.origin}/thing`));
      expect(stripped.status).toBe(401);
    }
  });
});
