/**
 * The confirmation page of a public client (RFC 8252 §8.6) in a real headless Chromium: after one
 * sign-in and consent, a second request for the same client (another loopback port, another PKCE
 * challenge) stops on a page that names the application, the account and where the browser will
 * be sent; one click on it (a POST with the CSRF token) lands on the redirect URI with a code.
 */
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';
const EMAIL = 'frank@example.com';

describe('the confirmation page of a public client, in Chromium', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user(EMAIL, PASSWORD);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  function authorizeUrl(clientId: string, redirectUri: string, challenge: string): string {
    return `${t.issuer('development')}/authorize?${new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid offline_access',
      state: 'st-e2e',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString()}`;
  }

  /** Clicks a form button and returns where the server's 303 answer sends the browser. */
  async function clickAndFollow(page: Page, button: string, path: string): Promise<URL> {
    const answer = page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith(path),
    );
    await page.getByRole('button', { name: button }).click();
    const response = await answer;
    expect(response.status()).toBe(303);
    return new URL(response.headers().location ?? '');
  }

  /** Signs in and consents once, as the user meant to: the browser now has a session and a consent. */
  async function consentOnce(
    context: BrowserContext,
    clientId: string,
    redirectUri: string,
  ): Promise<void> {
    const page = await context.newPage();
    await page.goto(authorizeUrl(clientId, redirectUri, pkce().challenge));
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    const back = await clickAndFollow(page, 'Allow', '/consent');
    expect(back.searchParams.get('code')).toMatch(/^ghac_/);
    await page.close();
  }

  /**
   * A second request for the same client in the same browser, in a new tab as another program
   * would open it: the page it stops on.
   */
  async function secondRequest(
    context: BrowserContext,
    clientId: string,
    redirectUri: string,
  ): Promise<{ page: Page; response: Response | null; text: string; verifier: string }> {
    const page = await context.newPage();
    const { verifier, challenge } = pkce();
    const response = await page.goto(authorizeUrl(clientId, redirectUri, challenge));
    expect(new URL(page.url()).pathname).toBe('/e/development/confirm');
    return { page, response, text: (await page.locator('main').textContent()) ?? '', verifier };
  }

  it('loopback: names the app, the account and the port; one click sends a code', async () => {
    const client = await t.client({
      type: 'native',
      name: 'Photon CLI',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    const context = await browser.newContext();
    await consentOnce(context, client.clientId, 'http://127.0.0.1:40001/callback');

    const redirectUri = 'http://127.0.0.1:53111/callback';
    const { page, response, text, verifier } = await secondRequest(
      context,
      client.clientId,
      redirectUri,
    );
    expect(text).toContain('Photon CLI');
    expect(text).toContain(EMAIL);
    expect(text).toContain('an application on this computer, port 53111');
    const headers = response?.headers() ?? {};
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-frame-options']).toBe('DENY');

    // The form's POST without its CSRF token, with this browser's cookies, is refused.
    const forged = await context.request.post(`${t.issuer('development')}/confirm`, {
      form: { decision: 'allow' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(forged.headers().location).toBeUndefined();

    // The callback goes to a port nobody listens on: catch the navigation instead of serving it.
    const callback = page.waitForRequest((r) => r.url().startsWith(redirectUri));
    await page.getByRole('button', { name: 'Continue to Photon CLI' }).click();
    const landed = new URL((await callback).url());
    expect(`${landed.origin}${landed.pathname}`).toBe(redirectUri);
    expect(landed.searchParams.get('state')).toBe('st-e2e');
    expect(landed.searchParams.get('iss')).toBe(t.issuer('development'));
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      client_id: client.clientId,
      code: landed.searchParams.get('code') ?? '',
      code_verifier: verifier,
      redirect_uri: redirectUri,
    });
    expect(tokens.status).toBe(200);
    expect(tokens.refresh_token).toMatch(/^ghr_/);
    await context.close();
  });

  it('https: names the host', async () => {
    const redirectUri = 'https://photon.example.com/oauth/callback';
    const client = await t.client({
      type: 'native',
      name: 'Photon Mobile',
      redirectUris: [redirectUri],
    });
    const context = await browser.newContext();
    await consentOnce(context, client.clientId, redirectUri);
    const { page, text } = await secondRequest(context, client.clientId, redirectUri);
    expect(text).toContain('Photon Mobile');
    expect(text).toContain(EMAIL);
    expect(text).toContain('You will be sent to photon.example.com.');
    const back = await clickAndFollow(page, 'Continue to Photon Mobile', '/confirm');
    expect(`${back.origin}${back.pathname}`).toBe(redirectUri);
    expect(back.searchParams.get('code')).toMatch(/^ghac_/);
    await context.close();
  });

  it('private-use scheme: names the scheme', async () => {
    const redirectUri = 'com.example.photon:/oauth/callback';
    const client = await t.client({
      type: 'native',
      name: 'Photon Desktop',
      redirectUris: [redirectUri],
    });
    const context = await browser.newContext();
    await consentOnce(context, client.clientId, redirectUri);
    const { page, text } = await secondRequest(context, client.clientId, redirectUri);
    expect(text).toContain('Photon Desktop');
    expect(text).toContain(EMAIL);
    expect(text).toContain('the app that handles com.example.photon:');
    const back = await clickAndFollow(page, 'Continue to Photon Desktop', '/confirm');
    expect(back.href.startsWith(`${redirectUri}?`)).toBe(true);
    expect(back.searchParams.get('code')).toMatch(/^ghac_/);
    await context.close();
  });
});
