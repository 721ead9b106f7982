/**
 * The legacy exception (OAuth 2.1 §7.5.1): a confidential OIDC client an operator allowed to go
 * without PKCE when it sends a nonce. Off by default, never for public clients, and a code issued
 * without a challenge is redeemed only without a code_verifier (the PKCE downgrade attack,
 * RFC 9700 §4.8.2, is refused).
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const EMAIL = 'legacy@example.com';

describe('the legacy no-PKCE exception', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let legacy: { clientId: string; clientSecret?: string };
  let modern: { clientId: string; clientSecret?: string };
  let native: { clientId: string };
  const legacyRedirect = 'https://legacy.example.com/cb';
  const modernRedirect = 'https://modern.example.com/cb';
  const loopback = 'http://127.0.0.1/callback';

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    legacy = await t.client({ type: 'web', name: 'Legacy RP', redirectUris: [legacyRedirect] });
    modern = await t.client({ type: 'web', name: 'Modern RP', redirectUris: [modernRedirect] });
    native = await t.client({ type: 'native', name: 'CLI', redirectUris: [loopback] });
    const now = Date.now();
    await t.server.stores.clients.update(
      'development',
      legacy.clientId,
      { pkceExemptWithNonce: true },
      now,
    );
    // Written to the store directly, past the services' refusal: the exception must still not
    // apply to a public client.
    await t.server.stores.clients.update(
      'development',
      native.clientId,
      { pkceExemptWithNonce: true },
      now,
    );
    await t.user(EMAIL, PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const basic = (client: { clientId: string; clientSecret?: string }) =>
    `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret ?? ''}`).toString('base64')}`;

  async function token(form: Record<string, string>, authorization?: string) {
    const response = await fetch(`${t.issuer('development')}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: new URLSearchParams(form),
    });
    return {
      status: response.status,
      body: (await response.json()) as {
        id_token?: string;
        access_token?: string;
        error?: string;
        error_description?: string;
      },
    };
  }

  /** Authorize, sign in, consent; returns the redirect back to the client. */
  async function authorize(query: Record<string, string>): Promise<URL> {
    return new URL(await new FormBrowser(t.url).authorize(query, EMAIL, PASSWORD));
  }

  const legacyQuery = (extra: Record<string, string> = {}) => ({
    client_id: legacy.clientId,
    redirect_uri: legacyRedirect,
    response_type: 'code',
    scope: 'openid email',
    state: 'legacy-state',
    nonce: 'legacy-nonce-123',
    ...extra,
  });

  it('an exempt confidential client with openid and a nonce gets a code without PKCE and redeems it without a verifier', async () => {
    const back = await authorize(legacyQuery());
    const code = back.searchParams.get('code');
    expect(code).toBeTruthy();
    const redeemed = await token(
      { grant_type: 'authorization_code', code: code ?? '', redirect_uri: legacyRedirect },
      basic(legacy),
    );
    expect(redeemed.status).toBe(200);
    // The nonce, not PKCE, binds the ID token to the browser's session.
    expect(decodeJwt(redeemed.body.id_token ?? '').nonce).toBe('legacy-nonce-123');
    // The audit log shows which codes went without PKCE.
    const [issued] = await t.server.stores.audit.tail({
      type: 'code.issued',
      clientId: legacy.clientId,
      limit: 1,
    });
    expect(issued?.data).toMatchObject({ pkce: false });
  });

  it('PKCE downgrade: a code_verifier sent for a code issued without a challenge is refused, and does not burn the code', async () => {
    const back = await authorize(legacyQuery());
    const code = back.searchParams.get('code') ?? '';
    const { verifier } = pkce();
    const downgraded = await token(
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: legacyRedirect,
      },
      basic(legacy),
    );
    expect(downgraded.status).toBe(400);
    expect(downgraded.body.error).toBe('invalid_grant');
    expect(downgraded.body.error_description).toContain('without a code_challenge');
    expect(downgraded.body.access_token).toBeUndefined();
    // The request broke a code rule, so the code was not spent (storage/spend-rules.ts).
    const rightful = await token(
      { grant_type: 'authorization_code', code, redirect_uri: legacyRedirect },
      basic(legacy),
    );
    expect(rightful.status).toBe(200);
  });

  it('an exempt client that does send PKCE is held to it: no verifier, no token', async () => {
    const { verifier, challenge } = pkce();
    const back = await authorize(
      legacyQuery({ code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    const code = back.searchParams.get('code') ?? '';
    const [issued] = await t.server.stores.audit.tail({
      type: 'code.issued',
      clientId: legacy.clientId,
      limit: 1,
    });
    expect(issued?.data).not.toHaveProperty('pkce');
    const without = await token(
      { grant_type: 'authorization_code', code, redirect_uri: legacyRedirect },
      basic(legacy),
    );
    expect(without.status).toBe(400);
    expect(without.body.error).toBe('invalid_grant');
    expect(without.body.error_description).toContain('code_verifier is required');
    const withIt = await token(
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: legacyRedirect,
      },
      basic(legacy),
    );
    expect(withIt.status).toBe(200);
  });

  it('the exception needs a nonce and the openid scope', async () => {
    const browser = new FormBrowser(t.url);
    const noNonce = legacyQuery();
    delete (noNonce as Record<string, string>).nonce;
    const first = await browser.get(
      `/e/development/authorize?${new URLSearchParams(noNonce).toString()}`,
    );
    expect(first.status).toBe(303);
    const refused = new URL(first.headers.get('location') ?? '');
    expect(refused.origin).toBe('https://legacy.example.com');
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('error_description')).toContain('code_challenge');

    const oauthOnly = await browser.get(
      `/e/development/authorize?${new URLSearchParams(legacyQuery({ scope: 'email' })).toString()}`,
    );
    expect(new URL(oauthOnly.headers.get('location') ?? '').searchParams.get('error')).toBe(
      'invalid_request',
    );
  });

  it('is off by default: a confidential client without it must use PKCE', async () => {
    const response = await new FormBrowser(t.url).get(
      `/e/development/authorize?${new URLSearchParams({
        ...legacyQuery(),
        client_id: modern.clientId,
        redirect_uri: modernRedirect,
      }).toString()}`,
    );
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.origin).toBe('https://modern.example.com');
    expect(location.searchParams.get('error')).toBe('invalid_request');
    // Nor may it leave out the verifier at the token endpoint.
    const noVerifier = await token(
      { grant_type: 'authorization_code', code: 'ghac_whatever', redirect_uri: modernRedirect },
      basic(modern),
    );
    expect(noVerifier.status).toBe(400);
    expect(noVerifier.body.error).toBe('invalid_request');
    expect(noVerifier.body.error_description).toContain('code_verifier is required');
  });

  it('never applies to a public client, even with the flag in its record', async () => {
    const response = await new FormBrowser(t.url).get(
      `/e/development/authorize?${new URLSearchParams({
        ...legacyQuery(),
        client_id: native.clientId,
        redirect_uri: 'http://127.0.0.1:41234/callback',
      }).toString()}`,
    );
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.origin).toBe('http://127.0.0.1:41234');
    expect(location.searchParams.get('error')).toBe('invalid_request');
    const noVerifier = await token({
      grant_type: 'authorization_code',
      client_id: native.clientId,
      code: 'ghac_whatever',
      redirect_uri: 'http://127.0.0.1:41234/callback',
    });
    expect(noVerifier.status).toBe(400);
    expect(noVerifier.body.error).toBe('invalid_request');
  });

  it('works through PAR too: the pushed request is checked the same way', async () => {
    const pushed = await fetch(`${t.issuer('development')}/par`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(legacy),
      },
      body: new URLSearchParams({
        redirect_uri: legacyRedirect,
        response_type: 'code',
        scope: 'openid',
        nonce: 'pushed-nonce',
      }),
    });
    expect(pushed.status).toBe(201);
    const { request_uri: requestUri } = (await pushed.json()) as { request_uri: string };
    const back = await authorize({ client_id: legacy.clientId, request_uri: requestUri });
    const redeemed = await token(
      {
        grant_type: 'authorization_code',
        code: back.searchParams.get('code') ?? '',
        redirect_uri: legacyRedirect,
      },
      basic(legacy),
    );
    expect(redeemed.status).toBe(200);
    expect(decodeJwt(redeemed.body.id_token ?? '').nonce).toBe('pushed-nonce');
  });
});
