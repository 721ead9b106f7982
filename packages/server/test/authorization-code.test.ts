/**
 * The authorization code flow over real HTTP, with the attacks it must refuse. The hosted pages
 * are driven as plain forms here; browser.e2e.test.ts drives them in Chromium.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { withoutRefreshGrace } from './support/refresh-grace.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

describe('authorization code flow', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let native: { clientId: string };
  let web: { clientId: string; clientSecret?: string };
  const loopback = 'http://127.0.0.1/callback';
  const webRedirect = 'https://app.example.com/oauth/callback';

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    native = await t.client({ type: 'native', name: 'Test CLI', redirectUris: [loopback] });
    web = await t.client({
      type: 'web',
      name: 'Test Web',
      redirectUris: [webRedirect],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      // Issue #13: client_credentials grants only the scopes a client is registered for.
      scopes: ['reports:read'],
    });
    await t.user('alice@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const token = async (
    form: Record<string, string>,
    basic?: { id: string; secret: string },
    environment = 'development',
  ) => {
    const response = await fetch(`${t.issuer(environment)}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(basic === undefined
          ? {}
          : {
              authorization: `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`,
            }),
      },
      body: new URLSearchParams(form),
    });
    return {
      status: response.status,
      body: (await response.json()) as Tokens & { error?: string; error_description?: string },
      headers: response.headers,
    };
  };

  async function codeFor(client: string, redirectUri: string, extra: Record<string, string> = {}) {
    const { verifier, challenge } = pkce();
    const browser = new FormBrowser(t.url);
    const location = await browser.authorize(
      {
        client_id: client,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: 'openid email offline_access',
        state: 'st-1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      },
      'alice@example.com',
      PASSWORD,
    );
    const url = new URL(location);
    return { url, code: url.searchParams.get('code') ?? '', verifier, browser };
  }

  it('issues a code with state and iss, and exchanges it once for RFC 9068 tokens', async () => {
    const requested = 'http://127.0.0.1:53682/callback';
    const { url, code, verifier } = await codeFor(native.clientId, requested);
    expect(url.href.startsWith(`${requested}?`)).toBe(true);
    expect(url.searchParams.get('state')).toBe('st-1');
    expect(url.searchParams.get('iss')).toBe(t.issuer('development'));

    const { status, body, headers } = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: requested,
      client_id: native.clientId,
    });
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 600,
      scope: 'openid email offline_access',
    });
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({
      iss: t.issuer('development'),
      aud: t.issuer('development'),
      client_id: native.clientId,
      scope: 'openid email offline_access',
    });
    expect(typeof claims.jti).toBe('string');
    expect(
      JSON.parse(Buffer.from(body.access_token.split('.')[0] ?? '', 'base64url').toString()),
    ).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    expect(decodeJwt(body.id_token ?? '')).toMatchObject({
      aud: native.clientId,
      email: 'alice@example.com',
    });
  });

  it('remembers consent: a second authorization of a confidential client goes straight back with a code', async () => {
    const request = (client: string, redirectUri: string) => ({
      client_id: client,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    const browser = new FormBrowser(t.url);
    await browser.authorize(request(web.clientId, webRedirect), 'alice@example.com', PASSWORD);
    const again = await browser.get(
      `/e/development/authorize?${new URLSearchParams(request(web.clientId, webRedirect)).toString()}`,
    );
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toMatch(
      /^https:\/\/app\.example\.com\/oauth\/callback\?code=/,
    );

    // A public client's consent spares the scope list, not the confirmation (RFC 8252 §8.6).
    await browser.authorize(request(native.clientId, loopback), 'alice@example.com', PASSWORD);
    const confirm = await browser.get(
      `/e/development/authorize?${new URLSearchParams(request(native.clientId, loopback)).toString()}`,
    );
    expect(confirm.status).toBe(303);
    expect(confirm.headers.get('location')).toBe('/e/development/confirm');
    const page = await (await browser.follow(confirm)).last.text();
    expect(page).not.toContain('name="decision" value="allow">Allow');
    const { location } = await browser.follow(
      await browser.post('/e/development/confirm', {
        ...FormBrowser.fields(page),
        decision: 'allow',
      }),
    );
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1\/callback\?code=/);
  });

  describe('PKCE (RFC 7636, S256 only)', () => {
    it.each([
      ['a missing challenge', {}],
      ['the plain method', { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }],
      ['a challenge without a method (plain by default)', { code_challenge: 'a'.repeat(43) }],
    ])(
      'refuses %s with invalid_request sent back with state and iss',
      async (_name, pkceParams) => {
        const browser = new FormBrowser(t.url);
        const response = await browser.get(
          `/e/development/authorize?${new URLSearchParams({ client_id: native.clientId, redirect_uri: loopback, response_type: 'code', state: 'xyz', ...pkceParams }).toString()}`,
        );
        expect(response.status).toBe(303);
        const location = new URL(response.headers.get('location') ?? '');
        expect(location.origin + location.pathname).toBe(loopback);
        expect(location.searchParams.get('error')).toBe('invalid_request');
        expect(location.searchParams.get('state')).toBe('xyz');
        expect(location.searchParams.get('iss')).toBe(t.issuer('development'));
      },
    );

    it('refuses a wrong code_verifier', async () => {
      const { code } = await codeFor(native.clientId, loopback);
      const { status, body } = await token({
        grant_type: 'authorization_code',
        code,
        code_verifier: pkce().verifier,
        redirect_uri: loopback,
        client_id: native.clientId,
      });
      expect(status).toBe(400);
      expect(body.error).toBe('invalid_grant');
    });
  });

  it('refuses a replayed code and revokes the tokens issued from it', async () => {
    const { code, verifier } = await codeFor(native.clientId, loopback);
    const first = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: loopback,
      client_id: native.clientId,
    });
    expect(first.status).toBe(200);
    const replay = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: loopback,
      client_id: native.clientId,
    });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    const refresh = await token({
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token ?? '',
      client_id: native.clientId,
    });
    expect(refresh.body.error).toBe('invalid_grant');
    const userinfo = await fetch(`${t.issuer('development')}/userinfo`, {
      headers: { authorization: `Bearer ${first.body.access_token}` },
    });
    expect(userinfo.status).toBe(401);
    const audit = await t.ctx.stores.audit.tail({ type: 'code.replayed' });
    expect(audit.length).toBeGreaterThan(0);
    expect(JSON.stringify(audit)).not.toContain(code);
  });

  it('refuses a code presented by another client', async () => {
    const { code, verifier } = await codeFor(native.clientId, loopback);
    const { status, body } = await token(
      { grant_type: 'authorization_code', code, code_verifier: verifier },
      { id: web.clientId, secret: web.clientSecret ?? '' },
    );
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
  });

  it('refuses a code with another redirect_uri than the authorization request', async () => {
    const { code, verifier } = await codeFor(native.clientId, 'http://127.0.0.1:4444/callback');
    const { body } = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1:5555/callback',
      client_id: native.clientId,
    });
    expect(body.error).toBe('invalid_grant');
  });

  it('refuses a request that breaks a code rule without spending the code', async () => {
    // RFC 6749 §10.5: a party without the verifier, or another client, cannot burn the code (nor
    // turn the rightful redemption into a replay that revokes its tokens).
    const { code, verifier } = await codeFor(native.clientId, loopback);
    const wrongVerifier = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: pkce().verifier,
      redirect_uri: loopback,
      client_id: native.clientId,
    });
    expect(wrongVerifier.body).toMatchObject({
      error: 'invalid_grant',
      error_description: 'code_verifier does not match the code_challenge',
    });
    const otherClient = await token(
      { grant_type: 'authorization_code', code, code_verifier: verifier },
      { id: web.clientId, secret: web.clientSecret ?? '' },
    );
    expect(otherClient.body).toMatchObject({
      error: 'invalid_grant',
      error_description: 'the authorization code was issued to another client',
    });
    const rightful = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: loopback,
      client_id: native.clientId,
    });
    expect(rightful.status).toBe(200);
  });

  it('refuses a refresh request that breaks a rule without rotating the token', async () => {
    const { code, verifier } = await codeFor(native.clientId, loopback);
    const first = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: loopback,
      client_id: native.clientId,
    });
    const refresh = first.body.refresh_token ?? '';
    const wider = await token({
      grant_type: 'refresh_token',
      refresh_token: refresh,
      scope: 'openid email offline_access profile',
      client_id: native.clientId,
    });
    expect(wider.body).toMatchObject({
      error: 'invalid_scope',
      error_description: 'the requested scope is wider than the refresh token grants',
    });
    const otherClient = await token(
      { grant_type: 'refresh_token', refresh_token: refresh },
      { id: web.clientId, secret: web.clientSecret ?? '' },
    );
    expect(otherClient.body).toMatchObject({
      error: 'invalid_grant',
      error_description: 'the refresh token was issued to another client',
    });
    // Neither spent it: a narrower scope (checked after reading) rotates it now.
    const narrower = await token({
      grant_type: 'refresh_token',
      refresh_token: refresh,
      scope: 'openid',
      client_id: native.clientId,
    });
    expect(narrower.status).toBe(200);
    expect(narrower.body.scope).toBe('openid');
  });

  it('rotates refresh tokens and revokes the family when a rotated one is reused', async () => {
    // With the grace window off: within it, this client's second use would get a successor
    // (refresh-grace.test.ts); after it, or without it, a reuse ends the grant.
    await withoutRefreshGrace(t.ctx, async () => {
      const { code, verifier } = await codeFor(native.clientId, loopback);
      const first = await token({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: loopback,
        client_id: native.clientId,
      });
      const second = await token({
        grant_type: 'refresh_token',
        refresh_token: first.body.refresh_token ?? '',
        client_id: native.clientId,
      });
      expect(second.status).toBe(200);
      expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
      const reuse = await token({
        grant_type: 'refresh_token',
        refresh_token: first.body.refresh_token ?? '',
        client_id: native.clientId,
      });
      expect(reuse.body.error).toBe('invalid_grant');
      // The family is gone: even the newest refresh token and access token no longer work.
      const third = await token({
        grant_type: 'refresh_token',
        refresh_token: second.body.refresh_token ?? '',
        client_id: native.clientId,
      });
      expect(third.body.error).toBe('invalid_grant');
      const userinfo = await fetch(`${t.issuer('development')}/userinfo`, {
        headers: { authorization: `Bearer ${second.body.access_token}` },
      });
      expect(userinfo.status).toBe(401);
    });
  });

  it('answers userinfo, and introspection and revocation for an authenticated client', async () => {
    const { code, verifier } = await codeFor(web.clientId, webRedirect);
    const basic = { id: web.clientId, secret: web.clientSecret ?? '' };
    const tokens = await token(
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: webRedirect,
      },
      basic,
    );
    expect(tokens.status).toBe(200);
    const userinfo = await fetch(`${t.issuer('development')}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.body.access_token}` },
    });
    expect(await userinfo.json()).toMatchObject({ email: 'alice@example.com' });

    const introspect = async (value: string) =>
      (await (
        await fetch(`${t.issuer('development')}/introspect`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            token: value,
            client_id: basic.id,
            client_secret: basic.secret,
          }),
        })
      ).json()) as { active: boolean; client_id?: string };
    expect(await introspect(tokens.body.access_token)).toMatchObject({
      active: true,
      client_id: web.clientId,
    });
    expect(await introspect(tokens.body.refresh_token ?? '')).toMatchObject({
      active: true,
      token_type: 'refresh_token',
    });
    expect(await introspect('not-a-token')).toEqual({ active: false });

    const revoke = await fetch(`${t.issuer('development')}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens.body.refresh_token ?? '',
        client_id: basic.id,
        client_secret: basic.secret,
      }),
    });
    expect(revoke.status).toBe(200);
    expect(await introspect(tokens.body.refresh_token ?? '')).toEqual({ active: false });
    expect(await introspect(tokens.body.access_token)).toEqual({ active: false });
  });

  it('refuses introspection by a public client', async () => {
    const response = await fetch(`${t.issuer('development')}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'x', client_id: native.clientId }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('issues client_credentials tokens to web clients only', async () => {
    const ok = await token(
      { grant_type: 'client_credentials', scope: 'reports:read' },
      { id: web.clientId, secret: web.clientSecret ?? '' },
    );
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token)).toMatchObject({
      sub: web.clientId,
      client_id: web.clientId,
      scope: 'reports:read',
    });
    const nativeTry = await token({ grant_type: 'client_credentials', client_id: native.clientId });
    expect(nativeTry.body.error).toBe('unauthorized_client');
    const badSecret = await token(
      { grant_type: 'client_credentials' },
      { id: web.clientId, secret: 'nope' },
    );
    expect(badSecret.status).toBe(401);
    expect(badSecret.body.error).toBe('invalid_client');
    expect(badSecret.headers.get('www-authenticate')).toContain('Basic');
  });

  describe('environments are separate issuers', () => {
    it('refuses a development token at the production userinfo endpoint', async () => {
      const { code, verifier } = await codeFor(native.clientId, loopback);
      const tokens = await token({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: loopback,
        client_id: native.clientId,
      });
      const response = await fetch(`${t.issuer('production')}/userinfo`, {
        headers: { authorization: `Bearer ${tokens.body.access_token}` },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('invalid_token');
    });

    it('says so when a development secret is used in production', async () => {
      const { body } = await token(
        { grant_type: 'client_credentials' },
        { id: web.clientId, secret: web.clientSecret ?? '' },
        'production',
      );
      expect(body.error).toBe('invalid_client');
      expect(body.error_description).toContain('belongs to the development environment');
    });
  });

  describe('redirect URI refusals', () => {
    it('shows an error page and never redirects for an unregistered redirect_uri', async () => {
      const browser = new FormBrowser(t.url);
      const response = await browser.get(
        `/e/development/authorize?${new URLSearchParams({ client_id: native.clientId, redirect_uri: 'http://127.0.0.1:5000/callback/', response_type: 'code', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256' }).toString()}`,
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      const page = await response.text();
      expect(page).toContain('Sign-in stopped');
      // Development shows the operator the closest registered URI and the difference.
      expect(page).toContain(
        'Closest registered redirect URI: <code>http://127.0.0.1/callback</code>',
      );
      expect(page).toContain('trailing slash');
      const [refusal] = await t.ctx.stores.audit.tail({ type: 'redirect.refused', limit: 1 });
      expect(refusal?.data).toMatchObject({
        policyCode: 'redirect_uri_mismatch',
        closest: 'http://127.0.0.1/callback',
        kind: 'trailing-slash',
      });
    });

    it('shows no operator detail outside development', async () => {
      const prodClient = await t.client({
        environment: 'production',
        type: 'native',
        name: 'Prod CLI',
        redirectUris: [loopback],
      });
      const browser = new FormBrowser(t.url);
      const response = await browser.get(
        `/e/production/authorize?${new URLSearchParams({ client_id: prodClient.clientId, redirect_uri: 'http://localhost:5000/callback', response_type: 'code', code_challenge: pkce().challenge, code_challenge_method: 'S256' }).toString()}`,
      );
      expect(response.status).toBe(400);
      const page = await response.text();
      expect(page).not.toContain('For the developer');
      expect(page).not.toContain('127.0.0.1');
    });

    it('shows an error page for an unknown client, escaping what it repeats', async () => {
      const browser = new FormBrowser(t.url);
      const response = await browser.get(
        `/e/development/authorize?client_id=%3Cscript%3Ealert(1)%3C/script%3E&redirect_uri=https://evil.example/`,
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      const page = await response.text();
      expect(page).not.toContain('<script>');
      expect(page).toContain('&lt;script&gt;');
    });
  });

  describe('the sign-in page', () => {
    async function loginPage() {
      const browser = new FormBrowser(t.url);
      const { challenge } = pkce();
      const { last } = await browser.follow(
        await browser.get(
          `/e/development/authorize?${new URLSearchParams({ client_id: native.clientId, redirect_uri: loopback, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' }).toString()}`,
        ),
      );
      const html = await last.text();
      return { browser, html };
    }

    it('refuses a form without its CSRF token', async () => {
      const { browser } = await loginPage();
      const response = await browser.post('/e/development/login', {
        email: 'alice@example.com',
        password: PASSWORD,
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('set-cookie') ?? '').not.toContain('gh_session');
    });

    it('gives the same answer for a wrong password and an unknown account', async () => {
      const wrong = await loginPage();
      const a = await wrong.browser.post('/e/development/login', {
        ...FormBrowser.fields(wrong.html),
        email: 'alice@example.com',
        password: 'wrong password!',
      });
      const unknown = await loginPage();
      const b = await unknown.browser.post('/e/development/login', {
        ...FormBrowser.fields(unknown.html),
        email: 'nobody@example.com',
        password: 'wrong password!',
      });
      expect(a.status).toBe(401);
      expect(b.status).toBe(401);
      const message = (html: string) =>
        /<p class="error" role="alert" id="login-error">([^<]*)<\/p>/.exec(html)?.[1];
      expect(message(await a.text())).toBe('The email or password is incorrect.');
      expect(message(await b.text())).toBe('The email or password is incorrect.');
    });

    it('sends security headers and a session cookie scoped to the environment', async () => {
      const { browser, html } = await loginPage();
      const response = await browser.post('/e/development/login', {
        ...FormBrowser.fields(html),
        email: 'alice@example.com',
        password: PASSWORD,
      });
      expect(response.status).toBe(303);
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith('gh_session=')) ?? '';
      expect(cookie).toMatch(/Path=\/e\/development/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      const page = await fetch(`${t.url}/`);
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    });

    it('throttles repeated failures for one account with a clear message', async () => {
      await t.user('bob@example.com', PASSWORD);
      let last: Response | undefined;
      for (let i = 0; i < 6; i++) {
        const { browser, html } = await loginPage();
        last = await browser.post('/e/development/login', {
          ...FormBrowser.fields(html),
          email: 'bob@example.com',
          password: 'not the password',
        });
      }
      expect(last?.status).toBe(429);
      expect(await last?.text()).toContain('Too many failed attempts');
      // Even the right password waits until the window has passed.
      const { browser, html } = await loginPage();
      const right = await browser.post('/e/development/login', {
        ...FormBrowser.fields(html),
        email: 'bob@example.com',
        password: PASSWORD,
      });
      expect(right.status).toBe(429);
    });
  });

  it('never writes a code, token or password into the audit log', async () => {
    const { code, verifier } = await codeFor(native.clientId, loopback);
    const tokens = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: loopback,
      client_id: native.clientId,
    });
    const log = JSON.stringify(await t.ctx.stores.audit.tail({ limit: 1000 }));
    for (const secret of [
      code,
      verifier,
      tokens.body.access_token,
      tokens.body.refresh_token ?? 'x',
      PASSWORD,
      web.clientSecret ?? 'x',
    ]) {
      expect(log).not.toContain(secret);
    }
    expect(await t.ctx.stores.audit.verify()).toMatchObject({ ok: true });
  });
});

describe.each(DATABASES)('code redemption race on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('gives exactly one of 50 concurrent redemptions a token', async () => {
    const client = await t.client({
      type: 'native',
      name: 'Race',
      redirectUris: ['http://127.0.0.1/cb'],
    });
    await t.user('racer@example.com', PASSWORD);
    const { verifier, challenge } = pkce();
    const browser = new FormBrowser(t.url);
    const location = await browser.authorize(
      {
        client_id: client.clientId,
        redirect_uri: 'http://127.0.0.1/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'racer@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        fetch(`${t.issuer('development')}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            code_verifier: verifier,
            redirect_uri: 'http://127.0.0.1/cb',
            client_id: client.clientId,
          }),
        }).then((r) => r.status),
      ),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(1);
    expect(results.filter((s) => s === 400)).toHaveLength(49);
  });
});
