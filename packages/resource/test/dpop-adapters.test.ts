/**
 * DPoP and step-up through each adapter over real HTTP (node:http, Express, Fastify): the method,
 * the URL and the DPoP header reach the same check; the proof's `htu` is matched against the
 * configured resource, never the `Host` header; nonces travel in `DPoP-Nonce`; a route's
 * required scopes, fixed or computed from the request, are named by a 403.
 */
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as expressAdapter from '../src/express.js';
import * as fastifyAdapter from '../src/fastify.js';
import { createResourceServer, type AuthInfo, type ResourceServer } from '../src/index.js';
import * as nodeAdapter from '../src/node.js';
import { parseChallenges } from './support/challenge-parser.js';
import { makeProof, proofKey, type ProofKey } from './support/dpop-proofs.js';
import { KeyServer, type SigningKey } from './support/key-server.js';

interface Wiring {
  readonly rs: ResourceServer;
  /** The same resource with `dpop: { nonce: 'required' }`. */
  readonly withNonces: ResourceServer;
}

/**
 * Routes: `GET|POST /mcp` (any token), `POST /mcp/tools` (scopes from the `x-tool` header:
 * `admin` needs `mcp:tools mcp:admin`, else `mcp:tools`), `POST /nonce` (nonces required).
 * Each answers `{ clientId, scopes, dpopJkt }`.
 */
type Wire = (server: Server, wiring: Wiring) => Promise<() => Promise<void>>;

const toolScopes = (headers: IncomingMessage['headers']) =>
  headers['x-tool'] === 'admin' ? ['mcp:tools', 'mcp:admin'] : ['mcp:tools'];
const summary = (auth: AuthInfo | undefined) => ({
  clientId: auth?.clientId,
  scopes: auth?.scopes,
  dpopJkt: auth?.extra?.dpopJkt,
});

const wireNode: Wire = (server, { rs, withNonces }) => {
  const routes: Record<string, ReturnType<typeof nodeAdapter.requireBearer>> = {
    '/mcp': nodeAdapter.requireBearer(rs),
    '/mcp/tools': nodeAdapter.requireBearer(rs, {
      requiredScopes: (req) => toolScopes(req.headers),
    }),
    '/nonce': nodeAdapter.requireBearer(withNonces),
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    const auth = await route(req, res);
    if (auth === undefined) return;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(summary(auth)));
  };
  server.on('request', (req, res) => void handle(req, res));
  return Promise.resolve(() => Promise.resolve());
};

const wireExpress: Wire = (server, { rs, withNonces }) => {
  const app = express();
  app.use(express.json());
  const answer = (req: express.Request, res: express.Response) => {
    res.json(summary(req.auth));
  };
  app.get('/mcp', expressAdapter.requireBearer(rs), answer);
  app.post('/mcp', expressAdapter.requireBearer(rs), answer);
  app.post(
    '/mcp/tools',
    expressAdapter.requireBearer(rs, { requiredScopes: (req) => toolScopes(req.headers) }),
    answer,
  );
  app.post('/nonce', expressAdapter.requireBearer(withNonces), answer);
  server.on('request', app);
  return Promise.resolve(() => Promise.resolve());
};

const wireFastify: Wire = async (server, { rs, withNonces }) => {
  const app = Fastify({
    serverFactory: (handler) => {
      server.on('request', handler);
      return server;
    },
  });
  const answer = (request: { auth?: AuthInfo }) => summary(request.auth);
  app.get('/mcp', { onRequest: fastifyAdapter.requireBearer(rs) }, answer);
  app.post('/mcp', { preHandler: fastifyAdapter.requireBearer(rs) }, answer);
  app.post(
    '/mcp/tools',
    {
      preHandler: fastifyAdapter.requireBearer(rs, {
        requiredScopes: (request) => toolScopes(request.headers),
      }),
    },
    answer,
  );
  app.post('/nonce', { onRequest: fastifyAdapter.requireBearer(withNonces) }, answer);
  await app.ready();
  return () => app.close();
};

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** node:http, so any header can be sent: two DPoP lines, a made-up Host. */
function send(
  url: string,
  method: string,
  headers: Record<string, string | string[]>,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    // Fastify answers 415 to a body without a type.
    if (method === 'POST') req.setHeader('content-type', 'application/json');
    for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

function challenge(response: RawResponse) {
  const [first] = parseChallenges(response.headers['www-authenticate'] ?? '');
  return { scheme: first?.scheme, ...Object.fromEntries(first?.params ?? []) };
}

for (const [name, wire] of [
  ['node:http', wireNode],
  ['Express', wireExpress],
  ['Fastify', wireFastify],
] as const) {
  describe(`DPoP and step-up through the ${name} adapter`, () => {
    let issuer: KeyServer;
    let signing: SigningKey;
    let key: ProofKey;
    let server: Server;
    let close: () => Promise<void>;
    let origin: string;
    let resource: string;
    let rs: ResourceServer;

    const token = (scope: string, jkt?: string) =>
      KeyServer.sign(
        signing,
        issuer.claims(resource, { scope, ...(jkt === undefined ? {} : { cnf: { jkt } }) }),
      );
    const proof = (accessToken: string, htm: string, path: string, claims = {}) =>
      makeProof(key, { htm, htu: `${origin}${path}`, accessToken, claims });
    const dpopHeaders = async (accessToken: string, htm: string, path: string) => ({
      authorization: `DPoP ${accessToken}`,
      'content-type': 'application/json',
      dpop: await proof(accessToken, htm, path),
    });

    beforeAll(async () => {
      issuer = await KeyServer.start();
      signing = await issuer.addKey();
      key = await proofKey();
      server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resource = `${origin}/mcp`;
      const options = { resource, issuer: issuer.issuer, jwksUri: issuer.jwksUri };
      rs = createResourceServer(options);
      const withNonces = createResourceServer({ ...options, dpop: { nonce: 'required' } });
      close = await wire(server, { rs, withNonces });
    });
    afterAll(async () => {
      await close();
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
      await issuer.close();
    });

    it('takes a bound token with its proof (GET and POST); the route sees dpopJkt', async () => {
      const bound = await token('mcp:tools', key.jkt);
      for (const method of ['GET', 'POST']) {
        const response = await send(
          `${origin}/mcp`,
          method,
          await dpopHeaders(bound, method, '/mcp'),
        );
        expect(response.status, method).toBe(200);
        expect(JSON.parse(response.body)).toMatchObject({
          scopes: ['mcp:tools'],
          dpopJkt: key.jkt,
        });
      }
      // The query is not part of htu.
      const withQuery = await send(
        `${origin}/mcp?cursor=2`,
        'GET',
        await dpopHeaders(bound, 'GET', '/mcp'),
      );
      expect(withQuery.status).toBe(200);
    });

    it('matches htu against the configured resource, not the Host header', async () => {
      const bound = await token('mcp:tools', key.jkt);
      // A proof made for another host, sent with that Host: refused.
      const forged = await send(`${origin}/mcp`, 'GET', {
        host: 'evil.example.test',
        authorization: `DPoP ${bound}`,
        dpop: await makeProof(key, {
          htm: 'GET',
          htu: 'http://evil.example.test/mcp',
          accessToken: bound,
        }),
      });
      expect(forged.status).toBe(401);
      expect(challenge(forged)).toMatchObject({
        scheme: 'DPoP',
        error: 'invalid_dpop_proof',
        error_description: 'the DPoP proof htu claim does not match the request URL',
      });
      // The right proof, whatever the Host header says.
      const right = await send(`${origin}/mcp`, 'GET', {
        ...(await dpopHeaders(bound, 'GET', '/mcp')),
        host: 'evil.example.test',
      });
      expect(right.status).toBe(200);
    });

    it('refuses a proof for another method or path, two DPoP headers, a bound token as Bearer', async () => {
      const bound = await token('mcp:tools', key.jkt);
      const cases: [Record<string, string | string[]>, string, string][] = [
        [
          await dpopHeaders(bound, 'GET', '/mcp'),
          'invalid_dpop_proof',
          'the DPoP proof htm claim does not match the request method',
        ],
        [
          await dpopHeaders(bound, 'POST', '/mcp/tools'),
          'invalid_dpop_proof',
          'the DPoP proof htu claim does not match the request URL',
        ],
        [
          {
            authorization: `DPoP ${bound}`,
            dpop: [await proof(bound, 'POST', '/mcp'), await proof(bound, 'POST', '/mcp')],
          },
          'invalid_dpop_proof',
          'send exactly one DPoP header',
        ],
        [
          { authorization: `Bearer ${bound}`, dpop: await proof(bound, 'POST', '/mcp') },
          'invalid_token',
          'the access token is bound to a key: send it with the DPoP scheme and a DPoP proof',
        ],
      ];
      for (const [headers, error, description] of cases) {
        const response = await send(`${origin}/mcp`, 'POST', headers);
        expect(response.status, description).toBe(401);
        expect(challenge(response)).toMatchObject({
          scheme: 'DPoP',
          error,
          error_description: description,
        });
        expect(JSON.parse(response.body)).toStrictEqual({ error, error_description: description });
      }
      // A proof is used once, through the adapter too.
      const headers = await dpopHeaders(bound, 'POST', '/mcp');
      expect((await send(`${origin}/mcp`, 'POST', headers)).status).toBe(200);
      const replay = await send(`${origin}/mcp`, 'POST', headers);
      expect(challenge(replay)).toMatchObject({
        error_description: 'the DPoP proof has been used before',
      });
    });

    it('nonces: use_dpop_nonce with DPoP-Nonce, then accepted with the next nonce in DPoP-Nonce', async () => {
      const bound = await token('mcp:tools', key.jkt);
      const first = await send(
        `${origin}/nonce`,
        'POST',
        await dpopHeaders(bound, 'POST', '/nonce'),
      );
      expect(first.status).toBe(401);
      expect(challenge(first)).toMatchObject({ scheme: 'DPoP', error: 'use_dpop_nonce' });
      const nonce = String(first.headers['dpop-nonce']);
      expect(nonce).toMatch(/^[A-Za-z0-9_-]+$/);
      const second = await send(`${origin}/nonce`, 'POST', {
        authorization: `DPoP ${bound}`,
        dpop: await proof(bound, 'POST', '/nonce', { nonce }),
      });
      expect(second.status).toBe(200);
      expect(second.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('step-up: 403 insufficient_scope names every scope the request needs, in the token scheme', async () => {
      const bearer = await token('mcp:tools');
      const refused = await send(`${origin}/mcp/tools`, 'POST', {
        authorization: `Bearer ${bearer}`,
        'content-type': 'application/json',
        'x-tool': 'admin',
      });
      expect(refused.status).toBe(403);
      expect(challenge(refused)).toStrictEqual({
        scheme: 'Bearer',
        error: 'insufficient_scope',
        error_description: 'the access token lacks a scope this request needs',
        scope: 'mcp:tools mcp:admin',
        resource_metadata: rs.metadataUrl,
      });
      // The same token is enough for what needs mcp:tools alone.
      const fine = await send(`${origin}/mcp/tools`, 'POST', {
        authorization: `Bearer ${bearer}`,
        'x-tool': 'read',
      });
      expect(fine.status).toBe(200);
      // A bound token gets a DPoP challenge with the same scope.
      const bound = await token('mcp:tools', key.jkt);
      const dpopRefused = await send(`${origin}/mcp/tools`, 'POST', {
        ...(await dpopHeaders(bound, 'POST', '/mcp/tools')),
        'x-tool': 'admin',
      });
      expect(dpopRefused.status).toBe(403);
      expect(challenge(dpopRefused)).toMatchObject({
        scheme: 'DPoP',
        error: 'insufficient_scope',
        scope: 'mcp:tools mcp:admin',
        resource_metadata: rs.metadataUrl,
      });
      // After stepping up: a token with both.
      const stepped = await token('mcp:tools mcp:admin', key.jkt);
      const accepted = await send(`${origin}/mcp/tools`, 'POST', {
        ...(await dpopHeaders(stepped, 'POST', '/mcp/tools')),
        'x-tool': 'admin',
      });
      expect(accepted.status).toBe(200);
      expect(JSON.parse(accepted.body)).toMatchObject({ scopes: ['mcp:tools', 'mcp:admin'] });
    });
  });
}
