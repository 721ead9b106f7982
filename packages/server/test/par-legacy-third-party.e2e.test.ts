/* eslint-disable @typescript-eslint/no-deprecated -- the issuer under test is plain http on loopback: allowInsecureRequests is marked deprecated only to stand out */
/**
 * Issue #16 parts 6 and 7 driven by software we did not write, with a real Chromium signing in:
 * openid-client's and oauth4webapi's pushed authorization requests (RFC 9126), oauth4webapi's
 * strict RFC 9068 validation of the access token Gatehouse issues, and passport-openidconnect
 * (which sends no PKCE) through the legacy exception.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import session from 'express-session';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import passport from 'passport';
import { Strategy as OpenIDConnectStrategy } from 'passport-openidconnect';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';
const EMAIL = 'dana@example.com';

describe('PAR and the legacy exception with third-party clients, pages in Chromium', () => {
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

  /** Signs in and consents like a person on the hosted pages. */
  async function signIn(page: Page): Promise<void> {
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    await page.getByRole('button', { name: 'Allow' }).click();
  }

  /** Opens the authorization URL, signs in, and returns the callback URL the browser was sent to. */
  async function callbackFrom(authorizationUrl: string, callbackPrefix: string): Promise<URL> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // The callback goes to a host nobody serves: catch the navigation instead.
      const callback = page.waitForRequest((request) => request.url().startsWith(callbackPrefix));
      await page.goto(authorizationUrl);
      await signIn(page);
      return new URL((await callback).url());
    } finally {
      await context.close();
    }
  }

  it('openid-client: buildAuthorizationUrlWithPAR, the browser carries only client_id and request_uri', async () => {
    const redirectUri = 'https://par-app.example.com/callback';
    const registered = await t.client({
      type: 'web',
      name: 'PAR via openid-client',
      redirectUris: [redirectUri],
    });
    // Required for this client, so a front-channel request would be refused: PAR is in use.
    await t.server.stores.clients.update(
      'development',
      registered.clientId,
      { requirePar: true },
      Date.now(),
    );
    const config = await client.discovery(
      new URL(t.issuer('development')),
      registered.clientId,
      registered.clientSecret,
      undefined,
      { execute: [client.allowInsecureRequests] },
    );
    expect(config.serverMetadata().pushed_authorization_request_endpoint).toBe(
      `${t.issuer('development')}/par`,
    );
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: redirectUri,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);

    const callback = await callbackFrom(url.href, redirectUri);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.email).toBe(EMAIL);
  });

  it('oauth4webapi: pushedAuthorizationRequest, code flow, and validateJwtAccessToken (RFC 9068) on the access token', async () => {
    const redirectUri = 'https://par-o4w.example.com/callback';
    const registered = await t.client({
      type: 'web',
      name: 'PAR via oauth4webapi',
      redirectUris: [redirectUri],
    });
    const issuer = new URL(t.issuer('development'));
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, {
        algorithm: 'oidc',
        [oauth.allowInsecureRequests]: true,
      }),
    );
    const rp: oauth.Client = { client_id: registered.clientId };
    const clientAuth = oauth.ClientSecretBasic(registered.clientSecret ?? '');
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const pushed = await oauth.processPushedAuthorizationResponse(
      as,
      rp,
      await oauth.pushedAuthorizationRequest(
        as,
        rp,
        clientAuth,
        new URLSearchParams({
          redirect_uri: redirectUri,
          response_type: 'code',
          scope: 'openid email',
          state,
          nonce,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        }),
        { [oauth.allowInsecureRequests]: true },
      ),
    );
    expect(pushed.expires_in).toBe(90);
    const authorizationUrl = new URL(as.authorization_endpoint ?? '');
    authorizationUrl.search = new URLSearchParams({
      client_id: registered.clientId,
      request_uri: pushed.request_uri,
    }).toString();

    const callback = await callbackFrom(authorizationUrl.href, redirectUri);
    const params = oauth.validateAuthResponse(as, rp, callback, state);
    const result = await oauth.processAuthorizationCodeResponse(
      as,
      rp,
      await oauth.authorizationCodeGrantRequest(as, rp, clientAuth, params, redirectUri, verifier, {
        [oauth.allowInsecureRequests]: true,
      }),
      { expectedNonce: nonce, requireIdToken: true },
    );
    expect(oauth.getValidatedIdTokenClaims(result)?.email).toBe(EMAIL);

    // A resource server's strict check of the JWT access token (typ at+jwt, iss, aud, exp, sub,
    // iat, jti, client_id, the signature by the issuer's JWKS). Without a resource indicator the
    // audience is the issuer.
    const apiRequest = new Request('https://api.example.com/reports', {
      headers: { authorization: `Bearer ${result.access_token}` },
    });
    const claims = await oauth.validateJwtAccessToken(as, apiRequest, issuer.href, {
      [oauth.allowInsecureRequests]: true,
    });
    expect(claims).toMatchObject({ iss: issuer.href, client_id: registered.clientId });
    // And the same check refuses a token meant for another audience.
    await expect(
      oauth.validateJwtAccessToken(as, apiRequest, 'https://another-api.example.com', {
        [oauth.allowInsecureRequests]: true,
      }),
    ).rejects.toThrow();
  });

  describe('passport-openidconnect (no PKCE) with the legacy exception', () => {
    let app: Server;
    let base: string;
    let registered: { clientId: string; clientSecret?: string };

    /** An Express app as passport-openidconnect's README sets it up. */
    async function startApp(withNonce: boolean): Promise<void> {
      const web = express();
      web.use(session({ secret: 'relying-party-session', resave: false, saveUninitialized: true }));
      web.use(passport.initialize());
      web.use(passport.session());
      const issuer = t.issuer('development');
      const strategy = new OpenIDConnectStrategy(
        {
          issuer,
          authorizationURL: `${issuer}/authorize`,
          tokenURL: `${issuer}/token`,
          userInfoURL: `${issuer}/userinfo`,
          clientID: registered.clientId,
          clientSecret: registered.clientSecret ?? '',
          callbackURL: `${base}/callback`,
          scope: ['email'],
          ...(withNonce ? { nonce: 'true' } : {}),
        },
        (_issuer: string, profile: passport.Profile, done: (e: null, u: object) => void) => {
          done(null, { id: profile.id, email: profile.emails?.[0]?.value });
        },
      );
      passport.use('gatehouse', strategy);
      passport.serializeUser((user, done) => {
        done(null, user);
      });
      passport.deserializeUser((user: object, done) => {
        done(null, user);
      });
      // passport's types give authenticate() an any return.
      const login = passport.authenticate('gatehouse') as express.RequestHandler;
      const callback = passport.authenticate('gatehouse', {
        failureRedirect: '/failed',
        failureMessage: true,
      }) as express.RequestHandler;
      web.get('/login', login);
      web.get('/callback', callback, (_req, res) => {
        res.redirect('/me');
      });
      web.get('/me', (req, res) => {
        res.type('text/plain').send(`signed in as ${(req.user as { email?: string }).email ?? ''}`);
      });
      // Four parameters: Express's error handler signature.
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      web.use((error: Error, _req: express.Request, res: express.Response, _next: unknown) => {
        res.status(500).type('text/plain').send(`error: ${error.message}`);
      });
      app = web.listen(Number(new URL(base).port), '127.0.0.1');
      await once(app, 'listening');
    }

    beforeAll(async () => {
      // Reserve a port for the app, so its callback URL can be registered before it starts.
      const probe = express().listen(0, '127.0.0.1');
      await once(probe, 'listening');
      base = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
      await new Promise((resolve) => probe.close(resolve));
      registered = await t.client({
        type: 'web',
        name: 'Legacy passport app',
        redirectUris: [`${base}/callback`],
      });
      await t.server.stores.clients.update(
        'development',
        registered.clientId,
        { pkceExemptWithNonce: true },
        Date.now(),
      );
    });
    afterAll(async () => {
      await new Promise((resolve) => app.close(resolve));
    });

    it('signs in without PKCE when it sends a nonce, and the app sees the user', async () => {
      await startApp(true);
      try {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${base}/login`);
        await signIn(page);
        await page.waitForURL(`${base}/me`);
        expect(await page.textContent('body')).toBe(`signed in as ${EMAIL}`);
        await context.close();
      } finally {
        await new Promise((resolve) => app.close(resolve));
      }
    });

    it('is refused without a nonce: the exception needs one', async () => {
      await startApp(false);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${base}/login`);
      // No sign-in page: the request is refused back to the app's callback.
      await page.waitForURL((url) => url.href.startsWith(`${base}/callback`));
      const refused = new URL(page.url());
      expect(refused.searchParams.get('error')).toBe('invalid_request');
      expect(refused.searchParams.get('error_description')).toContain('code_challenge');
      expect(await page.textContent('body')).toContain('error: ');
      await context.close();
    });
  });
});
