/**
 * What every adapter must do, over real HTTP: a Gatehouse server issues the tokens, the adapter
 * runs on 127.0.0.1 behind node:http, and requests go out through fetch (and a raw node:http
 * request where fetch cannot send two Authorization headers).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoverOAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/client/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceServer, type AuthInfo, type ResourceServer } from '../../src/index.js';
import { parseChallenge, parseChallenges } from './challenge-parser.js';
import { startGatehouse, type Gatehouse } from './gatehouse.js';
import { deadUrl } from './key-server.js';

/** What the routes of the app under test are built from. */
export interface Wiring {
  /** Resource `<origin>/mcp`, issuer Gatehouse's development environment. */
  readonly resourceServer: ResourceServer;
  /** The same resource with keys that cannot be fetched: every token gets a 503. */
  readonly broken: ResourceServer;
  readonly onError: (cause: unknown) => void;
}

/**
 * Attaches the app to `server` (already listening) with these routes:
 * - the RFC 9728 metadata document;
 * - `GET` and `POST /mcp` behind `requireBearer(resourceServer)`, answering `authSummary(auth)`;
 * - `GET /mcp/admin` behind `requireBearer(resourceServer, { requiredScopes: ['mcp:admin'] })`;
 * - `GET /broken` behind `requireBearer(broken, { onError })`.
 * Adapters whose framework parses bodies parse JSON on `POST /mcp` before the check.
 */
export type Wire = (server: Server, wiring: Wiring) => Promise<{ close(): Promise<void> }>;

/** The JSON the protected routes answer with. */
export function authSummary(auth: AuthInfo | undefined): Record<string, unknown> {
  return {
    clientId: auth?.clientId,
    scopes: auth?.scopes,
    expiresAt: auth?.expiresAt,
    resource: auth?.resource?.href,
    subject: auth?.extra?.subject,
  };
}

function rawGet(
  url: string,
  authorization: string[],
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    // An array value sends one header line per entry.
    req.setHeader('authorization', authorization);
    req.on('error', reject);
    req.end();
  });
}

export function adapterContract(
  name: string,
  wire: Wire,
  options: { readonly parsesBody: boolean },
): void {
  describe(`${name} adapter over HTTP`, () => {
    let gatehouse: Gatehouse;
    let server: Server;
    let app: { close(): Promise<void> };
    let origin: string;
    let resource: string;
    let rs: ResourceServer;
    let token: string;
    let adminToken: string;
    let otherToken: string;
    const errors: unknown[] = [];

    beforeAll(async () => {
      gatehouse = await startGatehouse();
      server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resource = `${origin}/mcp`;
      await gatehouse.register(resource, ['mcp:tools', 'mcp:admin']);
      await gatehouse.register(`${origin}/other`, ['mcp:tools']);
      rs = createResourceServer({
        resource,
        issuer: gatehouse.issuer,
        scopesSupported: ['mcp:tools', 'mcp:admin'],
        resourceName: `${name} test server`,
      });
      const broken = createResourceServer({
        resource,
        issuer: gatehouse.issuer,
        jwksUri: `${await deadUrl()}/jwks`,
      });
      app = await wire(server, {
        resourceServer: rs,
        broken,
        onError: (cause) => errors.push(cause),
      });
      token = await gatehouse.token(resource, 'mcp:tools');
      adminToken = await gatehouse.token(resource, 'mcp:tools mcp:admin');
      otherToken = await gatehouse.token(`${origin}/other`, 'mcp:tools');
    });

    afterAll(async () => {
      await app.close();
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
      await gatehouse.close();
    });

    const get = (path: string, authorization?: string) =>
      fetch(`${origin}${path}`, {
        headers: authorization === undefined ? {} : { authorization },
      });
    /** The first challenge's parameters: the Bearer one when a DPoP one follows. */
    const challengeOf = (response: Response) =>
      Object.fromEntries(
        parseChallenges(response.headers.get('www-authenticate') ?? '')[0]?.params ?? [],
      );
    const schemesOf = (response: Response) =>
      parseChallenges(response.headers.get('www-authenticate') ?? '').map((c) => c.scheme);

    it('serves the RFC 9728 document at /.well-known/oauth-protected-resource/mcp', async () => {
      expect(rs.metadataUrl).toBe(`${origin}/.well-known/oauth-protected-resource/mcp`);
      const response = await fetch(rs.metadataUrl);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(await response.json()).toStrictEqual({
        resource,
        authorization_servers: [gatehouse.issuer],
        scopes_supported: ['mcp:tools', 'mcp:admin'],
        bearer_methods_supported: ['header'],
        resource_name: `${name} test server`,
        dpop_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256'],
        dpop_bound_access_tokens_required: false,
      });
      // What an MCP client does with a 401: the SDK's own discovery finds the same document.
      const discovered = await discoverOAuthProtectedResourceMetadata(resource);
      expect(discovered.resource).toBe(resource);
      expect(discovered.authorization_servers).toStrictEqual([gatehouse.issuer]);
    });

    it('answers HEAD and a CORS preflight on the document, and refuses other methods', async () => {
      const head = await fetch(rs.metadataUrl, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      const preflight = await fetch(rs.metadataUrl, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.test',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'mcp-protocol-version',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
      expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
      const post = await fetch(rs.metadataUrl, { method: 'POST', body: '{}' });
      expect(post.status).toBeGreaterThanOrEqual(400);
      await post.body?.cancel();
    });

    it('lets a valid token through with its AuthInfo', async () => {
      const response = await get('/mcp', `Bearer ${token}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ scopes: ['mcp:tools'], resource });
      expect(body.clientId).toMatch(/^ghc_development_/);
      expect(body.subject).toBe(body.clientId);
      expect(body.expiresAt).toBeGreaterThan(Date.now() / 1000);
      // RFC 9110 §11.1: the scheme is case-insensitive.
      expect((await get('/mcp', `bearer ${token}`)).status).toBe(200);
      expect((await get('/mcp', `BEARER ${token}`)).status).toBe(200);
    });

    it('no token: 401 with resource_metadata and no error code', async () => {
      const response = await get('/mcp');
      expect(response.status).toBe(401);
      // Bearer first (MCP clients read the first challenge), then DPoP (RFC 9449 §7.1).
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${rs.metadataUrl}", DPoP resource_metadata="${rs.metadataUrl}", algs="ES256 ES384 EdDSA Ed25519 RS256 PS256"`,
      );
      expect(await response.text()).toBe('');
      // Another scheme carries no bearer token either.
      const basic = await get('/mcp', 'Basic dXNlcjpwYXNz');
      expect(basic.status).toBe(401);
      expect(challengeOf(basic)).toStrictEqual({ resource_metadata: rs.metadataUrl });
      expect(schemesOf(basic)).toStrictEqual(['Bearer', 'DPoP']);
    });

    it('a bad token: 401 invalid_token with a description, in the header and the body', async () => {
      for (const [authorization, description] of [
        ['Bearer not-a-jwt', 'the access token is malformed'],
        [`Bearer ${otherToken}`, 'the access token was not issued for this resource'],
        [`Bearer ${token.slice(0, -4)}AAAA`, 'the access token signature is invalid'],
      ] as const) {
        const response = await get('/mcp', authorization);
        expect(response.status).toBe(401);
        expect(challengeOf(response)).toStrictEqual({
          error: 'invalid_token',
          error_description: description,
          resource_metadata: rs.metadataUrl,
        });
        expect(await response.json()).toStrictEqual({
          error: 'invalid_token',
          error_description: description,
        });
      }
    });

    it('a missing scope: 403 insufficient_scope naming it; 401s name it too', async () => {
      const response = await get('/mcp/admin', `Bearer ${token}`);
      expect(response.status).toBe(403);
      expect(challengeOf(response)).toMatchObject({
        error: 'insufficient_scope',
        scope: 'mcp:admin',
        resource_metadata: rs.metadataUrl,
      });
      await response.body?.cancel();
      expect((await get('/mcp/admin', `Bearer ${adminToken}`)).status).toBe(200);
      const anonymous = await get('/mcp/admin');
      expect(anonymous.status).toBe(401);
      expect(challengeOf(anonymous)).toStrictEqual({
        scope: 'mcp:admin',
        resource_metadata: rs.metadataUrl,
      });
    });

    it('refuses a token in the query string, even a valid one, even with the header', async () => {
      for (const authorization of [undefined, `Bearer ${token}`]) {
        const response = await get(`/mcp?access_token=${token}`, authorization);
        expect(response.status).toBe(400);
        expect(challengeOf(response)).toMatchObject({ error: 'invalid_request' });
        expect(await response.text()).not.toContain(token);
      }
    });

    it('refuses two Authorization headers', async () => {
      const response = await rawGet(`${origin}/mcp`, [`Bearer ${token}`, `Bearer ${adminToken}`]);
      expect(response.status).toBe(400);
      expect(
        Object.fromEntries(parseChallenge(String(response.headers['www-authenticate'])).params),
      ).toMatchObject({
        error: 'invalid_request',
        error_description: 'send exactly one Authorization header',
      });
      // One header line is fine.
      expect((await rawGet(`${origin}/mcp`, [`Bearer ${token}`])).status).toBe(200);
    });

    it(
      options.parsesBody ? 'refuses a token in a parsed body' : 'never reads a token from the body',
      async () => {
        const response = await fetch(`${origin}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ access_token: token }),
        });
        if (options.parsesBody) {
          expect(response.status).toBe(400);
          expect(challengeOf(response)).toMatchObject({ error: 'invalid_request' });
        } else {
          expect(response.status).toBe(401);
          expect(challengeOf(response)).toStrictEqual({ resource_metadata: rs.metadataUrl });
        }
        await response.body?.cancel();
        const posted = await fetch(`${origin}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        });
        expect(posted.status).toBe(200);
        await posted.body?.cancel();
      },
    );

    it('503 when the issuer keys cannot be fetched, reported to onError', async () => {
      const before = errors.length;
      const response = await get('/broken', `Bearer ${token}`);
      expect(response.status).toBe(503);
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(await response.json()).toStrictEqual({
        error: 'server_error',
        error_description: 'the authorization server keys could not be fetched',
      });
      expect(errors.length).toBe(before + 1);
    });
  });
}
