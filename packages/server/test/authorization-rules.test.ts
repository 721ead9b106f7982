/**
 * The authorization endpoint's remaining rules: prompt, max_age, login_hint, resource, an
 * omitted redirect_uri, first-party clients, disabled users, malformed requests, and what the
 * server log may contain.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptLimiter } from '../src/services/attempt-limiter.js';
import { setUserDisabled } from '../src/services/users.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const LOOPBACK = 'http://127.0.0.1/callback';

describe('authorization endpoint rules', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let cli: { clientId: string };
  const log: string[] = [];

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { logStream: { write: (line) => void log.push(line) } });
    cli = await t.client({ type: 'native', name: 'Rules CLI', redirectUris: [LOOPBACK] });
    await t.user('dave@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const query = (extra: Record<string, string> = {}) =>
    new URLSearchParams({
      client_id: cli.clientId,
      redirect_uri: LOOPBACK,
      response_type: 'code',
      scope: 'openid',
      state: 's1',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      ...extra,
    }).toString();

  async function signedIn(): Promise<FormBrowser> {
    const browser = new FormBrowser(t.url);
    await browser.authorize(
      Object.fromEntries(new URLSearchParams(query())),
      'dave@example.com',
      PASSWORD,
    );
    return browser;
  }

  function errorOf(response: Response): URLSearchParams {
    expect(response.status).toBe(303);
    return new URL(response.headers.get('location') ?? '').searchParams;
  }

  it('answers prompt=none without a session with login_required, state and iss', async () => {
    const params = errorOf(
      await new FormBrowser(t.url).get(`/e/development/authorize?${query({ prompt: 'none' })}`),
    );
    expect(Object.fromEntries(params)).toMatchObject({
      error: 'login_required',
      state: 's1',
      iss: t.issuer('development'),
    });
  });

  it('answers prompt=none with a session but no consent for new scopes with consent_required', async () => {
    const browser = await signedIn();
    const params = errorOf(
      await browser.get(
        `/e/development/authorize?${query({ prompt: 'none', scope: 'openid email' })}`,
      ),
    );
    expect(params.get('error')).toBe('consent_required');
  });

  it('issues a code silently with prompt=none when signed in and consented, to a confidential client only', async () => {
    // RFC 8252 §8.6: a public client's identity cannot be proven, so prompt=none gets
    // interaction_required for it (no code); a confidential client is still answered silently.
    const browser = await signedIn();
    const forPublic = await browser.get(`/e/development/authorize?${query({ prompt: 'none' })}`);
    const publicParams = new URL(forPublic.headers.get('location') ?? '').searchParams;
    expect(publicParams.get('code')).toBeNull();
    expect(publicParams.get('error')).toBe('interaction_required');

    const redirectUri = 'https://rules.example.com/cb';
    const web = await t.client({ type: 'web', name: 'Rules Web', redirectUris: [redirectUri] });
    const webQuery = (extra: Record<string, string> = {}) =>
      query({ client_id: web.clientId, redirect_uri: redirectUri, ...extra });
    await browser.authorize(
      Object.fromEntries(new URLSearchParams(webQuery())),
      'dave@example.com',
      PASSWORD,
    );
    const response = await browser.get(`/e/development/authorize?${webQuery({ prompt: 'none' })}`);
    expect(new URL(response.headers.get('location') ?? '').searchParams.get('code')).toMatch(
      /^ghac_/,
    );
  });

  it('asks to sign in again with prompt=login, and when max_age has passed', async () => {
    const browser = await signedIn();
    expect(
      (await browser.get(`/e/development/authorize?${query({ prompt: 'login' })}`)).headers.get(
        'location',
      ),
    ).toBe('/e/development/login');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(
      (await browser.get(`/e/development/authorize?${query({ max_age: '0' })}`)).headers.get(
        'location',
      ),
    ).toBe('/e/development/login');
  });

  it('asks for consent again with prompt=consent', async () => {
    const browser = await signedIn();
    expect(
      (await browser.get(`/e/development/authorize?${query({ prompt: 'consent' })}`)).headers.get(
        'location',
      ),
    ).toBe('/e/development/consent');
  });

  it('pre-fills the sign-in form with login_hint, escaped', async () => {
    const browser = new FormBrowser(t.url);
    const { last } = await browser.follow(
      await browser.get(
        `/e/development/authorize?${query({ login_hint: 'dave@example.com"><script>' })}`,
      ),
    );
    const page = await last.text();
    expect(page).toContain('value="dave@example.com&quot;&gt;&lt;script&gt;"');
  });

  it('binds the access token to the RFC 8707 resource', async () => {
    const { verifier, challenge } = pkce();
    const browser = new FormBrowser(t.url);
    const location = await browser.authorize(
      {
        ...Object.fromEntries(new URLSearchParams(query())),
        code_challenge: challenge,
        resource: 'https://api.example.com/',
      },
      'dave@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: LOOPBACK,
      client_id: cli.clientId,
    });
    expect(decodeJwt(tokens.access_token).aud).toBe('https://api.example.com/');
  });

  it('refuses a resource with a fragment, sent back to the client', async () => {
    const params = errorOf(
      await new FormBrowser(t.url).get(
        `/e/development/authorize?${query({ resource: 'https://api.example.com/#x' })}`,
      ),
    );
    expect(params.get('error')).toBe('invalid_target');
  });

  it('refuses other response types and request objects, sent back to the client', async () => {
    expect(
      errorOf(
        await new FormBrowser(t.url).get(
          `/e/development/authorize?${query({ response_type: 'token' })}`,
        ),
      ).get('error'),
    ).toBe('unsupported_response_type');
    expect(
      errorOf(
        await new FormBrowser(t.url).get(`/e/development/authorize?${query({ request: 'eyJ' })}`),
      ).get('error'),
    ).toBe('invalid_request');
    expect(
      errorOf(
        await new FormBrowser(t.url).get(
          `/e/development/authorize?${query({ scope: 'openid admin' })}`,
        ),
      ).get('error'),
    ).toBe('invalid_scope');
  });

  it('shows an error page for a repeated parameter: nothing about the request can be trusted', async () => {
    const response = await new FormBrowser(t.url).get(
      `/e/development/authorize?${query()}&redirect_uri=https://evil.example/`,
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  describe('an omitted redirect_uri', () => {
    it('is allowed for a single fixed https redirect URI', async () => {
      const web = await t.client({
        type: 'web',
        name: 'Single',
        redirectUris: ['https://single.example.com/cb'],
      });
      const response = await new FormBrowser(t.url).get(
        `/e/development/authorize?${new URLSearchParams({ client_id: web.clientId, response_type: 'code', code_challenge: pkce().challenge, code_challenge_method: 'S256', prompt: 'none' }).toString()}`,
      );
      expect(response.headers.get('location')).toMatch(
        /^https:\/\/single\.example\.com\/cb\?error=login_required/,
      );
    });

    it('is refused with an error page for a loopback redirect URI, whose port varies', async () => {
      const response = await new FormBrowser(t.url).get(
        `/e/development/authorize?${new URLSearchParams({ client_id: cli.clientId, response_type: 'code', code_challenge: pkce().challenge, code_challenge_method: 'S256' }).toString()}`,
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    });
  });

  it('skips the consent page for a first-party client', async () => {
    const firstParty = await t.client({
      type: 'native',
      name: 'First party',
      redirectUris: [LOOPBACK],
      skipConsent: true,
    });
    const browser = new FormBrowser(t.url);
    const location = await browser.authorize(
      {
        client_id: firstParty.clientId,
        redirect_uri: LOOPBACK,
        response_type: 'code',
        scope: 'openid email',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      },
      'dave@example.com',
      PASSWORD,
    );
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1\/callback\?code=/);
  });

  it('stops a disabled user: sign-in fails and refresh tokens stop working', async () => {
    await t.user('erin@example.com', PASSWORD);
    const { verifier, challenge } = pkce();
    const browser = new FormBrowser(t.url);
    const location = await browser.authorize(
      {
        client_id: cli.clientId,
        redirect_uri: LOOPBACK,
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'erin@example.com',
      PASSWORD,
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      code_verifier: verifier,
      client_id: cli.clientId,
    });
    await setUserDisabled(t.ctx, 'development', 'erin@example.com', true);
    const refresh = await t.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
      client_id: cli.clientId,
    });
    expect(refresh).toMatchObject({ error: 'invalid_grant' });
    const userinfo = await fetch(`${t.issuer('development')}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(userinfo.status).toBe(401);
    // The session ended too: a new authorization asks to sign in, and the sign-in fails.
    expect((await browser.get(`/e/development/authorize?${query()}`)).headers.get('location')).toBe(
      '/e/development/login',
    );
  });

  it('answers an unknown environment with 404', async () => {
    const response = await fetch(`${t.url}/e/nowhere/.well-known/openid-configuration`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });

  it('never writes a code, a token, a state or a password into the server log', async () => {
    const { verifier, challenge } = pkce();
    const browser = new FormBrowser(t.url);
    const location = await browser.authorize(
      {
        client_id: cli.clientId,
        redirect_uri: LOOPBACK,
        response_type: 'code',
        scope: 'openid',
        state: 'state-secret-123',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'dave@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: cli.clientId,
    });
    await fetch(`${t.issuer('development')}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    const all = log.join('');
    expect(all).toContain('"path":"/e/development/token"');
    for (const secret of [
      code,
      verifier,
      challenge,
      tokens.access_token,
      'state-secret-123',
      PASSWORD,
    ])
      expect(all).not.toContain(secret);
  });
});

describe('AttemptLimiter', () => {
  it('allows the limit, blocks past it until the window has passed, and forgets on reset', () => {
    const limiter = new AttemptLimiter(3, 1000);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfter('k', 100 + i)).toBe(0);
      limiter.fail('k', 100 + i);
    }
    expect(limiter.retryAfter('k', 200)).toBe(900);
    expect(limiter.retryAfter('other', 200)).toBe(0);
    expect(limiter.retryAfter('k', 1101)).toBe(0);
    limiter.fail('k', 1200);
    limiter.reset('k');
    expect(limiter.retryAfter('k', 1201)).toBe(0);
  });
});
