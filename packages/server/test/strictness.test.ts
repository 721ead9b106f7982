/**
 * Strictness where the standards require it (issue #16, part 8): back-channel endpoints take only
 * form-encoded bodies (RFC 6749 §3.2), a response_mode other than query is refused up front, and
 * the OIDC discovery document is served at the path-inserted well-known location too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';

describe('strictness', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let web: { clientId: string; clientSecret?: string };
  let native: { clientId: string };
  const webRedirect = 'https://app.example.com/strict/callback';

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    web = await t.client({
      type: 'web',
      name: 'Strict Web',
      redirectUris: [webRedirect],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['reports:read'],
    });
    native = await t.client({
      type: 'native',
      name: 'Strict CLI',
      redirectUris: ['http://127.0.0.1/callback'],
      grantTypes: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
    });
    await t.user('strict@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const basic = () =>
    `Basic ${Buffer.from(`${web.clientId}:${web.clientSecret ?? ''}`).toString('base64')}`;

  /** POSTs `body` as JSON, the attack: the framework would parse it if the endpoint let it. */
  const postJson = (path: string, body: Record<string, string>, authorization?: string) =>
    fetch(`${t.issuer('development')}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: JSON.stringify(body),
    });

  it('the token endpoint refuses a JSON body that would otherwise issue a token (RFC 6749 §3.2)', async () => {
    const form = {
      grant_type: 'client_credentials',
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
      scope: 'reports:read',
    };
    const json = await postJson('/token', form);
    expect(json.status).toBe(400);
    const refusal = (await json.json()) as { error: string; error_description: string };
    expect(refusal.error).toBe('invalid_request');
    expect(refusal.error_description).toContain('application/x-www-form-urlencoded');
    expect(json.headers.get('cache-control')).toBe('no-store');
    // The same parameters form-encoded do issue one: only the encoding was refused.
    const ok = await t.tokenRequest(form);
    expect(ok.status).toBe(200);
    expect(ok.access_token).toBeTruthy();
  });

  it('the token endpoint refuses a body without a content type; a charset parameter is fine', async () => {
    const url = `${t.issuer('development')}/token`;
    const bare = await fetch(url, {
      method: 'POST',
      headers: { authorization: basic() },
      body: new Blob(['grant_type=client_credentials&scope=reports%3Aread']),
    });
    // A body of no declared type never reaches the endpoint: HTTP's own 415, still invalid_request.
    expect(bare.status).toBe(415);
    expect(await bare.json()).toMatchObject({ error: 'invalid_request' });
    const withCharset = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: basic(),
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
      },
      body: 'grant_type=client_credentials&scope=reports%3Aread',
    });
    expect(withCharset.status).toBe(200);
  });

  it('revocation, introspection and device authorization refuse JSON bodies too', async () => {
    const issued = await t.tokenRequest({
      grant_type: 'client_credentials',
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
      scope: 'reports:read',
    });
    const introspect = await postJson('/introspect', { token: issued.access_token }, basic());
    expect(introspect.status).toBe(400);
    expect(await introspect.json()).toMatchObject({ error: 'invalid_request' });
    const revoke = await postJson('/revoke', { token: issued.access_token }, basic());
    expect(revoke.status).toBe(400);
    expect(await revoke.json()).toMatchObject({ error: 'invalid_request' });
    // Nothing changed: the token is still active (the JSON revocation was not read).
    const active = await fetch(`${t.issuer('development')}/introspect`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: issued.access_token }),
    });
    expect(await active.json()).toMatchObject({ active: true });
    const device = await postJson('/device_authorization', { client_id: native.clientId });
    expect(device.status).toBe(400);
    expect(await device.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('response_mode=form_post is refused up front, back to the registered redirect URI in the query', async () => {
    const { challenge } = pkce();
    const browser = new FormBrowser(t.url);
    const query = new URLSearchParams({
      client_id: web.clientId,
      redirect_uri: webRedirect,
      response_type: 'code',
      scope: 'openid',
      state: 'st-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      response_mode: 'form_post',
    });
    const response = await browser.get(`/e/development/authorize?${query.toString()}`);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(webRedirect);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toContain('response_mode');
    expect(location.searchParams.get('state')).toBe('st-1');
    expect(location.searchParams.get('iss')).toBe(t.issuer('development'));
    // Before any sign-in page: no session, no login page shown.
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('response_mode with an unregistered redirect URI is a page, never a redirect', async () => {
    const { challenge } = pkce();
    const query = new URLSearchParams({
      client_id: web.clientId,
      redirect_uri: 'https://evil.example.com/cb',
      response_type: 'code',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      response_mode: 'form_post',
    });
    const response = await new FormBrowser(t.url).get(
      `/e/development/authorize?${query.toString()}`,
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('response_mode=query, the default made explicit, is accepted', async () => {
    const { challenge } = pkce();
    const query = new URLSearchParams({
      client_id: web.clientId,
      redirect_uri: webRedirect,
      response_type: 'code',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      response_mode: 'query',
    });
    const response = await new FormBrowser(t.url).get(
      `/e/development/authorize?${query.toString()}`,
    );
    // To the login page, not an error.
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/\/e\/development\/login/);
  });

  it('a POST to the authorization endpoint must be form-encoded (OIDC Core §3.1.2.1): JSON is a page', async () => {
    const { challenge } = pkce();
    const request = {
      client_id: web.clientId,
      redirect_uri: webRedirect,
      response_type: 'code',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const json = await fetch(`${t.issuer('development')}/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', accept: 'text/html' },
      body: JSON.stringify(request),
    });
    expect(json.status).toBe(400);
    expect(json.headers.get('location')).toBeNull();
    // The same request as a form goes on to sign-in.
    const form = await new FormBrowser(t.url).post('/e/development/authorize', request);
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toMatch(/\/e\/development\/login/);
  });

  it('serves OIDC discovery at the path-inserted form too, the same document', async () => {
    const inserted = await fetch(`${t.url}/.well-known/openid-configuration/e/development`);
    expect(inserted.status).toBe(200);
    const appended = await fetch(`${t.issuer('development')}/.well-known/openid-configuration`);
    expect(await inserted.json()).toEqual(await appended.json());
    const unknown = await fetch(`${t.url}/.well-known/openid-configuration/e/nowhere`);
    expect(unknown.status).toBe(404);
  });
});
