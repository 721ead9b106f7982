/**
 * The end user's account page (/e/<env>/account) over plain HTTP, on SQLite and PostgreSQL: what
 * it lists, that a revocation takes effect at once (refresh refused, introspection inactive, a new
 * sign-in afterwards not covered), and the attacks: a POST without or with another browser's CSRF
 * token, a client id or session handle edited to reach another user's grant or session, a return
 * address slipped into the sign-in, an unknown environment. account-page.e2e.test.ts drives the
 * same page in Chromium with an API behind @gatehouse/resource.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionHandle } from '../src/services/account.js';
import { registerResource } from '../src/services/resources.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { codeFrom, codeRequest, tokensOf, WebClient } from './support/oauth.js';
import { FormBrowser, startTestServer, type TestServer } from './support/server.js';
import { sha256 } from '../src/crypto/random.js';
import { setImpersonationEnabled, startImpersonation } from '../src/services/impersonation.js';
import { createOperator } from '../src/services/operators.js';

const PASSWORD = 'account page pass phrase';
const API = 'https://api.example.test/notes';
const CALLBACK = 'https://notes.example.test/callback';
const ACCOUNT = '/e/development/account';

describe.each(DATABASES)('the account page on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  /** Added to the real time: moves the server's clock past a revocation's second. */
  let skew = 0;
  let notes: WebClient;
  let reports: WebClient;
  /** Only Bob ever signs in to it. */
  let calendar: WebClient;
  let apiClient: WebClient;
  let adaId: string;
  let bobId: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock: () => Date.now() + skew });
    const linked = await t.client({ type: 'web', name: 'Notes API', redirectUris: [] });
    apiClient = new WebClient(linked.clientId, linked.clientSecret ?? '');
    await registerResource(t.ctx, 'development', {
      uri: API,
      name: 'Notes API',
      scopes: ['notes:read'],
      clientId: linked.clientId,
    });
    for (const [name, assign] of [
      ['Notes', (c: WebClient) => (notes = c)],
      ['Reports', (c: WebClient) => (reports = c)],
      ['Calendar', (c: WebClient) => (calendar = c)],
    ] as const) {
      const created = await t.client({
        type: 'web',
        name,
        redirectUris: [CALLBACK],
        grantTypes: ['authorization_code', 'refresh_token'],
      });
      assign(new WebClient(created.clientId, created.clientSecret ?? ''));
    }
    adaId = await t.user('ada@example.com', PASSWORD);
    bobId = await t.user('bob@example.com', PASSWORD);
    // Hooks share a loaded machine with Chromium and other suites: more than the 10 s default.
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /** A code flow in `browser` for `client` at the API: its tokens (access and refresh). */
  async function signInTo(browser: FormBrowser, client: WebClient, email: string) {
    const { query, verifier } = codeRequest(
      client.clientId,
      CALLBACK,
      'openid email offline_access notes:read',
    );
    const location = await browser.authorize({ ...query, resource: API }, email, PASSWORD);
    return tokensOf(await client.redeem(t.url, codeFrom(location).code, verifier, CALLBACK));
  }

  async function accountHtml(browser: FormBrowser): Promise<string> {
    const response = await browser.get(ACCOUNT);
    expect(response.status).toBe(200);
    return response.text();
  }

  /** The CSRF token and the revoke form's fields for `clientId`, as the page shows them. */
  const revokeForm = (html: string, clientId: string) => ({
    _csrf: FormBrowser.csrf(html),
    client_id: clientId,
  });

  it('signs in on the page itself, lists the application with its scopes, resource and session', async () => {
    const browser = new FormBrowser(t.url);
    const login = await browser.get(ACCOUNT);
    expect(login.status).toBe(200);
    const form = await login.text();
    expect(form).toContain(`action="${ACCOUNT}/login"`);
    const signedIn = await browser.post(`${ACCOUNT}/login`, {
      _csrf: FormBrowser.csrf(form),
      email: 'ada@example.com',
      password: PASSWORD,
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe(ACCOUNT);
    await signInTo(browser, notes, 'ada@example.com');
    const html = await accountHtml(browser);
    expect(html).toContain('Signed in as <strong>ada@example.com</strong>');
    expect(html).toContain(`data-client-id="${notes.clientId}"`);
    expect(html).toContain('<strong>Notes</strong>');
    expect(html).toContain(`<code>${API}</code>: notes:read`);
    expect(html).toContain('Not bound to a device key.');
    expect(html).not.toContain('unverified');
    expect(html.match(/class="session current"/g)).toHaveLength(1);
  });

  it('answers with a strict CSP, not framable, not cached', async () => {
    const browser = new FormBrowser(t.url);
    for (const response of [await browser.get(ACCOUNT)]) {
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).toMatch(/form-action 'self'$/);
    }
  });

  it('a revocation is effective at once: refresh refused, introspection inactive, audited; a later sign-in is not covered', async () => {
    const browser = new FormBrowser(t.url);
    const tokens = await signInTo(browser, notes, 'ada@example.com');
    expect(await apiClient.active(t.url, tokens.access_token)).toBe(true);
    const html = await accountHtml(browser);
    const revoked = await browser.post(`${ACCOUNT}/revoke`, revokeForm(html, notes.clientId));
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get('location')).toBe(`${ACCOUNT}?done=revoked`);
    expect(await apiClient.active(t.url, tokens.access_token)).toBe(false);
    const refresh = await notes.refresh(t.url, tokens.refresh_token ?? '');
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await t.ctx.stores.consents.get('development', adaId, notes.clientId)).toBeUndefined();
    const after = await (await browser.get(`${ACCOUNT}?done=revoked`)).text();
    expect(after).toContain('Access revoked.');
    expect(after).not.toContain(`data-client-id="${notes.clientId}"`);
    const [entry] = await t.ctx.stores.audit.tail({
      environment: 'development',
      type: 'account.grant_revoked',
      userId: adaId,
      limit: 1,
    });
    expect(entry).toMatchObject({ actor: `user:${adaId}`, clientId: notes.clientId });
    // Twice: nothing is left to revoke, and no event is written for it.
    const events = (await t.ctx.stores.revocationEvents.after('development', 0, 10_000)).length;
    const again = await browser.post(`${ACCOUNT}/revoke`, revokeForm(after, notes.clientId));
    expect(again.status).toBe(404);
    expect((await t.ctx.stores.revocationEvents.after('development', 0, 10_000)).length).toBe(
      events,
    );
    // Signing in to the application again (past the revocation's second) gives good tokens.
    skew += 2_000;
    const fresh = await signInTo(browser, notes, 'ada@example.com');
    expect(await apiClient.active(t.url, fresh.access_token)).toBe(true);
    expect((await notes.refresh(t.url, fresh.refresh_token ?? '')).status).toBe(200);
  });

  it('CSRF: a POST without the token, or with another browser’s token, changes nothing', async () => {
    const ada = new FormBrowser(t.url);
    const tokens = await signInTo(ada, reports, 'ada@example.com');
    const mallory = new FormBrowser(t.url);
    const mallorysToken = FormBrowser.csrf(await (await mallory.get(ACCOUNT)).text());
    for (const form of [
      { client_id: reports.clientId },
      { client_id: reports.clientId, _csrf: mallorysToken },
      { client_id: reports.clientId, _csrf: '' },
    ]) {
      const response = await ada.post(`${ACCOUNT}/revoke`, form);
      expect(response.status).toBe(403);
    }
    const sessions = await t.ctx.stores.account.sessions('development', adaId, Date.now() + skew);
    for (const form of [
      { session: sessionHandle(sessions[0] ?? { idHash: '' }) },
      { session: sessionHandle(sessions[0] ?? { idHash: '' }), _csrf: mallorysToken },
    ])
      expect((await ada.post(`${ACCOUNT}/sessions/end`, form)).status).toBe(403);
    expect(await apiClient.active(t.url, tokens.access_token)).toBe(true);
    expect(await t.ctx.stores.consents.get('development', adaId, reports.clientId)).toBeDefined();
    expect(
      (await t.ctx.stores.account.sessions('development', adaId, Date.now() + skew)).length,
    ).toBe(sessions.length);
  });

  it('a client id or session handle edited in the form reaches only the signed-in user’s own', async () => {
    const bob = new FormBrowser(t.url);
    // Bob holds a grant at Calendar; Ada never signed in there.
    const bobsTokens = await signInTo(bob, calendar, 'bob@example.com');
    const adas = new FormBrowser(t.url);
    await signInTo(adas, notes, 'ada@example.com');
    const html = await accountHtml(adas);
    expect(html).not.toContain(`data-client-id="${calendar.clientId}"`);
    // Bob's client id in Ada's form: nothing of Ada's there, so nothing at all happens.
    const events = (await t.ctx.stores.revocationEvents.after('development', 0, 10_000)).length;
    const response = await adas.post(`${ACCOUNT}/revoke`, revokeForm(html, calendar.clientId));
    expect(response.status).toBe(404);
    expect((await t.ctx.stores.revocationEvents.after('development', 0, 10_000)).length).toBe(
      events,
    );
    expect(await apiClient.active(t.url, bobsTokens.access_token)).toBe(true);
    expect((await calendar.refresh(t.url, bobsTokens.refresh_token ?? '')).status).toBe(200);
    expect(await t.ctx.stores.consents.get('development', bobId, calendar.clientId)).toBeDefined();
    // Bob's session's handle (computed here from the database: a browser cannot even see it).
    const bobsSessions = await t.ctx.stores.account.sessions(
      'development',
      bobId,
      Date.now() + skew,
    );
    expect(bobsSessions.length).toBeGreaterThan(0);
    for (const session of bobsSessions) {
      const ended = await adas.post(`${ACCOUNT}/sessions/end`, {
        _csrf: FormBrowser.csrf(html),
        session: sessionHandle(session),
      });
      expect(ended.status).toBe(404);
    }
    // The raw stored hash, or the cookie's hash, is no handle either.
    for (const session of bobsSessions)
      for (const guess of [session.idHash, sha256(session.idHash)])
        expect(
          (
            await adas.post(`${ACCOUNT}/sessions/end`, {
              _csrf: FormBrowser.csrf(html),
              session: guess,
            })
          ).status,
        ).toBe(404);
    expect((await bob.get(ACCOUNT)).status).toBe(200);
    expect(await bob.get(ACCOUNT).then((r) => r.text())).toContain('bob@example.com');
    // Ada revoking Notes, which Bob uses too, ends only hers.
    const bobsNotes = await signInTo(bob, notes, 'bob@example.com');
    const revoked = await adas.post(`${ACCOUNT}/revoke`, revokeForm(html, notes.clientId));
    expect(revoked.status).toBe(303);
    expect(await apiClient.active(t.url, bobsNotes.access_token)).toBe(true);
  });

  it('ends another session of the user, and this browser’s own (signed out here)', async () => {
    const first = new FormBrowser(t.url);
    const second = new FormBrowser(t.url);
    await signInTo(first, notes, 'ada@example.com');
    await signInTo(second, notes, 'ada@example.com');
    const html = await accountHtml(second);
    const handles = [...html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1] ?? '');
    const current = /<li class="session current">[\s\S]*?name="session" value="([^"]+)"/.exec(
      html,
    )?.[1];
    const other = handles.find((h) => h !== current) ?? '';
    const ended = await second.post(`${ACCOUNT}/sessions/end`, {
      _csrf: FormBrowser.csrf(html),
      session: other,
    });
    expect(ended.status).toBe(303);
    const audit = await t.ctx.stores.audit.tail({
      environment: 'development',
      type: 'account.session_ended',
      userId: adaId,
      limit: 1,
    });
    expect(audit[0]).toMatchObject({ actor: `user:${adaId}`, data: { current: false } });
    // Some browser of Ada's lost its session; this one still has it.
    expect(await accountHtml(second)).toContain('this browser');
    const own = await second.post(`${ACCOUNT}/sessions/end`, {
      _csrf: FormBrowser.csrf(html),
      session: current ?? '',
    });
    expect(own.status).toBe(303);
    const signedOut = await (await second.get(ACCOUNT)).text();
    expect(signedOut).toContain('name="password"');
  });

  it('ending a session there tells the clients it signed in to (Back-Channel Logout)', async () => {
    const created = await t.client({
      type: 'web',
      name: 'Wiki',
      redirectUris: [CALLBACK],
      grantTypes: ['authorization_code', 'refresh_token'],
      backchannelLogoutUri: 'http://127.0.0.1:9/backchannel',
    });
    const wiki = new WebClient(created.clientId, created.clientSecret ?? '');
    const elsewhere = new FormBrowser(t.url);
    await signInTo(elsewhere, wiki, 'ada@example.com');
    const here = new FormBrowser(t.url);
    await signInTo(here, notes, 'ada@example.com');
    const html = await accountHtml(here);
    const handles = [...html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1] ?? '');
    const current = /<li class="session current">[\s\S]*?name="session" value="([^"]+)"/.exec(
      html,
    )?.[1];
    // Every other session of Ada's, the Wiki's among them.
    for (const handle of handles.filter((h) => h !== current))
      expect(
        (
          await here.post(`${ACCOUNT}/sessions/end`, {
            _csrf: FormBrowser.csrf(html),
            session: handle,
          })
        ).status,
      ).toBe(303);
    const deliveries = await t.ctx.stores.logoutDeliveries.list('development', 100);
    expect(deliveries.filter((d) => d.clientId === wiki.clientId)).toMatchObject([
      { sub: adaId, uri: 'http://127.0.0.1:9/backchannel' },
    ]);
    expect((await elsewhere.get(ACCOUNT)).status).toBe(200);
    expect(await (await elsewhere.get(ACCOUNT)).text()).toContain('name="password"');
  });

  it('takes no return address: the sign-in always comes back to the account page', async () => {
    const browser = new FormBrowser(t.url);
    const page = await browser.get(
      `${ACCOUNT}?return_to=https://evil.example/&redirect_uri=//evil.example`,
    );
    const form = await page.text();
    expect(form).not.toContain('evil.example');
    const response = await browser.post(`${ACCOUNT}/login?next=https://evil.example/`, {
      _csrf: FormBrowser.csrf(form),
      email: 'ada@example.com',
      password: PASSWORD,
      return_to: 'https://evil.example/',
      redirect_uri: 'https://evil.example/',
      next: '//evil.example',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(ACCOUNT);
    // The notice is one of two fixed texts; anything else in `done` shows nothing.
    const shown = await (await browser.get(`${ACCOUNT}?done=%3Cscript%3E`)).text();
    expect(shown).not.toContain('<script>');
    expect(shown).not.toContain('role="status"');
  });

  it('a self-registered client is shown by its own claim, with an unverified badge and its id', async () => {
    const registered = await fetch(`${t.issuer('development')}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        application_type: 'web',
        client_name: 'Notes',
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code', 'refresh_token'],
      }),
    });
    expect(registered.status).toBe(201);
    const { client_id: clientId, client_secret: secret } = (await registered.json()) as {
      client_id: string;
      client_secret: string;
    };
    const browser = new FormBrowser(t.url);
    await signInTo(browser, new WebClient(clientId, secret), 'ada@example.com');
    const html = await accountHtml(browser);
    const item =
      new RegExp(`data-client-id="${clientId}"[\\s\\S]*?</li>\\s*</?(?:ul|li)`).exec(html)?.[0] ??
      '';
    expect(item).toContain('<strong>“Notes”</strong> <span class="badge">unverified</span>');
    expect(item).toContain(`Identified by <code>${clientId}</code>`);
  });

  it('is refused while an operator impersonates in this browser: nothing shown, nothing ended', async () => {
    await setImpersonationEnabled(t.ctx, 'development', true);
    const operator = await createOperator(t.ctx, {
      email: 'support@ops.example',
      role: 'support',
      password: PASSWORD,
    });
    const { cookie } = await startImpersonation(t.ctx, operator, {
      environment: 'development',
      userId: adaId,
      clientId: notes.clientId,
      reason: 'account page test',
    });
    // The operator's browser also holds a session of Ada's (the worst case): still refused.
    const browser = new FormBrowser(t.url);
    const tokens = await signInTo(browser, reports, 'ada@example.com');
    const html = await accountHtml(browser);
    const impersonating = async (path: string, form?: Record<string, string>) => {
      const response = await fetch(new URL(path, t.url), {
        method: form === undefined ? 'GET' : 'POST',
        redirect: 'manual',
        headers: {
          cookie: `${browser.jar.header()}; gh_impersonation=${cookie}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        ...(form === undefined ? {} : { body: new URLSearchParams(form) }),
      });
      return { status: response.status, text: await response.text() };
    };
    const page = await impersonating(ACCOUNT);
    expect(page.status).toBe(403);
    expect(page.text).not.toContain('ada@example.com</strong>.');
    const revoke = await impersonating(`${ACCOUNT}/revoke`, revokeForm(html, reports.clientId));
    expect(revoke.status).toBe(403);
    expect(await apiClient.active(t.url, tokens.access_token)).toBe(true);
    await setImpersonationEnabled(t.ctx, 'development', false);
  });

  it('a wrong password shows the form again; an unknown environment is 404', async () => {
    const browser = new FormBrowser(t.url);
    const form = await (await browser.get(ACCOUNT)).text();
    const wrong = await browser.post(`${ACCOUNT}/login`, {
      _csrf: FormBrowser.csrf(form),
      email: 'ada@example.com',
      password: 'not it',
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('The email or password is incorrect.');
    expect((await browser.get('/e/nowhere/account')).status).toBe(404);
    const revoke = await browser.post('/e/nowhere/account/revoke', {
      _csrf: FormBrowser.csrf(form),
      client_id: 'x',
    });
    expect(revoke.status).toBe(404);
  });
});
