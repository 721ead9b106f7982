/**
 * Auth.js (@auth/express) against Gatehouse, in Chromium: sign-in with Gatehouse as an OIDC
 * provider, and a sign-out that ends the Gatehouse session too (RP-Initiated Logout 1.0).
 *
 * Auth.js signs out only its own session; its documented hooks for the rest are the sign-out's
 * `callbackUrl` (where the browser goes afterwards) and the `redirect` callback (which external
 * URLs it may go to). The app keeps the ID token in its session (`jwt`/`session` callbacks) and
 * signs out with callbackUrl = Gatehouse's end_session_endpoint with id_token_hint and
 * post_logout_redirect_uri, which the redirect callback allows; Gatehouse then ends its session
 * and sends the browser back to the app.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

/** The part of Auth.js's configuration this test uses. */
interface ExpressAuthConfig {
  secret: string;
  trustHost: boolean;
  providers: Record<string, unknown>[];
  callbacks: {
    jwt(params: {
      token: Record<string, unknown>;
      account?: { id_token?: string } | null;
    }): Record<string, unknown>;
    session(params: {
      session: Record<string, unknown>;
      token: Record<string, unknown>;
    }): Record<string, unknown>;
    redirect(params: { url: string; baseUrl: string }): string;
  };
}

interface AuthJs {
  ExpressAuth: (config: ExpressAuthConfig) => express.RequestHandler;
  getSession: (
    request: express.Request,
    config: ExpressAuthConfig,
  ) => Promise<{ user?: { email?: string | null } } | null>;
}

/**
 * Auth.js is loaded by a name TypeScript does not follow: its types bring preact's, which load
 * DOM's lib into the one program that type-checks every test, changing `fetch` and
 * `Response.json()` (to `any`) in all the others. The shapes used here are declared above.
 */
const AUTH_JS: string = '@auth/express';
const { ExpressAuth, getSession } = (await import(AUTH_JS)) as AuthJs;

const PASSWORD = 'a long enough password';

describe('Auth.js (@auth/express) against Gatehouse, in Chromium', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let app: Server;
  let appUrl = '';

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user('erin@example.com', PASSWORD);
    browser = await launchChromium();
    // The app's port is its client registration's: listen first, register, then configure.
    const expressApp = express();
    app = createServer(expressApp);
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    const registered = await t.client({
      type: 'web',
      name: 'Auth.js App',
      redirectUris: [`${appUrl}/auth/callback/gatehouse`],
      postLogoutRedirectUris: [`${appUrl}/signed-out`],
      grantTypes: ['authorization_code'],
    });
    configure(expressApp, registered.clientId, registered.clientSecret ?? '');
  });
  afterAll(async () => {
    await browser.close();
    await new Promise((resolve) => app.close(resolve));
    await t.close();
    await db.drop();
  });

  function configure(expressApp: express.Express, clientId: string, clientSecret: string): void {
    const issuer = t.issuer('development');
    const config: ExpressAuthConfig = {
      secret: 'an Auth.js secret of at least thirty-two characters',
      trustHost: true,
      providers: [
        {
          id: 'gatehouse',
          name: 'Gatehouse',
          type: 'oidc',
          issuer,
          clientId,
          clientSecret,
          authorization: { params: { scope: 'openid email' } },
        },
      ],
      callbacks: {
        // The ID token is kept for the sign-out's id_token_hint.
        jwt({ token, account }) {
          if (account?.id_token !== undefined) token.idToken = account.id_token;
          return token;
        },
        session({ session, token }) {
          return { ...session, idToken: token.idToken };
        },
        // Auth.js goes only to its own origin unless told: Gatehouse's sign-out is allowed too.
        redirect({ url, baseUrl }) {
          if (url.startsWith(`${issuer}/logout?`)) return url;
          return url.startsWith(baseUrl) ? url : baseUrl;
        },
      },
    };
    expressApp.set('trust proxy', true);
    expressApp.use('/auth', ExpressAuth(config));
    /** Auth.js's CSRF token for this browser (its cookie is set on the way if it has none). */
    const csrf = async (request: express.Request, response: express.Response) => {
      const answer = await fetch(`${appUrl}/auth/csrf`, {
        headers: { cookie: request.headers.cookie ?? '' },
      });
      for (const cookie of answer.headers.getSetCookie()) response.append('set-cookie', cookie);
      return ((await answer.json()) as { csrfToken: string }).csrfToken;
    };
    expressApp.get('/', async (request, response) => {
      const session = await getSession(request, config);
      const token = await csrf(request, response);
      if (session?.user === undefined) {
        response.send(`<h1>Signed out of the app</h1>
          <form method="post" action="/auth/signin/gatehouse">
            <input type="hidden" name="csrfToken" value="${token}">
            <button>Sign in with Gatehouse</button>
          </form>`);
        return;
      }
      const idToken = (session as { idToken?: string }).idToken ?? '';
      const endSession = new URL(`${issuer}/logout`);
      endSession.searchParams.set('id_token_hint', idToken);
      endSession.searchParams.set('post_logout_redirect_uri', `${appUrl}/signed-out`);
      endSession.searchParams.set('state', 'authjs-state');
      response.send(`<h1>Hello ${session.user.email ?? ''}</h1>
        <form method="post" action="/auth/signout">
          <input type="hidden" name="csrfToken" value="${token}">
          <input type="hidden" name="callbackUrl" value="${endSession.href.replaceAll('&', '&amp;')}">
          <button>Sign out</button>
        </form>`);
    });
    expressApp.get('/signed-out', (request, response) => {
      const { state } = request.query;
      response.send(
        `<h1>Back in the app</h1><p id="state">${typeof state === 'string' ? encodeURIComponent(state) : ''}</p>`,
      );
    });
  }

  it('signs in, then signs out of the app and of Gatehouse', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(appUrl);
    await page.getByRole('button', { name: 'Sign in with Gatehouse' }).click();
    await page.getByLabel('Email').fill('erin@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Hello erin@example.com' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Back in the app' }).waitFor();
    expect(await page.locator('#state').textContent()).toBe('authjs-state');
    // Signed out of the app...
    await page.goto(appUrl);
    await page.getByRole('heading', { name: 'Signed out of the app' }).waitFor();
    // ...and of Gatehouse: signing in again asks for the password.
    await page.getByRole('button', { name: 'Sign in with Gatehouse' }).click();
    await page.waitForURL(/\/login$/);
    expect(await page.getByLabel('Password').count()).toBe(1);
    const ended = await t.server.stores.audit.tail({
      environment: 'development',
      type: 'session.ended',
    });
    expect(ended.at(-1)?.data).toMatchObject({ reason: 'id_token_hint' });
    await context.close();
  });
});
