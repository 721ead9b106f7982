/**
 * express-openid-connect (Auth0's Express middleware, built on openid-client) against a running
 * Gatehouse, signing in in Chromium (issue #16 part 1). Its settings are its defaults (RS256 ID
 * tokens, `openid profile email`, PKCE, nonce, client_secret_basic) but for the one thing
 * Gatehouse does not do by design: its default response_type is the implicit `id_token`, which
 * OAuth 2.1 removed, so the app asks for `code` as the library's documentation shows for a
 * confidential client.
 * Before RS256 ID tokens it refused Gatehouse at discovery: "ID token algorithm 'RS256' is not
 * supported by the issuer".
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { auth, type ConfigParams } from 'express-openid-connect';
import { decodeProtectedHeader } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUserEmailVerified } from '../src/services/users.js';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';

describe('express-openid-connect against Gatehouse, in Chromium', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let server: Server;
  let appUrl: string;
  let userId: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    userId = await t.user('erin@example.com', PASSWORD);
    await setUserEmailVerified(t.ctx, 'development', userId, true);
    browser = await launchChromium();
    // The app's port is its redirect URI's: listen first, then register and mount the middleware.
    const app = express();
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => {
        resolve(listening);
      });
    });
    appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const registered = await t.client({
      type: 'web',
      name: 'Express app',
      redirectUris: [`${appUrl}/callback`],
      grantTypes: ['authorization_code'],
    });
    const config: ConfigParams = {
      issuerBaseURL: t.issuer('development'),
      baseURL: appUrl,
      clientID: registered.clientId,
      clientSecret: registered.clientSecret ?? '',
      secret: 'a session secret of at least thirty-two characters',
      authorizationParams: { response_type: 'code' },
      enableTelemetry: false,
    };
    app.use(auth(config));
    // authRequired (the default) sends a visitor without a session to sign in first.
    app.get('/', (req, res) => {
      res.json({
        user: req.oidc.user,
        claims: req.oidc.idTokenClaims,
        alg: decodeProtectedHeader(req.oidc.idToken ?? '').alg,
      });
    });
  });
  afterAll(async () => {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
    await t.close();
    await db.drop();
  });

  it('signs in with the code flow and RS256 ID tokens, and the app sees the user’s claims', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${appUrl}/`);
    // The library redirected to Gatehouse's hosted login page.
    expect(page.url().startsWith(t.issuer('development'))).toBe(true);
    await page.getByLabel('Email').fill('erin@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${appUrl}/`);
    const seen = JSON.parse((await page.locator('body').textContent()) ?? '{}') as {
      user: Record<string, unknown>;
      claims: Record<string, unknown>;
      alg: string;
    };
    // Its default, and what a client that registered nothing gets (OIDC Registration §2).
    expect(seen.alg).toBe('RS256');
    // req.oidc.user: the ID token's claims without the protocol ones (its identityClaimFilter).
    expect(seen.user).toMatchObject({
      sub: userId,
      email: 'erin@example.com',
      email_verified: true,
      amr: ['pwd'],
    });
    expect(seen.user.sid).toEqual(expect.any(String));
    expect(seen.claims).toMatchObject({
      iss: t.issuer('development'),
      azp: seen.claims.aud,
      at_hash: expect.any(String) as unknown,
    });
    await context.close();
  });
});
