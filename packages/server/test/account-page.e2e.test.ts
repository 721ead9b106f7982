/**
 * The account page end to end, in Chromium (issue #17: "the account page's revocations taking
 * effect at an API"). Ada signs in to an application by the code flow in one browser; an agent
 * she allowed to act for her at the API exchanges that application's token (RFC 8693); she opens
 * her account page in a second browser, signing in there. The page lists the application, the
 * agent and both sessions. Behind an API using @gatehouse/resource that follows the revocation
 * feed: revoking the agent refuses its exchanged token (the application's still passes); revoking
 * the application refuses its access token at the API and at introspection, and its refresh
 * token at /token; ending the first browser's session signs that browser out.
 */
import { createResourceServer, type ResourceServer } from '@gatehouse/resource';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_EXCHANGE_GRANT } from '../src/protocol.js';
import { consentItems, registerResource } from '../src/services/resources.js';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { codeRequest, tokensOf, WebClient } from './support/oauth.js';
import { startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'account page e2e pass phrase';
const API = 'https://api.example.test/notes';
const CALLBACK = 'https://notes.example.test/callback';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

/** Waits (on real time) until `condition` holds; the assertion is the condition, not the time. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 4_000 && !(await condition()); i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(await condition()).toBe(true);
}

describe('the account page in Chromium, with an API following the revocation feed', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let api: ResourceServer;
  let apiClient: WebClient;
  let notes: WebClient;
  let agent: WebClient;
  let adaId: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    const linked = await t.client({ type: 'web', name: 'Notes API', redirectUris: [] });
    apiClient = new WebClient(linked.clientId, linked.clientSecret ?? '');
    await registerResource(t.ctx, 'development', {
      uri: API,
      name: 'Notes API',
      scopes: ['notes:read'],
      clientId: linked.clientId,
    });
    const app = await t.client({
      type: 'web',
      name: 'Notes',
      redirectUris: [CALLBACK],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    notes = new WebClient(app.clientId, app.clientSecret ?? '');
    const acting = await t.client({
      type: 'web',
      name: 'Helper Agent',
      redirectUris: [],
      grantTypes: ['client_credentials', TOKEN_EXCHANGE_GRANT],
      exchangeAudiences: [API],
    });
    agent = new WebClient(acting.clientId, acting.clientSecret ?? '');
    adaId = await t.user('ada@example.com', PASSWORD);
    // Ada let the agent act for her at the API: the consent an authorization request by the agent
    // with resource=API records (grants/token-exchange.ts, check-agent).
    await t.ctx.stores.consents.grant(
      {
        environment: 'development',
        userId: adaId,
        clientId: agent.clientId,
        scopes: consentItems(['notes:read'], API),
        at: Date.now(),
      },
      {
        at: Date.now(),
        event: {
          environment: 'development',
          type: 'consent.granted',
          actor: `user:${adaId}`,
          userId: adaId,
        },
      },
    );
    api = createResourceServer({
      resource: API,
      issuer: t.issuer('development'),
      revocation: { ...linked, clientSecret: linked.clientSecret ?? '', pollIntervalMs: 50 },
    });
    browser = await launchChromium();
    // Hooks share a loaded machine with Chromium and other suites: more than the 10 s default.
  }, 60_000);
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser.close();
    await api.close();
    await t.close();
    await db.drop();
  }, 60_000);

  async function newPage(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    // The application's callback never leaves the machine: the browser's request is answered here.
    await context.route(`${CALLBACK}**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/plain', body: 'the application' }),
    );
    return context.newPage();
  }

  /** Whether the API lets the token in, once the feed has been read after this call. */
  async function apiAccepts(token: string): Promise<boolean> {
    const status = () => {
      const s = api.revocationStatus();
      if (s.mode !== 'feed') throw new Error('not in feed mode');
      return s;
    };
    const asked = Date.now();
    await until(() => status().fresh && (status().lastSyncAt ?? 0) > asked);
    return (await api.authenticate({ authorization: [`Bearer ${token}`] })).ok;
  }

  it('lists what acts for Ada and where she is signed in; each revocation holds at the API', async () => {
    // 1. The application, by the code flow in the first browser.
    const first = await newPage();
    const { query, verifier } = codeRequest(
      notes.clientId,
      CALLBACK,
      'openid email offline_access notes:read',
    );
    const callback = first.waitForRequest((request) => request.url().startsWith(CALLBACK));
    await first.goto(
      `${t.issuer('development')}/authorize?${new URLSearchParams({ ...query, resource: API }).toString()}`,
    );
    await first.getByLabel('Email').fill('ada@example.com');
    await first.getByLabel('Password').fill(PASSWORD);
    await first.getByRole('button', { name: 'Sign in' }).click();
    await first.getByRole('button', { name: 'Allow' }).click();
    const code = new URL((await callback).url()).searchParams.get('code') ?? '';
    const appTokens = tokensOf(await notes.redeem(t.url, code, verifier, CALLBACK));

    // 2. The agent exchanges the application's token, with its own as the actor token.
    const actor = tokensOf(await agent.clientCredentials(t.url)).access_token;
    const exchanged = tokensOf(
      await agent.token(t.url, {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: appTokens.access_token,
        subject_token_type: ACCESS_TOKEN,
        actor_token: actor,
        actor_token_type: ACCESS_TOKEN,
        resource: API,
      }),
    ).access_token;
    expect(await apiAccepts(appTokens.access_token)).toBe(true);
    expect(await apiAccepts(exchanged)).toBe(true);

    // 3. The account page in a second browser: its own sign-in form, then back to the page.
    const second = await newPage();
    await second.goto(`${t.issuer('development')}/account`);
    await second.getByLabel('Email').fill('ada@example.com');
    await second.getByLabel('Password').fill(PASSWORD);
    await second.getByRole('button', { name: 'Sign in' }).click();
    await second.waitForURL(`${t.issuer('development')}/account`);
    await expect.poll(() => second.locator('#account').textContent()).toContain('ada@example.com');
    const application = second.locator(`li.grant[data-client-id="${notes.clientId}"]`);
    const agentItem = second.locator(`li.grant[data-client-id="${agent.clientId}"]`);
    expect(await second.locator('#applications + ul li.grant').count()).toBe(1);
    expect(await application.innerText()).toContain('Notes');
    expect(await application.innerText()).toContain(API);
    expect(await application.innerText()).toContain('Not bound to a device key.');
    expect(await second.locator('#agents + ul li.grant').count()).toBe(1);
    expect(await agentItem.innerText()).toContain('Helper Agent');
    expect(await agentItem.innerText()).toContain(`May act for you at ${API}`);
    expect(await second.locator('li.session').count()).toBe(2);
    expect(await second.locator('li.session.current').textContent()).toContain('this browser');

    // 4. Revoke the agent: its exchanged token is refused at the API; the application's passes.
    await agentItem.getByRole('button', { name: 'Revoke' }).click();
    await second.waitForURL(/\/account\?done=revoked$/);
    expect(await second.locator('#notice').textContent()).toContain('Access revoked.');
    expect(await second.locator(`li.grant[data-client-id="${agent.clientId}"]`).count()).toBe(0);
    expect(await apiAccepts(exchanged)).toBe(false);
    expect(await apiAccepts(appTokens.access_token)).toBe(true);
    // Nor can it exchange again: the consent it acted on is gone.
    const again = await agent.token(t.url, {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: appTokens.access_token,
      subject_token_type: ACCESS_TOKEN,
      actor_token: actor,
      actor_token_type: ACCESS_TOKEN,
      resource: API,
    });
    expect(again).toMatchObject({ status: 400, body: { error: 'invalid_request' } });

    // 5. Revoke the application: API, introspection and /token all refuse what it holds.
    await application.getByRole('button', { name: 'Revoke' }).click();
    await second.waitForURL(/\/account\?done=revoked$/);
    expect(await second.locator('li.grant').count()).toBe(0);
    expect(await apiAccepts(appTokens.access_token)).toBe(false);
    expect(await apiClient.active(t.url, appTokens.access_token)).toBe(false);
    expect(await notes.refresh(t.url, appTokens.refresh_token ?? '')).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });

    // 6. End the first browser's session from the second: the first is signed out.
    const other = second.locator('li.session:not(.current)');
    await other.getByRole('button', { name: 'Sign out there' }).click();
    await second.waitForURL(/\/account\?done=session_ended$/);
    expect(await second.locator('li.session').count()).toBe(1);
    await first.goto(`${t.issuer('development')}/account`);
    expect(await first.getByLabel('Password').count()).toBe(1);
    expect(await first.locator('#account').count()).toBe(0);
    // And the second, its own: signed out here too.
    await second.locator('li.session.current').getByRole('button', { name: 'Sign out' }).click();
    await second.waitForURL(/\/account\?done=session_ended$/);
    expect(await second.getByLabel('Password').count()).toBe(1);
  });
});
