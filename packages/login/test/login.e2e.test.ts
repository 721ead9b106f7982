/**
 * The login kit against a running Gatehouse server: the loopback flow with the hosted pages in a
 * real headless Chromium, attacks on the listener, paste mode, refresh and logout.
 */
import { mkdtemp, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { FormBrowser, startTestServer, type TestServer } from '../../server/test/support/server.js';
import {
  deviceLogin,
  FileTokenStore,
  LoginError,
  loopbackLogin,
  logout,
  pasteLogin,
  validAccessToken,
  type LoginOptions,
} from '../src/index.js';

const PASSWORD = 'login kit password';

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve(res.statusCode ?? 0);
      });
    })
      .on('error', reject)
      .end();
  });
}

describe('@gatehouse/login against Gatehouse', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let clientId: string;
  let options: LoginOptions;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    clientId = (
      await t.client({
        type: 'native',
        name: 'Kit CLI',
        redirectUris: ['http://127.0.0.1/callback'],
      })
    ).clientId;
    await t.user('kit@example.com', PASSWORD);
    browser = await launchChromium();
    options = {
      issuer: t.issuer('development'),
      clientId,
      allowHttpLoopbackIssuer: true,
      scope: 'openid email offline_access',
      timeoutMs: 30_000,
    };
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  /** Plays the person at the browser: sign in and allow, on the server's own pages. */
  async function person(url: string): Promise<string> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    if (await page.getByLabel('Password').isVisible()) {
      await page.getByLabel('Email').fill('kit@example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    if (
      page.url().endsWith('/consent') ||
      (await page.getByRole('button', { name: 'Allow' }).count()) > 0
    ) {
      await page.getByRole('button', { name: 'Allow' }).click();
    }
    await page.waitForURL(/gatehouse-login-done/);
    const text = (await page.textContent('body')) ?? '';
    const finalUrl = page.url();
    await context.close();
    return `${finalUrl}\n${text}`;
  }

  it('signs in through the browser and stores tokens; the browser ends on a clean page', async () => {
    let landing: Promise<string> = Promise.resolve('');
    const tokens = await loopbackLogin({
      ...options,
      openBrowser: (url) => (landing = person(url)),
    });
    expect(tokens).toMatchObject({
      issuer: t.issuer('development'),
      clientId,
      email: 'kit@example.com',
      tokenType: 'bearer',
    });
    expect(tokens.refreshToken).toMatch(/^ghr_/);
    const landed = await landing;
    expect(landed).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/gatehouse-login-done\n/);
    expect(landed).toContain(`Signed in to ${t.issuer('development')}.`);
    expect(landed).not.toContain('code=');
  });

  it('stores tokens in an owner-only file, refreshes once for concurrent callers, and logs out at the server', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'gatehouse-login-')), 'config');
    const store = new FileTokenStore(dir);
    const tokens = await loopbackLogin({ ...options, openBrowser: (url) => person(url) });
    await store.set('dev', tokens);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'tokens.json'))).mode & 0o777).toBe(0o600);

    // Pretend it is an hour later: both callers need a refresh, only one may spend the refresh token.
    const later = () => Date.now() + 3_600_000;
    const [a, b] = await Promise.all([
      validAccessToken(store, 'dev', { lockDir: dir, now: later }),
      validAccessToken(store, 'dev', { lockDir: dir, now: later }),
    ]);
    expect(a.accessToken).toBe(b.accessToken);
    expect(a.accessToken).not.toBe(tokens.accessToken);
    expect(a.refreshToken).not.toBe(tokens.refreshToken);
    // The grant is intact: the family was not revoked by a double spend.
    const again = await validAccessToken(store, 'dev', {
      lockDir: dir,
      now: () => Date.now() + 7_200_000,
    });
    expect(again.refreshToken).not.toBe(a.refreshToken);

    expect(await logout(store, 'dev')).toEqual({ revoked: true, known: true });
    expect(await store.get('dev')).toBeUndefined();
    const refresh = await fetch(`${t.issuer('development')}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: again.refreshToken ?? '',
        client_id: clientId,
      }),
    });
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a callback whose iss names another issuer, as a mix-up attack', async () => {
    const attempt = loopbackLogin({
      ...options,
      openBrowser: false,
      onAuthorizationUrl: (url) => {
        const authorization = new URL(url);
        const callback = new URL(authorization.searchParams.get('redirect_uri') ?? '');
        callback.search = new URLSearchParams({
          code: 'x',
          state: authorization.searchParams.get('state') ?? '',
          iss: 'https://evil.example/',
        }).toString();
        setTimeout(() => void get(callback.href).catch(() => undefined), 50);
      },
    });
    await expect(attempt).rejects.toMatchObject({ code: 'iss_mismatch' });
  });

  it('keeps waiting after a stray callback and an error without the right state, then reports an escaped error', async () => {
    let callbackBase = '';
    let state = '';
    const attempt = loopbackLogin({
      ...options,
      openBrowser: false,
      onAuthorizationUrl: (url) => {
        const authorization = new URL(url);
        callbackBase = authorization.searchParams.get('redirect_uri') ?? '';
        state = authorization.searchParams.get('state') ?? '';
      },
    });
    // The URL is told once discovery and the fail-fast probe are done (a loaded machine is slow).
    while (callbackBase === '') await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await get(`${callbackBase}?error=access_denied&state=wrong`)).toBe(400);
    expect(await get(`${callbackBase}?code=abc`)).toBe(400);
    const iss = encodeURIComponent(t.issuer('development'));
    const final = get(
      `${callbackBase}?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=${state}&iss=${iss}`,
    );
    await expect(attempt).rejects.toMatchObject({
      code: 'access_denied',
      message: expect.stringContaining('<script>') as unknown,
    });
    expect(await final).toBe(303);
  });

  it('times out with a message naming the alternatives', async () => {
    const attempt = loopbackLogin({ ...options, openBrowser: false, timeoutMs: 200 });
    await expect(attempt).rejects.toBeInstanceOf(LoginError);
    await expect(attempt).rejects.toMatchObject({
      code: 'timeout',
      message: expect.stringContaining('--device or --no-browser') as unknown,
    });
  });

  it('pastes the final address back in paste mode, with the same checks', async () => {
    const form = new FormBrowser(t.url);
    const tokens = await pasteLogin({
      ...options,
      redirectUri: 'http://127.0.0.1:1/callback',
      onAuthorizationUrl: () => undefined,
      readPastedUrl: () => Promise.resolve(''),
    }).catch((error: unknown) => error);
    expect(tokens).toMatchObject({ code: 'invalid_paste' });

    let authorizationUrl = '';
    const pasted = pasteLogin({
      ...options,
      redirectUri: 'http://127.0.0.1:1/callback',
      onAuthorizationUrl: (url) => (authorizationUrl = url),
      readPastedUrl: async () => {
        const query = Object.fromEntries(new URL(authorizationUrl).searchParams);
        return `  ${await form.authorize(query, 'kit@example.com', PASSWORD)}\n`;
      },
    });
    expect(await pasted).toMatchObject({ email: 'kit@example.com' });
  });
});

describe('@gatehouse/login device flow against Gatehouse', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user('dev@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('shows a code, waits for approval on another device, and stores tokens', async () => {
    const { clientId } = await t.client({
      type: 'native',
      name: 'Headless box',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    let approval: Promise<string> = Promise.resolve('');
    const tokens = await deviceLogin({
      issuer: t.issuer('development'),
      clientId,
      allowHttpLoopbackIssuer: true,
      onUserCode: (display) => {
        expect(display.verificationUri).toBe(`${t.issuer('development')}/device`);
        approval = new FormBrowser(t.url).approveDevice(
          display.userCode,
          'dev@example.com',
          PASSWORD,
        );
      },
    });
    expect(await approval).toContain('Device connected');
    expect(tokens).toMatchObject({ issuer: t.issuer('development'), clientId });
    expect(tokens.refreshToken).toMatch(/^ghr_/);
  });

  it('reports a denial on the other device', async () => {
    const { clientId } = await t.client({
      type: 'native',
      name: 'Denied box',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    const attempt = deviceLogin({
      issuer: t.issuer('development'),
      clientId,
      allowHttpLoopbackIssuer: true,
      onUserCode: (display) =>
        void new FormBrowser(t.url).approveDevice(
          display.userCode,
          'dev@example.com',
          PASSWORD,
          'deny',
        ),
    });
    await expect(attempt).rejects.toMatchObject({ code: 'access_denied' });
  });
});
