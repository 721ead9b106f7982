/* eslint-disable @typescript-eslint/no-deprecated -- the issuer under test is plain http on loopback: allowInsecureRequests is marked deprecated only to stand out */
/**
 * RP-Initiated Logout 1.0 driven by a relying-party library we did not write: openid-client's
 * `buildEndSessionUrl` from the discovered `end_session_endpoint`, in a real headless Chromium.
 * The browser signs in on the hosted pages, the RP signs it out, and the next authorization asks
 * for a password again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';

describe('openid-client buildEndSessionUrl against Gatehouse, in Chromium', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  /**
   * The RP's own pages on loopback (a web client may register loopback URIs in development): a
   * browser follows Gatehouse's redirects there for real.
   */
  let rp: Server;
  let REDIRECT = '';
  let AFTER_LOGOUT = '';

  beforeAll(async () => {
    rp = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://rp');
      if (url.pathname !== '/post-form') {
        response.writeHead(200, { 'content-type': 'text/html' }).end('<p>the relying party</p>');
        return;
      }
      // §2: an RP may POST the logout parameters as a form, from its own (another) site.
      const escape = (value: string) =>
        value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
      const fields = [...url.searchParams]
        .filter(([name]) => name !== 'action')
        .map(
          ([name, value]) =>
            `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`,
        )
        .join('');
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          `<form method="post" action="${escape(url.searchParams.get('action') ?? '')}">${fields}<button>Log out</button></form>`,
        );
    });
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    const port = (rp.address() as AddressInfo).port;
    REDIRECT = `http://127.0.0.1:${port}/oauth/callback`;
    AFTER_LOGOUT = `http://127.0.0.1:${port}/signed-out`;
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user('dana@example.com', PASSWORD);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
    await new Promise((resolve) => rp.close(resolve));
  });

  async function signIn(
    page: Page,
    config: client.Configuration,
  ): Promise<client.TokenEndpointResponse> {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const callback = page.waitForRequest((request) => request.url().startsWith(REDIRECT));
    await page.goto(url.href);
    await page.getByLabel('Email').fill('dana@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await client.authorizationCodeGrant(config, new URL((await callback).url()), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.email).toBe('dana@example.com');
    return tokens;
  }

  it('signs out with id_token_hint, returns to post_logout_redirect_uri with state; the next sign-in asks again', async () => {
    const registered = await t.client({
      type: 'web',
      name: 'RP Web',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [AFTER_LOGOUT],
      grantTypes: ['authorization_code'],
    });
    const config = await client.discovery(
      new URL(t.issuer('development')),
      registered.clientId,
      registered.clientSecret,
      undefined,
      { execute: [client.allowInsecureRequests] },
    );
    expect(config.serverMetadata().end_session_endpoint).toBe(`${t.issuer('development')}/logout`);
    const context = await browser.newContext();
    const page = await context.newPage();
    const tokens = await signIn(page, config);

    const state = client.randomState();
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: AFTER_LOGOUT,
      state,
    });
    await page.goto(endSession.href);
    await page.waitForURL((url) => url.href.startsWith(AFTER_LOGOUT));
    const back = new URL(page.url());
    expect(back.origin + back.pathname).toBe(AFTER_LOGOUT);
    expect(back.searchParams.get('state')).toBe(state);

    // Signed out at Gatehouse: the same browser is asked for its password again.
    await page.goto(
      client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      }).href,
    );
    await page.waitForURL(/\/login$/);
    expect(await page.getByLabel('Password').count()).toBe(1);
    await context.close();
  });

  it('without a hint (client_id only) the user confirms on the page, then returns with state', async () => {
    const registered = await t.client({
      type: 'web',
      name: 'RP Confirm',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [AFTER_LOGOUT],
      grantTypes: ['authorization_code'],
    });
    const config = await client.discovery(
      new URL(t.issuer('development')),
      registered.clientId,
      registered.clientSecret,
      undefined,
      { execute: [client.allowInsecureRequests] },
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, config);
    // buildEndSessionUrl sends client_id when no id_token_hint is given.
    const endSession = client.buildEndSessionUrl(config, {
      post_logout_redirect_uri: AFTER_LOGOUT,
      state: 'confirm-state',
    });
    expect(endSession.searchParams.get('client_id')).toBe(registered.clientId);
    await page.goto(endSession.href);
    await page.getByRole('heading', { name: 'Sign out of Gatehouse?' }).waitFor();
    expect(await page.getByText('RP Confirm').count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.href.startsWith(AFTER_LOGOUT));
    expect(new URL(page.url()).searchParams.get('state')).toBe('confirm-state');
    await context.close();
  });

  it('a form POST from the RP’s page (§2) signs out too and returns with state', async () => {
    const registered = await t.client({
      type: 'web',
      name: 'RP Post',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [AFTER_LOGOUT],
      grantTypes: ['authorization_code'],
    });
    const config = await client.discovery(
      new URL(t.issuer('development')),
      registered.clientId,
      registered.clientSecret,
      undefined,
      { execute: [client.allowInsecureRequests] },
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    const tokens = await signIn(page, config);
    // The form is served from http://localhost:<port>: another site than http://127.0.0.1.
    const form = new URL(REDIRECT.replace('127.0.0.1', 'localhost'));
    form.pathname = '/post-form';
    form.search = new URLSearchParams({
      action: `${t.issuer('development')}/logout`,
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: AFTER_LOGOUT,
      state: 'posted',
    }).toString();
    await page.goto(form.href);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL((url) => url.href.startsWith(AFTER_LOGOUT));
    expect(new URL(page.url()).searchParams.get('state')).toBe('posted');
    await page.goto(
      client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      }).href,
    );
    await page.waitForURL(/\/login$/);
    await context.close();
  });

  it('attack: an unregistered post_logout_redirect_uri stops on a Gatehouse page', async () => {
    const registered = await t.client({
      type: 'web',
      name: 'RP Victim',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [AFTER_LOGOUT],
      grantTypes: ['authorization_code'],
    });
    const config = await client.discovery(
      new URL(t.issuer('development')),
      registered.clientId,
      registered.clientSecret,
      undefined,
      { execute: [client.allowInsecureRequests] },
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    const tokens = await signIn(page, config);
    // Any request to the attacker's host, redirects included, is seen here.
    let evilReached = false;
    page.on('request', (request) => {
      if (request.url().startsWith('https://evil.example.net')) evilReached = true;
    });
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: 'https://evil.example.net/login',
    });
    const response = await page.goto(endSession.href);
    expect(response?.status()).toBe(400);
    expect(new URL(page.url()).origin).toBe(new URL(t.url).origin);
    expect(await page.getByRole('heading', { name: 'Sign-out stopped' }).count()).toBe(1);
    expect(evilReached).toBe(false);
    await context.close();
  });
});
