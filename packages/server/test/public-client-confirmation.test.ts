/**
 * RFC 8252 §8.6: a client whose identity the token endpoint cannot prove (a public client) gets
 * no code without an interaction in the very request that asks for it. The attack: once the user
 * has consented to a public native client, any process on the machine opens the browser at
 * /authorize with its own loopback port and its own PKCE challenge. Before the fix it received a
 * code, and with it a refresh token, with nothing shown to the user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const LOOPBACK = 'http://127.0.0.1/callback';
const ATTACKER_PORT = 53111;
const ATTACKER_REDIRECT = `http://127.0.0.1:${ATTACKER_PORT}/callback`;
const WEB_REDIRECT = 'https://app.example.com/oauth/callback';

describe('public clients: no silent codes (RFC 8252 §8.6)', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let cli: { clientId: string };
  let firstParty: { clientId: string };
  let web: { clientId: string; clientSecret?: string };

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    cli = await t.client({ type: 'native', name: 'Victim CLI', redirectUris: [LOOPBACK] });
    firstParty = await t.client({
      type: 'native',
      name: 'First-party CLI',
      redirectUris: [LOOPBACK],
      skipConsent: true,
    });
    web = await t.client({
      type: 'web',
      name: 'Confidential Web',
      redirectUris: [WEB_REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    await t.user('erin@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  function query(
    clientId: string,
    redirectUri: string,
    challenge: string,
    extra: Record<string, string> = {},
  ): string {
    return new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid offline_access',
      state: 'attacker-state',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    }).toString();
  }

  /** The user signs in and consents to the client once, as they meant to. */
  async function consentedOnce(clientId: string, redirectUri: string): Promise<FormBrowser> {
    const browser = new FormBrowser(t.url);
    const location = await browser.authorize(
      Object.fromEntries(new URLSearchParams(query(clientId, redirectUri, pkce().challenge))),
      'erin@example.com',
      PASSWORD,
    );
    expect(new URL(location).searchParams.get('code')).toMatch(/^ghac_/);
    return browser;
  }

  /** Where /authorize sends the browser straight away, and whether that carries a code. */
  async function attack(
    browser: FormBrowser,
    clientId: string,
    redirectUri: string,
    extra: Record<string, string> = {},
  ) {
    const { verifier, challenge } = pkce();
    const response = await browser.get(
      `/e/development/authorize?${query(clientId, redirectUri, challenge, extra)}`,
    );
    const location = response.headers.get('location') ?? '';
    const code = location.startsWith(redirectUri)
      ? new URL(location).searchParams.get('code')
      : null;
    return { response, location, code, verifier };
  }

  /** What the attacking process got out of it: a code without the user, and tokens for it. */
  async function loot(
    clientId: string,
    redirectUri: string,
    got: { code: string | null; verifier: string },
  ) {
    const tokens =
      got.code === null
        ? undefined
        : await t.tokenRequest({
            grant_type: 'authorization_code',
            client_id: clientId,
            code: got.code,
            code_verifier: got.verifier,
            redirect_uri: redirectUri,
          });
    return {
      codeIssuedSilently: got.code !== null,
      refreshToken: typeof tokens?.refresh_token === 'string',
    };
  }

  it('another loopback port and PKCE challenge get no silent code: the confirmation page instead', async () => {
    const browser = await consentedOnce(cli.clientId, LOOPBACK);
    const got = await attack(browser, cli.clientId, ATTACKER_REDIRECT);
    const { response, location } = got;
    // Before the fix: 303 to http://127.0.0.1:53111/callback?code=ghac_…, redeemed for a refresh token.
    expect(await loot(cli.clientId, ATTACKER_REDIRECT, got)).toEqual({
      codeIssuedSilently: false,
      refreshToken: false,
    });
    expect(response.status).toBe(303);
    expect(location).toBe('/e/development/confirm');
    const page = await (await browser.follow(response)).last.text();
    expect(page).toContain('Victim CLI');
    expect(page).toContain('erin@example.com');
    expect(page).toContain(`an application on this computer, port ${ATTACKER_PORT}`);
  });

  it('prompt=none for a consented public client answers interaction_required, with state and iss, no code', async () => {
    const browser = await consentedOnce(cli.clientId, LOOPBACK);
    const got = await attack(browser, cli.clientId, ATTACKER_REDIRECT, { prompt: 'none' });
    const { location } = got;
    // Before the fix: a code and, redeemed with the attacker's verifier, a refresh token.
    expect(await loot(cli.clientId, ATTACKER_REDIRECT, got)).toEqual({
      codeIssuedSilently: false,
      refreshToken: false,
    });
    expect(location.startsWith(ATTACKER_REDIRECT)).toBe(true);
    const params = new URL(location).searchParams;
    expect(params.get('error')).toBe('interaction_required');
    expect(params.get('state')).toBe('attacker-state');
    expect(params.get('iss')).toBe(t.issuer('development'));
  });

  it('skip consent on a public client spares the scope list, never the confirmation', async () => {
    const browser = await consentedOnce(firstParty.clientId, LOOPBACK);
    const got = await attack(browser, firstParty.clientId, ATTACKER_REDIRECT);
    const { location } = got;
    expect(await loot(firstParty.clientId, ATTACKER_REDIRECT, got)).toEqual({
      codeIssuedSilently: false,
      refreshToken: false,
    });
    expect(location).toBe('/e/development/confirm');
    const silent = await attack(browser, firstParty.clientId, ATTACKER_REDIRECT, {
      prompt: 'none',
    });
    expect(new URL(silent.location).searchParams.get('error')).toBe('interaction_required');
  });

  it('a sign-in made elsewhere while the request waits (the device page) is no interaction with it', async () => {
    await consentedOnce(cli.clientId, LOOPBACK);
    // A browser without a session: the attacker's request waits behind the login page.
    const browser = new FormBrowser(t.url);
    const got = await attack(browser, cli.clientId, ATTACKER_REDIRECT);
    expect(got.location).toBe('/e/development/login');
    // Meanwhile the user signs in, in the same browser, for something else: a TV's device code.
    const tv = await t.client({ type: 'native', name: 'TV', redirectUris: [LOOPBACK] });
    const started = await fetch(`${t.issuer('development')}/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: tv.clientId, scope: 'openid' }),
    });
    const { user_code: userCode } = (await started.json()) as { user_code: string };
    await browser.approveDevice(userCode, 'erin@example.com', PASSWORD);
    // The attacker's process opens the waiting request again. Before the fix: a code, silently.
    const resumed = await browser.get('/e/development/authorize/continue');
    const location = resumed.headers.get('location') ?? '';
    expect(location).not.toContain('code=');
    expect(location).toBe('/e/development/confirm');
  });

  it('one confirmation (POST with the CSRF token) sends the code; without the token nothing', async () => {
    const browser = await consentedOnce(cli.clientId, LOOPBACK);
    const { response, verifier } = await attack(browser, cli.clientId, ATTACKER_REDIRECT);
    const page = await (await browser.follow(response)).last.text();

    const forged = await browser.post('/e/development/confirm', { decision: 'allow' });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('location')).toBeNull();

    const confirmed = await browser.post('/e/development/confirm', {
      ...FormBrowser.fields(page),
      decision: 'allow',
    });
    expect(confirmed.status).toBe(303);
    const location = new URL(confirmed.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(ATTACKER_REDIRECT);
    expect(location.searchParams.get('state')).toBe('attacker-state');
    expect(location.searchParams.get('iss')).toBe(t.issuer('development'));
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      client_id: cli.clientId,
      code: location.searchParams.get('code') ?? '',
      code_verifier: verifier,
      redirect_uri: ATTACKER_REDIRECT,
    });
    expect(tokens.status).toBe(200);

    // The request is answered: the form cannot be replayed.
    const again = await browser.post('/e/development/confirm', {
      ...FormBrowser.fields(page),
      decision: 'allow',
    });
    expect(again.headers.get('location') ?? '').not.toContain('code=');
  });

  it('Cancel sends access_denied to the client, with state and iss', async () => {
    const browser = await consentedOnce(cli.clientId, LOOPBACK);
    const { response } = await attack(browser, cli.clientId, ATTACKER_REDIRECT);
    const page = await (await browser.follow(response)).last.text();
    const cancelled = await browser.post('/e/development/confirm', {
      ...FormBrowser.fields(page),
      decision: 'deny',
    });
    const params = new URL(cancelled.headers.get('location') ?? '').searchParams;
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('code')).toBeNull();
    expect(params.get('state')).toBe('attacker-state');
    expect(params.get('iss')).toBe(t.issuer('development'));
  });

  it('a sign-in made for this very request is the interaction: no extra confirmation', async () => {
    await consentedOnce(cli.clientId, LOOPBACK);
    // A new browser: no session, so the user signs in for this request and gets the code.
    const fresh = new FormBrowser(t.url);
    const location = await fresh.authorize(
      Object.fromEntries(new URLSearchParams(query(cli.clientId, LOOPBACK, pkce().challenge))),
      'erin@example.com',
      PASSWORD,
    );
    expect(new URL(location).searchParams.get('code')).toMatch(/^ghac_/);
  });

  it('a confidential client keeps silent re-authorization, prompt=none included', async () => {
    const browser = await consentedOnce(web.clientId, WEB_REDIRECT);
    const again = await attack(browser, web.clientId, WEB_REDIRECT);
    expect(again.code).toMatch(/^ghac_/);
    const silent = await attack(browser, web.clientId, WEB_REDIRECT, { prompt: 'none' });
    expect(silent.code).toMatch(/^ghac_/);
  });

  it.each([{ prompt: 'login' }, { max_age: '0' }])(
    'a request that needs a sign-in (%o) gets no code from the consent page opened directly',
    async (extra) => {
      for (const [clientId, redirectUri] of [
        [cli.clientId, ATTACKER_REDIRECT],
        [web.clientId, WEB_REDIRECT],
      ] as const) {
        const browser = await consentedOnce(clientId, redirectUri);
        const got = await attack(browser, clientId, redirectUri, extra);
        expect(got.location).toBe('/e/development/login');
        // Instead of the password, the consent page's one click: no page, and no code for a POST.
        const page = await browser.get('/e/development/consent');
        expect(page.headers.get('location')).toBe('/e/development/login');
        const login = await (await browser.get('/e/development/login')).text();
        const answer = await browser.post('/e/development/consent', {
          ...FormBrowser.fields(login),
          decision: 'allow',
        });
        expect(answer.headers.get('location') ?? '').not.toContain('code=');
        expect(answer.headers.get('location')).toBe('/e/development/login');
      }
    },
  );
});
