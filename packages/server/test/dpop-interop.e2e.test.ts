/* eslint-disable @typescript-eslint/no-deprecated -- the issuer under test is plain http on loopback: allowInsecureRequests is marked deprecated only to stand out */
/**
 * DPoP (RFC 9449) with clients we did not write: oauth4webapi's `DPoP()` handle and openid-client
 * 6's `getDPoPHandle` against a running Gatehouse, a real Chromium signing in and consenting. Each
 * client: the code flow with a proof (answering the server's `use_dpop_nonce` as each library
 * does), an access token whose `cnf.jkt` is the thumbprint of the client's key, userinfo with the
 * DPoP scheme, and a refresh with rotation whose new refresh token is bound to the same key (a
 * refresh without the key is refused).
 */
import { calculateJwkThumbprint, decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';
const EMAIL = 'dora@example.com';

describe('DPoP interop: oauth4webapi and openid-client against Gatehouse, pages in Chromium', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user(EMAIL, PASSWORD);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  /** Signs in and consents like a person; returns the URL the browser was sent back to. */
  async function signInInBrowser(authorizationUrl: string, callbackPrefix: string): Promise<URL> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // The callback goes to a port nobody listens on: catch the navigation instead of serving it.
      const callback = page.waitForRequest((request) => request.url().startsWith(callbackPrefix));
      await page.goto(authorizationUrl);
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/consent$/);
      await page.getByRole('button', { name: 'Allow' }).click();
      return new URL((await callback).url());
    } finally {
      await context.close();
    }
  }

  const thumbprintOf = async (keyPair: oauth.CryptoKeyPair): Promise<string> =>
    calculateJwkThumbprint(await crypto.subtle.exportKey('jwk', keyPair.publicKey), 'sha256');

  const publicClient = (name: string) =>
    t.client({
      type: 'native',
      name,
      redirectUris: ['http://127.0.0.1/callback'],
      grantTypes: ['authorization_code', 'refresh_token'],
    });

  it("oauth4webapi's DPoP handle: code flow with the nonce retry, cnf.jkt, userinfo, a bound refresh rotation", async () => {
    const { clientId } = await publicClient('oauth4webapi DPoP CLI');
    const issuer = new URL(t.issuer('development'));
    const insecure = { [oauth.allowInsecureRequests]: true } as const;
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
    );
    expect(as.dpop_signing_alg_values_supported).toContain('ES256');
    const app: oauth.Client = { client_id: clientId };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(app, keyPair);
    const jkt = await thumbprintOf(keyPair);
    expect(await DPoP.calculateThumbprint()).toBe(jkt);
    /** The library's way: a `use_dpop_nonce` answer is retried once, the handle has the nonce. */
    const retryingNonce = async <T>(attempt: () => Promise<T>): Promise<T> => {
      try {
        return await attempt();
      } catch (error) {
        if (!oauth.isDPoPNonceError(error)) throw error;
        return attempt();
      }
    };

    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const redirectUri = 'http://127.0.0.1:49161/callback';
    const authorizationUrl = new URL(as.authorization_endpoint ?? '');
    authorizationUrl.search = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid email offline_access',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      dpop_jkt: jkt,
    }).toString();
    const params = oauth.validateAuthResponse(
      as,
      app,
      await signInInBrowser(authorizationUrl.href, redirectUri),
      state,
    );
    const tokens = await retryingNonce(async () =>
      oauth.processAuthorizationCodeResponse(
        as,
        app,
        await oauth.authorizationCodeGrantRequest(
          as,
          app,
          oauth.None(),
          params,
          redirectUri,
          verifier,
          { DPoP, ...insecure },
        ),
      ),
    );
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });
    const sub = oauth.getValidatedIdTokenClaims(tokens)?.sub ?? '';

    const info = await retryingNonce(async () =>
      oauth.processUserInfoResponse(
        as,
        app,
        sub,
        await oauth.userInfoRequest(as, app, tokens.access_token, { DPoP, ...insecure }),
      ),
    );
    expect(info).toMatchObject({ sub, email: EMAIL });

    const refreshed = await retryingNonce(async () =>
      oauth.processRefreshTokenResponse(
        as,
        app,
        await oauth.refreshTokenGrantRequest(as, app, oauth.None(), tokens.refresh_token ?? '', {
          DPoP,
          ...insecure,
        }),
      ),
    );
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt });
    // The new refresh token is bound to the key: without a proof it is refused.
    await expect(
      oauth.processRefreshTokenResponse(
        as,
        app,
        await oauth.refreshTokenGrantRequest(
          as,
          app,
          oauth.None(),
          refreshed.refresh_token ?? '',
          insecure,
        ),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const again = await retryingNonce(async () =>
      oauth.processRefreshTokenResponse(
        as,
        app,
        await oauth.refreshTokenGrantRequest(as, app, oauth.None(), refreshed.refresh_token ?? '', {
          DPoP,
          ...insecure,
        }),
      ),
    );
    expect(decodeJwt(again.access_token).cnf).toEqual({ jkt });
  });

  it("openid-client 6's DPoP handle: code flow (dpop_jkt), cnf.jkt, userinfo, a bound refresh rotation", async () => {
    const { clientId } = await publicClient('openid-client DPoP app');
    const config = await client.discovery(
      new URL(t.issuer('development')),
      clientId,
      undefined,
      client.None(),
      { execute: [client.allowInsecureRequests] },
    );
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(config, keyPair);
    const jkt = await thumbprintOf(keyPair);

    const redirectUri = 'http://127.0.0.1:49162/callback';
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
      dpop_jkt: await DPoP.calculateThumbprint(),
    });
    const callback = await signInInBrowser(url.href, redirectUri);
    // openid-client answers use_dpop_nonce itself, retrying once with the nonce it was given.
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
      undefined,
      { DPoP },
    );
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });
    const sub = tokens.claims()?.sub ?? '';
    expect(await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP })).toMatchObject({
      sub,
      email: EMAIL,
    });

    const refreshed = await client.refreshTokenGrant(
      config,
      tokens.refresh_token ?? '',
      undefined,
      { DPoP },
    );
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt });
    // Bound: the same library without the key gets invalid_grant, and the token is not spent.
    await expect(
      client.refreshTokenGrant(config, refreshed.refresh_token ?? ''),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const again = await client.refreshTokenGrant(config, refreshed.refresh_token ?? '', undefined, {
      DPoP,
    });
    expect(decodeJwt(again.access_token).cnf).toEqual({ jkt });
    expect(await client.fetchUserInfo(config, again.access_token, sub, { DPoP })).toMatchObject({
      sub,
    });
  });
});
