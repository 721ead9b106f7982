/**
 * oidc-client-ts, the browser library single-page apps use, run in Chromium from a page on another
 * origin than Gatehouse's (issue #16, part 4): discovery, sign-in with code + PKCE, userinfo and
 * refresh all cross the origin boundary, so each works only if CORS answers them; sign-out is
 * RP-Initiated Logout by navigation (signoutRedirect). A page on an unregistered origin, in the
 * same browser, reads the public documents but nothing else.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';

/** oidc-client-ts's own browser bundle (it defines the global `oidc`), found by package name. */
async function oidcClientBundle(): Promise<string> {
  const main = createRequire(import.meta.url).resolve('oidc-client-ts'); // dist/umd/...
  return readFile(join(dirname(main), '..', 'browser', 'oidc-client-ts.js'), 'utf8');
}

/**
 * A static single-page app on its own loopback port: its origin differs from Gatehouse's. The
 * settings are served as a script so the pages carry no inline code.
 */
async function startApp(bundle: string): Promise<{ server: Server; origin: string }> {
  let settings = '{}';
  const page = (script: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>SPA</title></head>` +
    `<body><p id="status">loading</p><script src="/oidc-client-ts.js"></script>` +
    `<script src="/settings.js"></script><script src="/${script}"></script></body></html>`;
  const scripts: Record<string, string> = {
    'app.js': `window.mgr = new oidc.UserManager(window.SETTINGS);
document.getElementById('status').textContent = 'ready';`,
    'callback.js': `window.mgr = new oidc.UserManager(window.SETTINGS);
window.mgr.signinRedirectCallback().then(
  (user) => { window.signedIn = { sub: user.profile.sub, email: user.profile.email,
    accessToken: user.access_token, hasRefresh: typeof user.refresh_token === 'string' };
    document.getElementById('status').textContent = 'signed in'; },
  (error) => { document.getElementById('status').textContent = 'error: ' + error.message; });`,
    'signed-out.js': `window.mgr = new oidc.UserManager(window.SETTINGS);
window.mgr.signoutRedirectCallback().then(
  (response) => { window.signedOutState = response.userState ?? null;
    document.getElementById('status').textContent = 'signed out'; },
  (error) => { document.getElementById('status').textContent = 'error: ' + error.message; });`,
  };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://app').pathname;
    if (path === '/settings') {
      // The test posts the settings once the client is registered (it needs this origin first).
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        settings = body;
        response.writeHead(204).end();
      });
      return;
    }
    const send = (type: string, body: string) =>
      response.writeHead(200, { 'content-type': type }).end(body);
    if (path === '/oidc-client-ts.js') return send('text/javascript', bundle);
    if (path === '/settings.js') return send('text/javascript', `window.SETTINGS = ${settings};`);
    const script = scripts[path.slice(1)];
    if (script !== undefined) return send('text/javascript', script);
    if (path === '/' || path === '/index.html') return send('text/html', page('app.js'));
    if (path === '/callback') return send('text/html', page('callback.js'));
    if (path === '/signed-out') return send('text/html', page('signed-out.js'));
    if (path === '/favicon.ico') return response.writeHead(204).end();
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('oidc-client-ts in Chromium, from a page on another origin', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let app: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  let clientId: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user('carol@example.com', PASSWORD);
    const bundle = await oidcClientBundle();
    app = await startApp(bundle);
    other = await startApp(bundle);
    // A spa client in development: its loopback redirect URIs carry the app's exact port.
    clientId = (
      await t.client({
        type: 'spa',
        name: 'Acme SPA',
        redirectUris: [`${app.origin}/callback`],
        postLogoutRedirectUris: [`${app.origin}/signed-out`],
        grantTypes: ['authorization_code', 'refresh_token'],
      })
    ).clientId;
    const settings = JSON.stringify({
      authority: t.issuer('development'),
      client_id: clientId,
      redirect_uri: `${app.origin}/callback`,
      post_logout_redirect_uri: `${app.origin}/signed-out`,
      response_type: 'code',
      scope: 'openid email offline_access',
      loadUserInfo: true,
      automaticSilentRenew: false,
    });
    for (const { origin } of [app, other])
      await fetch(`${origin}/settings`, { method: 'POST', body: settings });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    app.server.close();
    other.server.close();
    await t.close();
    await db.drop();
  });

  async function status(page: Page, expected: string): Promise<void> {
    // A string: this package's TypeScript has no DOM types; it runs in the page.
    await page.waitForFunction(
      `(() => { const shown = document.getElementById('status').textContent;
        return shown === ${JSON.stringify(expected)} || shown.startsWith('error'); })()`,
    );
    expect(await page.textContent('#status')).toBe(expected);
  }

  async function signIn(page: Page): Promise<void> {
    await page.goto(`${app.origin}/`);
    await status(page, 'ready');
    // The library reads the discovery document, then navigates: not awaited inside the page.
    await page.evaluate(() => {
      void (globalThis as unknown as SpaWindow).mgr.signinRedirect();
    });
    await page.waitForURL((url) => url.href.startsWith(t.url));
    await page.getByLabel('Email').fill('carol@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Consent the first time; after that, typing the password was the confirmation a public
    // client's request needs (RFC 8252 §8.6), and the browser goes straight back.
    const callback = `${app.origin}/callback`;
    await page.waitForURL(
      (url) => url.href.startsWith(callback) || /\/(consent|confirm)$/.test(url.pathname),
    );
    if (!page.url().startsWith(callback))
      await page.locator('button[name="decision"][value="allow"]').click();
    await page.waitForURL((url) => url.href.startsWith(callback));
    await status(page, 'signed in');
  }

  it('signs in with code + PKCE, reads userinfo and refreshes, every call cross-origin', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const crossOrigin: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(t.url) && request.resourceType() === 'fetch')
        crossOrigin.push(`${request.method()} ${new URL(request.url()).pathname}`);
    });
    await signIn(page);
    const signedIn = await page.evaluate(() => (globalThis as unknown as SpaWindow).signedIn);
    expect(signedIn).toMatchObject({ email: 'carol@example.com', hasRefresh: true });
    // The library read the discovery document, redeemed the code and read userinfo itself.
    expect(crossOrigin).toEqual(
      expect.arrayContaining([
        'GET /e/development/.well-known/openid-configuration',
        'POST /e/development/token',
        'GET /e/development/userinfo',
      ]),
    );

    // signinSilent with a refresh token uses the refresh_token grant (no iframe).
    const refreshed = await page.evaluate(async () => {
      const user = await (globalThis as unknown as SpaWindow).mgr.signinSilent();
      return { accessToken: user?.access_token, email: user?.profile.email };
    });
    expect(refreshed.email).toBe('carol@example.com');
    expect(refreshed.accessToken).toBeDefined();
    expect(refreshed.accessToken).not.toBe(signedIn.accessToken);
    await context.close();
  });

  it('attack: a refresh token lifted from the app’s storage dies when the app revokes it cross-origin (revokeTokens)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    // What a script injected into the app's origin could copy out of its storage.
    const stolen = await page.evaluate(async () => {
      const user = (await (globalThis as unknown as SpaWindow).mgr.getUser()) as {
        access_token: string;
        refresh_token?: string;
      } | null;
      return { access: user?.access_token ?? '', refresh: user?.refresh_token ?? '' };
    });
    expect(stolen.refresh).not.toBe('');
    // The app revokes its tokens through the revocation endpoint, from its own origin (CORS).
    const revoked = await page.evaluate(async () => {
      try {
        await (globalThis as unknown as SpaWindow).mgr.revokeTokens(['refresh_token']);
        return 'revoked';
      } catch (error) {
        return `error: ${(error as Error).message}`;
      }
    });
    expect(revoked).toBe('revoked');
    // RFC 7009 §2.1: the refresh token and the grant's access tokens are dead for the thief too.
    const refresh = await t.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: stolen.refresh,
      client_id: clientId,
    });
    expect(refresh).toMatchObject({ status: 400, error: 'invalid_grant' });
    const userinfo = await fetch(`${t.issuer('development')}/userinfo`, {
      headers: { authorization: `Bearer ${stolen.access}` },
    });
    expect(userinfo.status).toBe(401);
    await context.close();
  });

  it('signs out with signoutRedirect: the Gatehouse session ends and the app gets its state back', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    // RP-Initiated Logout: id_token_hint and post_logout_redirect_uri, so no confirmation page.
    await page.evaluate(() => {
      void (globalThis as unknown as SpaWindow).mgr.signoutRedirect({ state: 'bye' });
    });
    await page.waitForURL((url) => url.href.startsWith(`${app.origin}/signed-out`));
    await status(page, 'signed out');
    expect(await page.evaluate(() => (globalThis as unknown as SpaWindow).signedOutState)).toBe(
      'bye',
    );
    expect(
      await page.evaluate(() => (globalThis as unknown as SpaWindow).mgr.getUser()),
    ).toBeNull();
    // Signed out at Gatehouse too: signing in again asks for the password.
    await page.goto(`${app.origin}/`);
    await status(page, 'ready');
    await page.evaluate(() => {
      void (globalThis as unknown as SpaWindow).mgr.signinRedirect();
    });
    await page.waitForURL((url) => url.href.startsWith(t.url));
    await page.getByLabel('Password').waitFor();
    expect(await page.getByLabel('Password').count()).toBe(1);
    await context.close();
  });

  it('attack: a page on an unregistered origin reads the public documents, not the token endpoint', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${other.origin}/`);
    await status(page, 'ready');
    const outcome = await page.evaluate(
      async ([issuer, spaClientId]) => {
        const read = async (input: string, init?: RequestInit): Promise<string> => {
          try {
            return `status ${(await fetch(input, init)).status}`;
          } catch (error) {
            return `blocked: ${(error as Error).name}`;
          }
        };
        return {
          discovery: await read(`${issuer}/.well-known/openid-configuration`),
          jwks: await read(`${issuer}/jwks`),
          token: await read(`${issuer}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            // Naming the spa client lends this page none of its origins.
            body: `grant_type=refresh_token&refresh_token=x&client_id=${encodeURIComponent(spaClientId)}`,
          }),
          userinfo: await read(`${issuer}/userinfo`, {
            headers: { authorization: 'Bearer x' },
          }),
        };
      },
      [t.issuer('development'), clientId] as const,
    );
    expect(outcome).toEqual({
      discovery: 'status 200',
      jwks: 'status 200',
      token: 'blocked: TypeError',
      userinfo: 'blocked: TypeError',
    });
    await context.close();
  });
});

interface SpaWindow {
  mgr: {
    signinRedirect(): Promise<void>;
    signinSilent(): Promise<{ access_token: string; profile: { email?: string } } | null>;
    signoutRedirect(args?: { state?: unknown }): Promise<void>;
    getUser(): Promise<unknown>;
    revokeTokens(types?: ('access_token' | 'refresh_token')[]): Promise<void>;
  };
  signedIn: { sub: string; email: string; accessToken: string; hasRefresh: boolean };
  signedOutState: unknown;
}
