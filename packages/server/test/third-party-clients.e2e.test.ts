/* eslint-disable @typescript-eslint/no-deprecated -- the issuer under test is plain http on loopback: allowInsecureRequests is marked deprecated only to stand out */
/**
 * Gatehouse driven by clients we did not write: openid-client and oauth4webapi do discovery,
 * PKCE, the RFC 9207 `iss` check and every token call, while a real headless Chromium signs in
 * and consents on the hosted pages.
 */
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';

describe('third-party clients against Gatehouse, pages in Chromium', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user('carol@example.com', PASSWORD);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  /** Opens the authorization URL, signs in and consents like a person, and returns the callback URL. */
  async function signInInBrowser(
    authorizationUrl: string,
    callbackPrefix: string,
  ): Promise<{ callback: URL; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The callback goes to a port nobody listens on: catch the navigation instead of serving it.
    const callback = page.waitForRequest((request) => request.url().startsWith(callbackPrefix));
    await page.goto(authorizationUrl);
    await page.getByLabel('Email').fill('carol@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    await page.getByRole('button', { name: 'Allow' }).click();
    return { callback: new URL((await callback).url()), page };
  }

  it('openid-client: discovery, code + PKCE, iss check, refresh, userinfo, introspection, revocation', async () => {
    const redirectUri = 'https://app.example.com/oauth/callback';
    const registered = await t.client({
      type: 'web',
      name: 'Acme Web',
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      // client_credentials grants only the scopes a client is registered for.
      scopes: ['reports:read'],
    });
    const config = await client.discovery(
      new URL(t.issuer('development')),
      registered.clientId,
      registered.clientSecret,
      undefined,
      {
        execute: [client.allowInsecureRequests],
      },
    );
    expect(config.serverMetadata().code_challenge_methods_supported).toEqual(['S256']);
    expect(config.serverMetadata().authorization_response_iss_parameter_supported).toBe(true);

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const { callback, page } = await signInInBrowser(url.href, redirectUri);
    await page.context().close();
    expect(callback.searchParams.get('iss')).toBe(t.issuer('development'));

    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.email).toBe('carol@example.com');
    const sub = tokens.claims()?.sub ?? '';
    const info = await client.fetchUserInfo(config, tokens.access_token, sub);
    expect(info).toMatchObject({ sub, email: 'carol@example.com' });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(await client.tokenIntrospection(config, refreshed.access_token)).toMatchObject({
      active: true,
      sub,
    });

    await client.tokenRevocation(config, refreshed.refresh_token ?? '');
    expect(await client.tokenIntrospection(config, refreshed.access_token)).toMatchObject({
      active: false,
    });
    await expect(
      client.refreshTokenGrant(config, refreshed.refresh_token ?? ''),
    ).rejects.toMatchObject({ error: 'invalid_grant' });

    const machine = await client.clientCredentialsGrant(config, { scope: 'reports:read' });
    expect(machine.scope).toBe('reports:read');
  });

  it('openid-client refuses a callback whose iss names another issuer (mix-up)', async () => {
    const redirectUri = 'https://app.example.com/mixup/callback';
    const registered = await t.client({
      type: 'web',
      name: 'Mix-up Web',
      redirectUris: [redirectUri],
    });
    const config = await client.discovery(
      new URL(t.issuer('development')),
      registered.clientId,
      registered.clientSecret,
      undefined,
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const { callback, page } = await signInInBrowser(url.href, redirectUri);
    await page.context().close();
    callback.searchParams.set('iss', t.issuer('production'));
    const error: unknown = await client
      .authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // oauth4webapi's RFC 9207 check: the "iss" attribute of the response does not match.
    expect(error).toBeInstanceOf(Error);
    const cause = (error as Error).cause as Error & { code?: string };
    expect(cause.code).toBe('OAUTH_INVALID_RESPONSE');
    expect(cause.message).toMatch(/"iss"/);
  });

  it('oauth4webapi: a native public client on a loopback redirect with any port', async () => {
    const registered = await t.client({
      type: 'native',
      name: 'Acme CLI',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    const issuer = new URL(t.issuer('development'));
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, {
        algorithm: 'oidc',
        [oauth.allowInsecureRequests]: true,
      }),
    );
    const publicClient: oauth.Client = { client_id: registered.clientId };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const redirectUri = 'http://127.0.0.1:49152/callback';
    const authorizationUrl = new URL(as.authorization_endpoint ?? '');
    authorizationUrl.search = new URLSearchParams({
      client_id: registered.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid offline_access',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const { callback, page } = await signInInBrowser(authorizationUrl.href, redirectUri);
    await page.context().close();

    const params = oauth.validateAuthResponse(as, publicClient, callback, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      publicClient,
      oauth.None(),
      params,
      redirectUri,
      verifier,
      { [oauth.allowInsecureRequests]: true },
    );
    const result = await oauth.processAuthorizationCodeResponse(as, publicClient, response);
    expect(result.token_type.toLowerCase()).toBe('bearer');
    expect(result.refresh_token).toBeDefined();
    const claims = oauth.getValidatedIdTokenClaims(result);
    expect(claims?.iss).toBe(t.issuer('development'));
  });

  it('shows an accessible consent page naming the client and the place it returns to', async () => {
    const registered = await t.client({
      type: 'native',
      name: 'Consent CLI',
      redirectUris: ['http://127.0.0.1/cb'],
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    const query = new URLSearchParams({
      client_id: registered.clientId,
      redirect_uri: 'http://127.0.0.1:8123/cb',
      response_type: 'code',
      scope: 'openid email',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    await page.goto(`${t.issuer('development')}/authorize?${query.toString()}`);
    await page.getByLabel('Email').fill('carol@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Consent CLI wants to access your account',
    );
    const text = await page.textContent('main');
    expect(text).toContain('an application on this computer');
    expect(text).toContain('127.0.0.1:8123');
    expect(text).toContain('See your email address');
    await context.close();
  });
});
