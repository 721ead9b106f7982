/**
 * CORS for browser apps (issue #16, part 4): the public documents for any origin; token,
 * revocation and userinfo only for the exact origins of the requesting spa client's redirect URIs;
 * nothing anywhere else. Every refusal here is an attack a page on another origin could try.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORS_MAX_AGE_S } from '../src/http/cors.js';
import { refusedRedirectsOf } from '../src/services/redirects.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';
const APP = 'https://app.example.com';
const LOCAL_APP = 'http://127.0.0.1:5173';
const EVIL = 'https://evil.example';

describe('CORS', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let spaId: string;
  let webId: string;
  let webSecret: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user('carol@example.com', PASSWORD);
    spaId = (
      await t.client({
        type: 'spa',
        name: 'Acme SPA',
        redirectUris: [`${APP}/callback`, `${LOCAL_APP}/callback`],
        grantTypes: ['authorization_code', 'refresh_token'],
      })
    ).clientId;
    // A web client registered on the very same origin: a confidential client gets no CORS.
    const web = await t.client({
      type: 'web',
      name: 'Acme Web',
      redirectUris: [`${APP}/server-callback`],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    webId = web.clientId;
    webSecret = web.clientSecret ?? '';
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const url = (path: string): string => `${t.url}${path}`;

  function preflight(
    path: string,
    origin: string,
    method = 'POST',
    headers = 'authorization, content-type, dpop',
  ): Promise<Response> {
    return fetch(url(path), {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': headers,
      },
    });
  }

  function postForm(
    path: string,
    form: Record<string, string>,
    origin: string,
    extra: Record<string, string> = {},
  ): Promise<Response> {
    return fetch(url(path), {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded', ...extra },
      body: new URLSearchParams(form),
    });
  }

  /** A real code for the spa client, signed in through the hosted pages. */
  async function spaTokens(): Promise<{ access_token: string; refresh_token: string }> {
    const browser = new FormBrowser(t.url);
    const { verifier, challenge } = pkce();
    const location = await browser.authorize(
      {
        response_type: 'code',
        client_id: spaId,
        redirect_uri: `${APP}/callback`,
        scope: 'openid email offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
        nonce: 'n',
      },
      'carol@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    const response = await postForm(
      '/e/development/token',
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: `${APP}/callback`,
        client_id: spaId,
        code_verifier: verifier,
      },
      APP,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    return (await response.json()) as { access_token: string; refresh_token: string };
  }

  describe('public documents: any origin', () => {
    const documents = [
      '/.well-known/oauth-authorization-server/e/development',
      '/.well-known/openid-configuration/e/development',
      '/e/development/.well-known/openid-configuration',
      '/e/development/.well-known/oauth-authorization-server',
      '/e/development/jwks',
    ];

    it.each(documents)('%s answers ACAO * with and without an Origin', async (path) => {
      const fromPage = await fetch(url(path), { headers: { origin: EVIL } });
      expect(fromPage.status).toBe(200);
      expect(fromPage.headers.get('access-control-allow-origin')).toBe('*');
      expect(fromPage.headers.get('access-control-allow-credentials')).toBeNull();
      const plain = await fetch(url(path));
      expect(plain.headers.get('access-control-allow-origin')).toBe('*');
    });

    it.each(documents)('%s answers a preflight', async (path) => {
      const response = await preflight(path, EVIL, 'GET', '');
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-methods')).toBe('GET');
      expect(response.headers.get('access-control-max-age')).toBe(String(CORS_MAX_AGE_S));
    });
  });

  describe('token, revocation, userinfo: the spa client’s exact origins', () => {
    it.each([
      ['/e/development/token', 'POST'],
      ['/e/development/revoke', 'POST'],
      ['/e/development/par', 'POST'],
      ['/e/development/userinfo', 'GET, POST'],
    ])('%s: a preflight from a registered origin is allowed', async (path, methods) => {
      for (const origin of [APP, LOCAL_APP]) {
        const response = await preflight(path, origin);
        expect(response.status).toBe(204);
        expect(response.headers.get('access-control-allow-origin')).toBe(origin);
        expect(response.headers.get('access-control-allow-methods')).toBe(methods);
        expect(response.headers.get('access-control-allow-headers')).toBe(
          'Authorization, Content-Type, DPoP',
        );
        expect(response.headers.get('access-control-max-age')).toBe(String(CORS_MAX_AGE_S));
        expect(response.headers.get('vary')).toContain('Origin');
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      }
    });

    it.each([
      '/e/development/token',
      '/e/development/revoke',
      '/e/development/par',
      '/e/development/userinfo',
    ])('attack: %s: a preflight from an unregistered origin gets no CORS headers', async (path) => {
      for (const origin of [
        EVIL,
        'http://127.0.0.1:8080', // the registered loopback host on another port: another origin
        'https://app.example.com:8443',
        'http://app.example.com', // the registered host over http
        'https://sub.app.example.com',
        'null', // an opaque origin: a sandboxed frame, a file
      ]) {
        const response = await preflight(path, origin);
        expect(response.headers.get('access-control-allow-origin'), origin).toBeNull();
        expect(response.headers.get('access-control-allow-methods'), origin).toBeNull();
        expect(response.headers.get('vary')).toContain('Origin');
      }
    });

    it('attack: the origin of a web client’s redirect URI alone is not enough for a preflight', async () => {
      // The web client's only redirect URI is on APP too, but a preflight is allowed for spa
      // origins only: check with an environment whose only client on that origin is web.
      const staging = await t.client({
        environment: 'staging',
        type: 'web',
        name: 'Staging web',
        redirectUris: ['https://staging-web.example.com/callback'],
        grantTypes: ['authorization_code'],
      });
      expect(staging.clientId).not.toBe('');
      const response = await preflight('/e/staging/token', 'https://staging-web.example.com');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('the token endpoint answers the spa client’s origin, on success and on error alike', async () => {
      await spaTokens(); // asserts ACAO on the code redemption
      const refused = await postForm(
        '/e/development/token',
        { grant_type: 'refresh_token', refresh_token: 'not-a-token', client_id: spaId },
        LOCAL_APP,
      );
      expect(refused.status).toBe(400);
      expect(refused.headers.get('access-control-allow-origin')).toBe(LOCAL_APP);
      expect(refused.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
      expect(refused.headers.get('vary')).toContain('Origin');
    });

    it('attack: a page on an unregistered origin cannot read the token endpoint’s answer', async () => {
      const { refresh_token } = await spaTokens();
      // The page may send the request (a form post needs no preflight), but the browser hands it
      // no response without a matching ACAO; here the refresh is real and succeeds.
      const response = await postForm(
        '/e/development/token',
        { grant_type: 'refresh_token', refresh_token, client_id: spaId },
        EVIL,
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('vary')).toContain('Origin');
    });

    it('attack: naming a web client from its own origin gets no CORS (a secret never belongs in a browser)', async () => {
      const response = await postForm(
        '/e/development/token',
        {
          grant_type: 'refresh_token',
          refresh_token: 'not-a-token',
          client_id: webId,
          client_secret: webSecret,
        },
        APP,
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('attack: naming another spa client does not lend its origins to a page elsewhere', async () => {
      const other = await t.client({
        type: 'spa',
        name: 'Other SPA',
        redirectUris: ['https://other.example.com/callback'],
        grantTypes: ['authorization_code', 'refresh_token'],
      });
      const response = await postForm(
        '/e/development/token',
        { grant_type: 'refresh_token', refresh_token: 'x', client_id: other.clientId },
        APP,
      );
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('revocation answers the spa client’s origin only', async () => {
      const { refresh_token } = await spaTokens();
      const fromEvil = await postForm(
        '/e/development/revoke',
        { token: 'unknown', client_id: spaId },
        EVIL,
      );
      expect(fromEvil.status).toBe(200);
      expect(fromEvil.headers.get('access-control-allow-origin')).toBeNull();
      const fromApp = await postForm(
        '/e/development/revoke',
        { token: refresh_token, client_id: spaId },
        APP,
      );
      expect(fromApp.status).toBe(200);
      expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP);
    });

    it('PAR answers the spa client’s origin only, so a spa required to push can sign in', async () => {
      const fromEvil = await postForm('/e/development/par', { client_id: spaId }, EVIL);
      expect(fromEvil.status).toBe(400);
      expect(fromEvil.headers.get('access-control-allow-origin')).toBeNull();
      const fromApp = await postForm(
        '/e/development/par',
        {
          client_id: spaId,
          response_type: 'code',
          redirect_uri: `${APP}/callback`,
          scope: 'openid',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        },
        APP,
      );
      expect(fromApp.status).toBe(201);
      expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP);
      expect(((await fromApp.json()) as { request_uri: string }).request_uri).toMatch(
        /^urn:ietf:params:oauth:request_uri:/,
      );
    });

    it('userinfo answers the origins of the client the access token was issued to', async () => {
      const { access_token } = await spaTokens();
      const fromApp = await fetch(url('/e/development/userinfo'), {
        headers: { origin: APP, authorization: `Bearer ${access_token}` },
      });
      expect(fromApp.status).toBe(200);
      expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP);
      const fromEvil = await fetch(url('/e/development/userinfo'), {
        headers: { origin: EVIL, authorization: `Bearer ${access_token}` },
      });
      expect(fromEvil.status).toBe(200);
      expect(fromEvil.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('attack: a forged token naming the spa client gets CORS for an error only, and only on its origin', async () => {
      const payload = Buffer.from(JSON.stringify({ client_id: spaId, sub: 'x' })).toString(
        'base64url',
      );
      const forged = `eyJhbGciOiJub25lIn0.${payload}.`;
      const fromEvil = await fetch(url('/e/development/userinfo'), {
        headers: { origin: EVIL, authorization: `Bearer ${forged}` },
      });
      expect(fromEvil.status).toBe(401);
      expect(fromEvil.headers.get('access-control-allow-origin')).toBeNull();
      const fromApp = await fetch(url('/e/development/userinfo'), {
        headers: { origin: APP, authorization: `Bearer ${forged}` },
      });
      expect(fromApp.status).toBe(401);
      expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP);
    });
  });

  describe('never anywhere else', () => {
    const never = [
      '/e/development/authorize',
      '/e/development/login',
      '/e/development/consent',
      '/e/development/device',
      '/e/development/introspect',
      '/e/development/register',
      '/admin/api/environments',
      '/admin/api/session',
      '/admin',
      '/',
    ];

    it.each(never)('attack: a preflight on %s gets nothing: 404, no CORS headers', async (path) => {
      for (const origin of [APP, EVIL]) {
        const response = await preflight(path, origin);
        expect(response.status, `${path} from ${origin}`).toBe(404);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(response.headers.get('access-control-allow-methods')).toBeNull();
      }
    });

    it.each(never)('attack: a request to %s from a spa origin gets no ACAO', async (path) => {
      const response = await fetch(url(path), {
        headers: { origin: APP },
        redirect: 'manual',
      });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('attack: the authorization endpoint answers no CORS even for the spa client’s own request', async () => {
      const { challenge } = pkce();
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: spaId,
        redirect_uri: `${APP}/callback`,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const response = await fetch(url(`/e/development/authorize?${query.toString()}`), {
        headers: { origin: APP },
        redirect: 'manual',
      });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('spa redirect URIs at the authorization endpoint', () => {
    it('attack: the registered loopback host on another port is refused (another origin), with the port named', async () => {
      const { challenge } = pkce();
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: spaId,
        redirect_uri: 'http://127.0.0.1:8080/callback',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const response = await fetch(url(`/e/development/authorize?${query.toString()}`), {
        redirect: 'manual',
      });
      // A page, never a redirect (RFC 6749 §4.1.2.1).
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    });

    it('attack: the console never offers another port of a spa as a one-click registration (another origin)', async () => {
      const { challenge } = pkce();
      for (const redirectUri of ['http://127.0.0.1:8080/callback', `${APP}/callback/`]) {
        const query = new URLSearchParams({
          response_type: 'code',
          client_id: spaId,
          redirect_uri: redirectUri,
          code_challenge: challenge,
          code_challenge_method: 'S256',
        });
        await fetch(url(`/e/development/authorize?${query.toString()}`), { redirect: 'manual' });
      }
      const refused = await refusedRedirectsOf(t.ctx, 'development', spaId);
      const byUri = new Map(refused.map((entry) => [entry.uri, entry]));
      expect(byUri.get('http://127.0.0.1:8080/callback')?.registrable).toMatchObject({
        ok: false,
        code: 'new_destination',
        message: expect.stringContaining('http://127.0.0.1:8080') as unknown,
      });
      // The same origin with a trailing slash sends codes where a registered URI already does.
      expect(byUri.get(`${APP}/callback/`)?.registrable).toEqual({ ok: true });
    });
  });
});
