/**
 * OpenID Connect RP-Initiated Logout 1.0 at /e/:env/logout, driven over plain HTTP: the hint,
 * client_id and post_logout_redirect_uri rules, the confirmation page, and the attacks (an open
 * redirect through post_logout_redirect_uri, a cross-site page signing the user out with somebody
 * else's ID token, a forged confirmation). The Chromium tests with openid-client and Auth.js are in
 * end-session.e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const REDIRECT = 'https://app.example.com/oauth/callback';
const AFTER_LOGOUT = 'https://app.example.com/signed-out';
const OTHER_AFTER_LOGOUT = 'https://other.example.com/bye';

describe('RP-Initiated Logout: /e/:env/logout', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();
  let app: { clientId: string; clientSecret?: string };
  let other: { clientId: string; clientSecret?: string };

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { clock: () => now });
    app = await t.client({
      type: 'web',
      name: 'Acme Web',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [AFTER_LOGOUT],
      grantTypes: ['authorization_code', 'refresh_token'],
      skipConsent: true,
    });
    other = await t.client({
      type: 'web',
      name: 'Other Web',
      redirectUris: ['https://other.example.com/cb'],
      postLogoutRedirectUris: [OTHER_AFTER_LOGOUT],
      grantTypes: ['authorization_code'],
      skipConsent: true,
    });
    await t.user('alice@example.com', PASSWORD);
    await t.user('mallory@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /** Signs in on a fresh browser and returns it with the ID token the client received. */
  async function signedIn(
    email = 'alice@example.com',
    client = app,
    redirectUri = REDIRECT,
  ): Promise<{ browser: FormBrowser; idToken: string }> {
    const browser = new FormBrowser(t.url);
    const { verifier, challenge } = pkce();
    const location = await browser.authorize(
      {
        client_id: client.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: 'openid email',
        state: 's',
        nonce: 'n',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      email,
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: client.clientId,
      client_secret: client.clientSecret ?? '',
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    return { browser, idToken: tokens.id_token ?? '' };
  }

  /** Whether /authorize still knows this browser (a code at once) or asks it to sign in. */
  async function isSignedIn(browser: FormBrowser): Promise<boolean> {
    const start = await browser.get(
      `/e/development/authorize?${new URLSearchParams({
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }).toString()}`,
    );
    const { location, last } = await browser.follow(start);
    if (location !== undefined) return new URL(location).searchParams.has('code');
    expect(await last.text()).toContain('name="password"');
    return false;
  }

  const logoutPath = (params: Record<string, string>) =>
    `/e/development/logout?${new URLSearchParams(params).toString()}`;

  it('is advertised in discovery, with Back-Channel Logout and its session support', async () => {
    const metadata = (await (
      await fetch(`${t.issuer('development')}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata.end_session_endpoint).toBe(`${t.issuer('development')}/logout`);
    // Each tested in backchannel-logout.test.ts: delivered, with sub and the session's sid.
    expect(metadata.backchannel_logout_supported).toBe(true);
    expect(metadata.backchannel_logout_session_supported).toBe(true);
  });

  it('with a valid hint: signs out at once and returns to the registered URI with state', async () => {
    const { browser, idToken } = await signedIn();
    expect(await isSignedIn(browser)).toBe(true);
    const response = await browser.get(
      logoutPath({
        id_token_hint: idToken,
        post_logout_redirect_uri: AFTER_LOGOUT,
        state: 'xyz 123',
      }),
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${AFTER_LOGOUT}?state=xyz+123`);
    expect(await isSignedIn(browser)).toBe(false);
    const ended = await t.server.stores.audit.tail({
      environment: 'development',
      type: 'session.ended',
    });
    expect(ended.at(-1)).toMatchObject({
      clientId: app.clientId,
      data: { reason: 'id_token_hint' },
    });
  });

  it('accepts an expired hint (§2): an RP signs out long after its ID token expired', async () => {
    const { browser, idToken } = await signedIn();
    now += 2 * 3600_000;
    try {
      const response = await browser.get(
        logoutPath({ id_token_hint: idToken, post_logout_redirect_uri: AFTER_LOGOUT }),
      );
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe(AFTER_LOGOUT);
      expect(await isSignedIn(browser)).toBe(false);
    } finally {
      now -= 2 * 3600_000;
    }
  });

  it('attack: an unregistered post_logout_redirect_uri is a page, never a redirect, and is recorded', async () => {
    const { browser, idToken } = await signedIn();
    for (const evil of [
      'https://evil.example.com/phish',
      `${AFTER_LOGOUT}/`,
      `${AFTER_LOGOUT}?next=https://evil.example.com`,
      // Registered for another client: a client may only send users to its own addresses.
      OTHER_AFTER_LOGOUT,
    ]) {
      const response = await browser.get(
        logoutPath({ id_token_hint: idToken, post_logout_redirect_uri: evil, state: 's' }),
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      const page = await response.text();
      expect(page).toContain('Sign-out stopped');
      // The explainer, as for a refused redirect URI (development shows the operator's detail).
      expect(page).toContain(AFTER_LOGOUT);
    }
    // Nothing was ended by a refused request.
    expect(await isSignedIn(browser)).toBe(true);
    const refused = await t.server.stores.audit.tail({
      environment: 'development',
      type: 'post_logout_redirect.refused',
    });
    expect(refused.map((e) => e.data.requested)).toContain('https://evil.example.com/phish');
    // Not offered in the console as a redirect URI to register: it is not one.
    expect(await t.server.stores.refusedRedirects.list('development', app.clientId)).toEqual([]);
  });

  it('attack: client_id alone cannot send the browser to another client’s URI; no client at all, none', async () => {
    const browser = new FormBrowser(t.url);
    const refused = await browser.get(
      logoutPath({ client_id: app.clientId, post_logout_redirect_uri: OTHER_AFTER_LOGOUT }),
    );
    expect(refused.status).toBe(400);
    expect(refused.headers.get('location')).toBeNull();
    const anonymous = await browser.get(logoutPath({ post_logout_redirect_uri: AFTER_LOGOUT }));
    expect(anonymous.status).toBe(400);
    expect(anonymous.headers.get('location')).toBeNull();
    const unknown = await browser.get(
      logoutPath({ client_id: 'no-such-client', post_logout_redirect_uri: AFTER_LOGOUT }),
    );
    expect(unknown.status).toBe(400);
  });

  it('refuses a client_id that is not the hint’s audience (§2)', async () => {
    const { browser, idToken } = await signedIn();
    const response = await browser.get(
      logoutPath({
        id_token_hint: idToken,
        client_id: other.clientId,
        post_logout_redirect_uri: OTHER_AFTER_LOGOUT,
      }),
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await isSignedIn(browser)).toBe(true);
  });

  it('refuses a repeated parameter (RFC 6749 §3.1, as at /authorize)', async () => {
    const browser = new FormBrowser(t.url);
    const response = await browser.get(
      `/e/development/logout?client_id=${app.clientId}&state=a&state=b`,
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('without a hint: asks first; the confirmation signs out and returns with state', async () => {
    const { browser } = await signedIn();
    const response = await browser.get(
      logoutPath({ client_id: app.clientId, post_logout_redirect_uri: AFTER_LOGOUT, state: 'st' }),
    );
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('Sign out of Gatehouse?');
    expect(page).toContain('alice@example.com');
    expect(page).toContain('Acme Web');
    // Only asked: still signed in.
    expect(await isSignedIn(browser)).toBe(true);
    const confirmed = await browser.post('/e/development/logout/confirm', {
      _csrf: FormBrowser.csrf(page),
      client_id: app.clientId,
      post_logout_redirect_uri: AFTER_LOGOUT,
      state: 'st',
      decision: 'logout',
    });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe(`${AFTER_LOGOUT}?state=st`);
    expect(await isSignedIn(browser)).toBe(false);
    const ended = await t.server.stores.audit.tail({
      environment: 'development',
      type: 'session.ended',
    });
    expect(ended.at(-1)).toMatchObject({ data: { reason: 'confirmed' } });
  });

  it('"Stay signed in" changes nothing and offers the way back', async () => {
    const { browser } = await signedIn();
    const page = await (
      await browser.get(
        logoutPath({ client_id: app.clientId, post_logout_redirect_uri: AFTER_LOGOUT }),
      )
    ).text();
    const stayed = await browser.post('/e/development/logout/confirm', {
      _csrf: FormBrowser.csrf(page),
      client_id: app.clientId,
      post_logout_redirect_uri: AFTER_LOGOUT,
      decision: 'stay',
    });
    expect(stayed.status).toBe(200);
    expect(await stayed.text()).toContain(`href="${AFTER_LOGOUT}"`);
    expect(await isSignedIn(browser)).toBe(true);
  });

  it('attack: a forged confirmation (no CSRF token, or a tampered return address) ends nothing', async () => {
    const { browser } = await signedIn();
    const page = await (await browser.get(logoutPath({ client_id: app.clientId }))).text();
    const forged = await browser.post('/e/development/logout/confirm', { decision: 'logout' });
    expect(forged.status).toBe(403);
    expect(await isSignedIn(browser)).toBe(true);
    // The hidden fields are checked again: an address swapped in the form is refused.
    const tampered = await browser.post('/e/development/logout/confirm', {
      _csrf: FormBrowser.csrf(page),
      client_id: app.clientId,
      post_logout_redirect_uri: 'https://evil.example.com/',
      decision: 'logout',
    });
    expect(tampered.status).toBe(400);
    expect(tampered.headers.get('location')).toBeNull();
    expect(await isSignedIn(browser)).toBe(true);
  });

  it('attack: another user’s ID token as hint does not sign this user out silently', async () => {
    // Mallory signs in to the app herself and uses her own ID token as the hint on a page that
    // Alice visits: Alice is asked, not signed out.
    const { idToken: mallorys } = await signedIn('mallory@example.com');
    const { browser } = await signedIn('alice@example.com');
    const response = await browser.get(
      logoutPath({ id_token_hint: mallorys, post_logout_redirect_uri: AFTER_LOGOUT }),
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Sign out of Gatehouse?');
    expect(await isSignedIn(browser)).toBe(true);
  });

  it('a hint that does not verify counts as none: the user is asked', async () => {
    const { browser, idToken } = await signedIn();
    const [header, payload] = idToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    const response = await browser.get(logoutPath({ id_token_hint: forged }));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Sign out of Gatehouse?');
    expect(await isSignedIn(browser)).toBe(true);
  });

  it('signed out already: straight to the registered URI, or the signed-out page', async () => {
    const browser = new FormBrowser(t.url);
    const back = await browser.get(
      logoutPath({ client_id: app.clientId, post_logout_redirect_uri: AFTER_LOGOUT, state: 'q' }),
    );
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe(`${AFTER_LOGOUT}?state=q`);
    const page = await browser.get('/e/development/logout');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('You are signed out');
  });

  it('POST (§2): sent on to the GET form with the same parameters', async () => {
    const { browser, idToken } = await signedIn();
    const posted = await browser.post('/e/development/logout', {
      id_token_hint: idToken,
      post_logout_redirect_uri: AFTER_LOGOUT,
      state: 'p',
    });
    expect(posted.status).toBe(303);
    const next = await browser.get(posted.headers.get('location') ?? '');
    expect(next.status).toBe(303);
    expect(next.headers.get('location')).toBe(`${AFTER_LOGOUT}?state=p`);
    expect(await isSignedIn(browser)).toBe(false);
  });
});
