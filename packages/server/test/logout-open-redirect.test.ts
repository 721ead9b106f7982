/**
 * The logout endpoint as an open redirector (RFC 9700 §4.11.2). With open dynamic registration
 * (the development default) or Client ID Metadata Documents, anyone can register a client with
 * any https post_logout_redirect_uri: a link to /logout naming that client would send any visitor
 * there at once. A self-registered client's return address is therefore a link on a page (as
 * RP-Initiated Logout 1.0 §3 allows) unless a valid id_token_hint issued to that client ends this
 * very browser's session (a hint alone could be the registrant's own, kept for the purpose);
 * operator-registered clients are redirected as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const EVIL = 'https://evil.example.net/landing';
const EVIL_REDIRECT = 'https://evil.example.net/cb';
const OWN_AFTER = 'https://app.example.com/signed-out';

describe('the logout endpoint is no open redirector for self-registered clients', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let own: { clientId: string };
  let dynamicId = '';
  const documentId = 'https://cimd.example.net/client.json';

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    own = await t.client({
      type: 'web',
      name: 'App',
      redirectUris: ['https://app.example.com/cb'],
      postLogoutRedirectUris: [OWN_AFTER],
      grantTypes: ['authorization_code'],
      skipConsent: true,
    });
    await t.user('gina@example.com', PASSWORD);
    // The attacker: open dynamic registration, any https return address.
    const registered = await fetch(`${t.url}/e/development/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Gatehouse',
        redirect_uris: [EVIL_REDIRECT],
        post_logout_redirect_uris: [EVIL],
        token_endpoint_auth_method: 'none',
        application_type: 'web',
      }),
    });
    expect(registered.status).toBe(201);
    dynamicId = ((await registered.json()) as { client_id: string }).client_id;
    // A client described by its own metadata document: the same record, another kind.
    const record = await t.server.stores.clients.get('development', dynamicId);
    if (record === undefined) throw new Error('the registered client is missing');
    await t.server.stores.clients.create({
      ...record,
      clientId: documentId,
      kind: 'metadata_document',
    });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const logout = (browser: FormBrowser, params: Record<string, string>) =>
    browser.get(`/e/development/logout?${new URLSearchParams(params).toString()}`);

  /** The signed-out page offers the address as a named link, flagged as the client's claim. */
  async function expectLinkPage(response: Response, clientId: string, href: string) {
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    const page = await response.text();
    expect(page).toContain('You are signed out');
    expect(page).toContain('id="unverified"');
    expect(page).toContain(clientId);
    expect(page).toContain('An application calling itself “Gatehouse”');
    expect(page).toMatch(/id="return"[^]*evil\.example\.net/);
    expect(page).toContain(`href="${href.replaceAll('&', '&amp;')}"`);
  }

  it('attack: a visitor who is not signed in is shown a link, never sent to the attacker’s address', async () => {
    for (const clientId of [dynamicId, documentId]) {
      const response = await logout(new FormBrowser(t.url), {
        client_id: clientId,
        post_logout_redirect_uri: EVIL,
        state: 's1',
      });
      await expectLinkPage(response, clientId, `${EVIL}?state=s1`);
    }
  });

  it('attack: the same as a cross-site form POST', async () => {
    const browser = new FormBrowser(t.url);
    const posted = await browser.post('/e/development/logout', {
      client_id: dynamicId,
      post_logout_redirect_uri: EVIL,
    });
    expect(posted.status).toBe(303);
    const { location, last } = await browser.follow(posted);
    expect(location).toBeUndefined();
    await expectLinkPage(last, dynamicId, EVIL);
  });

  it('attack: a signed-in visitor who confirms is signed out and shown the link, not redirected', async () => {
    const browser = new FormBrowser(t.url);
    const { challenge } = pkce();
    await browser.authorize(
      {
        client_id: own.clientId,
        redirect_uri: 'https://app.example.com/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'gina@example.com',
      PASSWORD,
    );
    const ask = await logout(browser, { client_id: dynamicId, post_logout_redirect_uri: EVIL });
    const page = await ask.text();
    expect(page).toContain('Sign out of Gatehouse?');
    expect(page).toMatch(/offered a link to\s*<strong>evil\.example\.net/);
    // The confirmation form's CSP does not let it post its way to the attacker either.
    expect(ask.headers.get('content-security-policy') ?? '').not.toContain('evil.example.net');
    const stay = await browser.post('/e/development/logout/confirm', {
      _csrf: FormBrowser.csrf(page),
      client_id: dynamicId,
      post_logout_redirect_uri: EVIL,
      decision: 'stay',
    });
    expect(stay.status).toBe(200);
    expect(await stay.text()).toContain('id="unverified"');
    const confirmed = await browser.post('/e/development/logout/confirm', {
      _csrf: FormBrowser.csrf(page),
      client_id: dynamicId,
      post_logout_redirect_uri: EVIL,
      decision: 'logout',
    });
    await expectLinkPage(confirmed, dynamicId, EVIL);
  });

  it('a valid id_token_hint issued to the self-registered client redirects only when it ends this browser’s session', async () => {
    const browser = new FormBrowser(t.url);
    const { verifier, challenge } = pkce();
    const location = await browser.authorize(
      {
        client_id: dynamicId,
        redirect_uri: EVIL_REDIRECT,
        response_type: 'code',
        scope: 'openid',
        nonce: 'n',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'gina@example.com',
      PASSWORD,
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      redirect_uri: EVIL_REDIRECT,
      client_id: dynamicId,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    const hint = tokens.id_token ?? '';
    // Signed in: the hint names this browser's user, so no question and straight back.
    const out = await logout(browser, {
      id_token_hint: hint,
      post_logout_redirect_uri: EVIL,
      state: 's2',
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe(`${EVIL}?state=s2`);
    // Attack: the registrant keeps its own ID token (an expired hint is valid, §2) and sends it
    // in a link to any other visitor: no session of the hint's ends, so the address is a link.
    const again = await logout(new FormBrowser(t.url), {
      id_token_hint: hint,
      post_logout_redirect_uri: EVIL,
    });
    await expectLinkPage(again, dynamicId, EVIL);
  });

  it('an operator-registered client is redirected as before, with state', async () => {
    const response = await logout(new FormBrowser(t.url), {
      client_id: own.clientId,
      post_logout_redirect_uri: OWN_AFTER,
      state: 's3',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${OWN_AFTER}?state=s3`);
  });

  it('DoS: a state longer than 2 KB is refused with a page, never copied into a Location header', async () => {
    const browser = new FormBrowser(t.url);
    // Under the form body limit (a larger body is refused whole), over any URL a server accepts.
    const huge = 'x'.repeat(30_000);
    const posted = await browser.post('/e/development/logout', {
      client_id: own.clientId,
      post_logout_redirect_uri: OWN_AFTER,
      state: huge,
    });
    expect(posted.status).toBe(400);
    expect(posted.headers.get('location')).toBeNull();
    expect(await posted.text()).toContain('too large');
    const justOver = await logout(browser, {
      client_id: own.clientId,
      post_logout_redirect_uri: OWN_AFTER,
      state: 'x'.repeat(2049),
    });
    expect(justOver.status).toBe(400);
    expect(justOver.headers.get('location')).toBeNull();
    // 2 KB itself is carried back.
    const limit = 'y'.repeat(2048);
    const ok = await logout(browser, {
      client_id: own.clientId,
      post_logout_redirect_uri: OWN_AFTER,
      state: limit,
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`${OWN_AFTER}?state=${limit}`);
  });
});
