/**
 * Review of CORS and the spa client type (issue #16, part 4), by attack: every test here is
 * something a page on another origin, or a request crafted by hand, tries in order to read an
 * answer it must not. Raw HTTP for what a browser never sends (origin spellings, two Origin
 * headers), Chromium for what pages on real origins can do.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, updateClient } from '../src/services/clients.js';
import { planState } from '../src/services/declarative/plan.js';
import { promoteClient } from '../src/services/promote.js';
import { parseDeclaredState } from '../src/services/declarative/schema.js';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';
const APP = 'https://app.example.com';

/** One HTTP/1.1 exchange written by hand: what fetch would refuse to send (two Origin headers). */
function rawExchange(base: string, request: string): Promise<{ status: number; head: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('end', () => {
      const head = text.slice(0, text.indexOf('\r\n\r\n')).toLowerCase();
      resolve({ status: Number(head.split(' ')[1]), head });
    });
    socket.on('error', reject);
  });
}

function header(head: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, 'm').exec(head)?.[1];
}

/** A blank page on its own port: listening on `::` so both 127.0.0.1 and localhost reach it. */
async function startPage(): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) =>
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>page</title>'),
  );
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('CORS attacks', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let pageA: { server: Server; port: number };
  let pageB: { server: Server; port: number };
  let spaA: string;
  let spaB: string;
  let originA: string;
  let originB: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user('carol@example.com', PASSWORD);
    pageA = await startPage();
    pageB = await startPage();
    originA = `http://127.0.0.1:${pageA.port}`;
    originB = `http://127.0.0.1:${pageB.port}`;
    spaA = (
      await t.client({
        type: 'spa',
        name: 'Spa A',
        redirectUris: [`${APP}/callback`, `${originA}/callback`],
        grantTypes: ['authorization_code', 'refresh_token'],
      })
    ).clientId;
    // Another company's app in the same environment: its origin passes a preflight.
    spaB = (
      await t.client({
        type: 'spa',
        name: 'Spa B',
        redirectUris: [`${originB}/callback`],
        grantTypes: ['authorization_code', 'refresh_token'],
      })
    ).clientId;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    pageA.server.close();
    pageB.server.close();
    await t.close();
    await db.drop();
  });

  /** A real grant of spa A (its loopback redirect URI), signed in through the hosted pages. */
  function tokensOfA(): Promise<{ access_token: string; refresh_token: string }> {
    return tokensOf(spaA, `${originA}/callback`);
  }

  /** A real grant of a spa client, signed in through the hosted pages. */
  async function tokensOf(
    clientId: string,
    redirectUri: string,
  ): Promise<{ access_token: string; refresh_token: string }> {
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        scope: 'openid email offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        nonce: 'n',
      },
      'carol@example.com',
      PASSWORD,
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    return { access_token: tokens.access_token, refresh_token: tokens.refresh_token ?? '' };
  }

  function tokenPost(origins: readonly string[], form: Record<string, string>) {
    const body = new URLSearchParams(form).toString();
    return rawExchange(
      t.url,
      `POST /e/development/token HTTP/1.1\r\nHost: gatehouse\r\n` +
        origins.map((origin) => `Origin: ${origin}\r\n`).join('') +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }

  function preflight(path: string, origins: readonly string[]) {
    return rawExchange(
      t.url,
      `OPTIONS ${path} HTTP/1.1\r\nHost: gatehouse\r\n` +
        origins.map((origin) => `Origin: ${origin}\r\n`).join('') +
        `Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n`,
    );
  }

  describe('origin spellings: only the exact serialised origin', () => {
    const refresh = () => ({ grant_type: 'refresh_token', refresh_token: 'x', client_id: spaA });

    it('the registered origin itself is answered (control)', async () => {
      const answer = await tokenPost([APP], refresh());
      expect(answer.status).toBe(400);
      expect(header(answer.head, 'access-control-allow-origin')).toBe(APP);
    });

    it.each([
      ['a trailing dot (another origin to a browser)', 'https://app.example.com.'],
      ['an uppercase host', 'https://APP.example.com'],
      ['an uppercase scheme', 'HTTPS://app.example.com'],
      ['the default port written out', 'https://app.example.com:443'],
      ['userinfo', 'https://user@app.example.com'],
      ['a path', 'https://app.example.com/callback'],
      ['a trailing slash', 'https://app.example.com/'],
      ['an opaque origin', 'null'],
      ['a list of origins', `${APP}, https://evil.example`],
      ['a list of origins, the registered one last', `https://evil.example ${APP}`],
      ['the http form of the registered https origin', 'http://app.example.com'],
      ['a sub-domain', 'https://evil.app.example.com'],
      ['a suffix', 'https://app.example.com.evil.example'],
      ['punycode of a look-alike host', 'https://xn--pp-7ka.example.com'],
      ['spa A’s loopback page by another name (same port)', 'http://localhost:PORT_OF_A'],
    ])('attack: %s gets no ACAO, even on an error', async (_what, spelled) => {
      const origin = spelled.replace('PORT_OF_A', String(pageA.port));
      const answer = await tokenPost([origin], refresh());
      expect(answer.status).toBe(400);
      expect(header(answer.head, 'access-control-allow-origin')).toBeUndefined();
      expect(header(answer.head, 'vary')).toContain('origin');
      const pre = await preflight('/e/development/token', [origin]);
      expect(header(pre.head, 'access-control-allow-origin')).toBeUndefined();
    });

    it('attack: two Origin headers, in either order, are no origin (actual request and preflight)', async () => {
      for (const pair of [
        [APP, 'https://evil.example'],
        ['https://evil.example', APP],
        [APP, APP],
      ]) {
        const answer = await tokenPost(pair, refresh());
        expect(
          header(answer.head, 'access-control-allow-origin'),
          pair.join(' + '),
        ).toBeUndefined();
        const pre = await preflight('/e/development/token', pair);
        expect(header(pre.head, 'access-control-allow-origin'), pair.join(' + ')).toBeUndefined();
      }
    });

    it('attack: the spa’s origin naming it at another environment’s token endpoint gets nothing', async () => {
      const body = new URLSearchParams(refresh()).toString();
      const answer = await rawExchange(
        t.url,
        `POST /e/staging/token HTTP/1.1\r\nHost: gatehouse\r\nOrigin: ${APP}\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
      expect(answer.status).toBe(401);
      expect(header(answer.head, 'access-control-allow-origin')).toBeUndefined();
      const pre = await preflight('/e/staging/token', [APP]);
      expect(header(pre.head, 'access-control-allow-origin')).toBeUndefined();
    });
  });

  describe('answers that never carry CORS', () => {
    it.each([
      '/e/development/logout',
      '/e/development/logout/confirm',
      '/e/development/device_authorization',
      '/e/development/revocations',
      `/e/development/register/x`,
      '/e/development/impersonation/end',
      '/e/development/authorize/continue',
      '/e/development/confirm',
      '/assets/gatehouse.css',
      '/healthz',
    ])('attack: %s: no preflight, and no ACAO for the spa’s own origin naming it', async (path) => {
      const pre = await preflight(path, [APP]);
      expect(pre.status).toBe(404);
      expect(header(pre.head, 'access-control-allow-origin')).toBeUndefined();
      for (const method of ['GET', 'POST']) {
        const response = await fetch(`${t.url}${path}`, {
          method,
          redirect: 'manual',
          headers: {
            origin: APP,
            ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          ...(method === 'POST'
            ? { body: new URLSearchParams({ client_id: spaA, token: 'x' }) }
            : {}),
        });
        expect(response.headers.get('access-control-allow-origin'), `${method} ${path}`).toBeNull();
      }
    });

    it('attack: credentials are never allowed: not on a preflight, not on a success', async () => {
      const { access_token } = await tokensOfA();
      const pre = await preflight('/e/development/userinfo', [APP]);
      expect(header(pre.head, 'access-control-allow-origin')).toBe(APP);
      expect(header(pre.head, 'access-control-allow-credentials')).toBeUndefined();
      const userinfo = await fetch(`${t.url}/e/development/userinfo`, {
        headers: { origin: APP, authorization: `Bearer ${access_token}` },
      });
      expect(userinfo.status).toBe(200);
      expect(userinfo.headers.get('access-control-allow-origin')).toBe(APP);
      expect(userinfo.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('attack: a non-form body naming the spa from another origin: no ACAO, Vary: Origin', async () => {
      const big = await fetch(`${t.url}/e/development/token`, {
        method: 'POST',
        headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
        body: `client_id=${spaA}`,
      });
      expect(big.status).toBeGreaterThanOrEqual(400);
      expect(big.headers.get('access-control-allow-origin')).toBeNull();
      expect(big.headers.get('vary')).toContain('Origin');
    });
  });

  describe('userinfo: whose origin may read a user’s claims', () => {
    it('attack: another spa’s origin with spa A’s real token: no ACAO (its preflight passes)', async () => {
      const { access_token } = await tokensOfA();
      const pre = await preflight('/e/development/userinfo', [originB]);
      expect(header(pre.head, 'access-control-allow-origin')).toBe(originB);
      const response = await fetch(`${t.url}/e/development/userinfo`, {
        headers: { origin: originB, authorization: `Bearer ${access_token}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('attack: a token re-signed with alg none, claiming spa B, over spa A’s real claims: 401, never the claims', async () => {
      const { access_token } = await tokensOfA();
      const [, payload = ''] = access_token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      const forged = [
        Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url'),
        Buffer.from(JSON.stringify({ ...claims, client_id: spaB })).toString('base64url'),
        '',
      ].join('.');
      const response = await fetch(`${t.url}/e/development/userinfo`, {
        headers: { origin: originB, authorization: `Bearer ${forged}` },
      });
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('carol@example.com');
    });
  });

  describe('in Chromium, from pages on real origins', () => {
    async function openAt(origin: string): Promise<{ page: Page; close: () => Promise<void> }> {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      return { page, close: () => context.close() };
    }

    /** What a page's fetch sees: a status, or the TypeError a CORS refusal is. */
    function readFrom(
      page: Page,
      calls: Record<string, { url: string; init?: Record<string, unknown> }>,
    ): Promise<Record<string, string>> {
      return page.evaluate(async (list) => {
        const out: Record<string, string> = {};
        for (const [name, { url, init }] of Object.entries(list)) {
          try {
            out[name] = `status ${(await fetch(url, init)).status}`;
          } catch (error) {
            out[name] = `blocked: ${(error as Error).name}`;
          }
        }
        return out;
      }, calls);
    }

    const form = (body: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body).toString(),
    });

    it('spa A’s page reads its token endpoint answer; the same port as localhost is another origin and cannot', async () => {
      const issuer = t.issuer('development');
      const calls = {
        token: {
          url: `${issuer}/token`,
          init: form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: spaA }),
        },
      };
      const own = await openAt(originA);
      expect(await readFrom(own.page, calls)).toEqual({ token: 'status 400' });
      await own.close();
      const renamed = await openAt(`http://localhost:${pageA.port}`);
      expect(await readFrom(renamed.page, calls)).toEqual({ token: 'blocked: TypeError' });
      await renamed.close();
    });

    it('attack: an origin removed from the registration is refused at once, though the browser still holds its preflight', async () => {
      const pageC = await startPage();
      const originC = `http://127.0.0.1:${pageC.port}`;
      try {
        const spaC = (
          await t.client({
            type: 'spa',
            name: 'Spa C',
            redirectUris: ['https://c.example.com/callback', `${originC}/callback`],
          })
        ).clientId;
        const { access_token } = await tokensOf(spaC, `${originC}/callback`);
        const issuer = t.issuer('development');
        const calls = {
          userinfo: {
            url: `${issuer}/userinfo`,
            init: { headers: { authorization: `Bearer ${access_token}` } },
          },
          token: {
            url: `${issuer}/token`,
            init: form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: spaC }),
          },
        };
        const c = await openAt(originC);
        // The preflight of the first call is cached by the browser for Max-Age (600 s).
        expect(await readFrom(c.page, calls)).toEqual({
          userinfo: 'status 200',
          token: 'status 400',
        });
        // The operator drops the loopback build; the token endpoint's answer and userinfo's are
        // checked against the registration as it is now (the client read is invalidated on write).
        await updateClient(t.ctx, 'development', spaC, {
          setRedirectUris: ['https://c.example.com/callback'],
        });
        expect(await readFrom(c.page, calls)).toEqual({
          userinfo: 'blocked: TypeError',
          token: 'blocked: TypeError',
        });
        await c.close();
      } finally {
        pageC.server.close();
      }
    });

    it('attack: spa B’s page cannot read userinfo or refresh with spa A’s stolen tokens', async () => {
      const { access_token, refresh_token } = await tokensOfA();
      const issuer = t.issuer('development');
      const b = await openAt(originB);
      expect(
        await readFrom(b.page, {
          userinfo: {
            url: `${issuer}/userinfo`,
            init: { headers: { authorization: `Bearer ${access_token}` } },
          },
          refresh: {
            url: `${issuer}/token`,
            init: form({ grant_type: 'refresh_token', refresh_token, client_id: spaA }),
          },
          revoke: {
            url: `${issuer}/revoke`,
            init: form({ token: refresh_token, client_id: spaA }),
          },
        }),
      ).toEqual({
        userinfo: 'blocked: TypeError',
        refresh: 'blocked: TypeError',
        revoke: 'blocked: TypeError',
      });
      await b.close();
    });

    it('attack: spa A’s own page cannot send credentials, nor read introspection, the admin API or authorize', async () => {
      const { access_token } = await tokensOfA();
      const issuer = t.issuer('development');
      const a = await openAt(originA);
      expect(
        await readFrom(a.page, {
          withCredentials: {
            url: `${issuer}/userinfo`,
            init: {
              credentials: 'include',
              headers: { authorization: `Bearer ${access_token}` },
            },
          },
          withoutCredentials: {
            url: `${issuer}/userinfo`,
            init: { headers: { authorization: `Bearer ${access_token}` } },
          },
          introspect: { url: `${issuer}/introspect`, init: form({ token: access_token }) },
          // PAR answers the spa's own origin (a spa required to push signs in from the browser).
          par: { url: `${issuer}/par`, init: form({ client_id: spaA }) },
          admin: { url: `${t.url}/admin/api/environments` },
          authorize: { url: `${issuer}/authorize?client_id=${encodeURIComponent(spaA)}` },
          logout: { url: `${issuer}/logout` },
        }),
      ).toEqual({
        withCredentials: 'blocked: TypeError',
        withoutCredentials: 'status 200',
        introspect: 'blocked: TypeError',
        par: 'status 400',
        admin: 'blocked: TypeError',
        authorize: 'blocked: TypeError',
        logout: 'blocked: TypeError',
      });
      await a.close();
    });
  });

  describe('the spa refresh cap (24 h after sign-in) cannot be escaped', () => {
    it('attack: a spa never becomes another type, by the service or a declarative file', async () => {
      const spa = await createClient(t.ctx, {
        environment: 'development',
        type: 'spa',
        name: 'Managed spa',
        redirectUris: ['https://managed.example.com/callback'],
        managedBy: 'managed-spa',
      });
      // A web client's refresh tokens live 90 days: an update naming a type changes nothing.
      const updated = await updateClient(t.ctx, 'development', spa.client.clientId, {
        name: 'Renamed',
        type: 'web',
      } as Parameters<typeof updateClient>[3]);
      expect(updated.client.type).toBe('spa');
      const plan = await planState(
        t.ctx,
        parseDeclaredState({
          version: 1,
          clients: [
            {
              key: 'managed-spa',
              name: 'Managed spa',
              type: 'web',
              environments: {
                development: { redirectUris: ['https://managed.example.com/callback'] },
              },
            },
          ],
        }),
      );
      expect(plan.problems.map((p) => p.code)).toContain('type_change');
    });

    it('attack: a spa cannot be given token exchange or the device grant (other ways to tokens)', async () => {
      for (const grant of [
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:ietf:params:oauth:grant-type:device_code',
        'client_credentials',
      ])
        await expect(
          createClient(t.ctx, {
            environment: 'development',
            type: 'spa',
            name: 'Greedy spa',
            redirectUris: ['https://greedy.example.com/callback'],
            grantTypes: ['authorization_code', grant as 'client_credentials'],
          }),
          grant,
        ).rejects.toMatchObject({ code: 'invalid_grant_type' });
    });
  });

  describe('a spa’s loopback origin: development only', () => {
    it('attack: production refuses a spa’s loopback redirect URI, so its origin is never granted there', async () => {
      await expect(
        t.client({
          environment: 'production',
          type: 'spa',
          name: 'Local build in production',
          redirectUris: ['http://127.0.0.1:5173/callback'],
        }),
      ).rejects.toMatchObject({
        code: 'redirect_uri_refused',
        message: expect.stringContaining('only in the development environment') as unknown,
      });
    });

    it('attack: promoting a development spa to production carries no loopback origin along', async () => {
      const dev = await t.client({
        type: 'spa',
        name: 'Promoted spa',
        redirectUris: ['https://promoted.example.com/callback', 'http://127.0.0.1:5174/callback'],
      });
      await expect(
        promoteClient(t.ctx, 'development', dev.clientId, 'production'),
      ).rejects.toMatchObject({ code: 'promotion_refused' });
      const promoted = await promoteClient(t.ctx, 'development', dev.clientId, 'production', {
        dropRefused: true,
      });
      expect(promoted.client.redirectUris).toEqual(['https://promoted.example.com/callback']);
      const loopback = await preflight('/e/production/token', ['http://127.0.0.1:5174']);
      expect(header(loopback.head, 'access-control-allow-origin')).toBeUndefined();
      const https = await preflight('/e/production/token', ['https://promoted.example.com']);
      expect(header(https.head, 'access-control-allow-origin')).toBe(
        'https://promoted.example.com',
      );
    });
  });
});
