/**
 * ID tokens as relying parties expect them (issue #16 parts 1 and 2): RS256 by default (OIDC
 * Registration §2) and ES256 for a client that asks, verified against the published JWKS by jose;
 * azp, sid, amr, at_hash (OIDC Core §3.1.3.6), email_verified, acr when acr_values asks; the
 * same sid and amr after a refresh and after the device flow; userinfo's email_verified.
 */
import { createHash } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, setUserEmailVerified } from '../src/services/users.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const REDIRECT = 'https://app.example.com/callback';
const PASSWORD = 'correct horse battery staple';

/** OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token. */
const atHash = (token: string) =>
  createHash('sha256').update(token, 'ascii').digest().subarray(0, 16).toString('base64url');

describe.each(DATABASES)('ID token claims on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let web: { clientId: string; clientSecret?: string };
  let es256: { clientId: string; clientSecret?: string };
  let userId: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    const spec = {
      type: 'web' as const,
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code' as const, 'refresh_token' as const],
      skipConsent: true,
    };
    web = await t.client({ ...spec, name: 'RP' });
    es256 = await t.client({ ...spec, name: 'Own app', idTokenSignedResponseAlg: 'ES256' });
    userId = await t.user('claims@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const verify = async (idToken: string, clientId: string): Promise<JWTPayload> => {
    const jwks = (await (await fetch(`${t.issuer('development')}/jwks`)).json()) as Parameters<
      typeof createLocalJWKSet
    >[0];
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(jwks), {
      issuer: t.issuer('development'),
      audience: clientId,
      algorithms: ['RS256', 'ES256'],
    });
    return payload;
  };

  /** The code flow in `browser`; returns the token response. */
  const signIn = async (
    browser: FormBrowser,
    client: { clientId: string; clientSecret?: string },
    extra: Record<string, string> = {},
  ) => {
    const { verifier, challenge } = pkce();
    const location = await browser.authorize(
      {
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: REDIRECT,
        scope: 'openid email offline_access',
        state: 's',
        nonce: 'n-1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      },
      'claims@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    const reply = await t.tokenRequest({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_id: client.clientId,
      client_secret: client.clientSecret ?? '',
    });
    expect(reply.status).toBe(200);
    return reply;
  };

  it('signs with RS256 by default and carries azp, sid, amr, at_hash and email_verified', async () => {
    const browser = new FormBrowser(t.url);
    const tokens = await signIn(browser, web);
    const idToken = tokens.id_token ?? '';
    expect(decodeProtectedHeader(idToken)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const claims = await verify(idToken, web.clientId);
    expect(claims).toMatchObject({
      sub: userId,
      aud: web.clientId,
      azp: web.clientId,
      nonce: 'n-1',
      amr: ['pwd'],
      email: 'claims@example.com',
      email_verified: false,
      at_hash: atHash(tokens.access_token),
    });
    expect(claims.sid).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{16,}$/));
    // No acr unless asked for.
    expect(claims).not.toHaveProperty('acr');
    // Access tokens stay ES256.
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe('ES256');

    // The same browser session, another sign-in to the same app: the same sid.
    const again = await verify((await signIn(browser, web)).id_token ?? '', web.clientId);
    expect(again.sid).toBe(claims.sid);
    // Another browser is another session.
    const other = await verify(
      (await signIn(new FormBrowser(t.url), web)).id_token ?? '',
      web.clientId,
    );
    expect(other.sid).not.toBe(claims.sid);
  });

  it('keeps sid and amr in refreshed ID tokens, with the new access token’s at_hash', async () => {
    const first = await signIn(new FormBrowser(t.url), web);
    const original = decodeJwt(first.id_token ?? '');
    const refreshed = await t.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token ?? '',
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
    });
    expect(refreshed.status).toBe(200);
    const claims = await verify(refreshed.id_token ?? '', web.clientId);
    expect(claims).toMatchObject({
      sid: original.sid,
      amr: ['pwd'],
      azp: web.clientId,
      at_hash: atHash(refreshed.access_token),
    });
    // And once more, from the rotated refresh token.
    const twice = await t.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: refreshed.refresh_token ?? '',
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
    });
    expect(decodeJwt(twice.id_token ?? '')).toMatchObject({ sid: original.sid, amr: ['pwd'] });
  });

  it('signs with ES256 for a client that registered it', async () => {
    const tokens = await signIn(new FormBrowser(t.url), es256);
    expect(decodeProtectedHeader(tokens.id_token ?? '').alg).toBe('ES256');
    expect(await verify(tokens.id_token ?? '', es256.clientId)).toMatchObject({
      azp: es256.clientId,
      at_hash: atHash(tokens.access_token),
    });
  });

  it('answers acr_values with the class the sign-in reached, kept on refresh', async () => {
    const tokens = await signIn(new FormBrowser(t.url), web, {
      acr_values: 'urn:example:mfa urn:gatehouse:acr:password',
    });
    expect(await verify(tokens.id_token ?? '', web.clientId)).toMatchObject({
      acr: 'urn:gatehouse:acr:password',
    });
    const refreshed = await t.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
    });
    expect(decodeJwt(refreshed.id_token ?? '').acr).toBe('urn:gatehouse:acr:password');
    const metadata = (await (
      await fetch(`${t.issuer('development')}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata.acr_values_supported).toEqual([
      'urn:gatehouse:acr:password',
      'urn:gatehouse:acr:impersonation',
    ]);
    // Each listed and tested here (act: impersonation.test.ts; name: with the profile scope).
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['RS256', 'ES256']);
    expect([...(metadata.claims_supported as string[])].sort()).toEqual(
      [
        'sub',
        'iss',
        'aud',
        'azp',
        'exp',
        'iat',
        'auth_time',
        'nonce',
        'sid',
        'amr',
        'acr',
        'at_hash',
        'act',
        'email',
        'email_verified',
        'name',
      ].sort(),
    );
  });

  it('says email_verified as the operator set it, in the ID token and at userinfo', async () => {
    await setUserEmailVerified(t.ctx, 'development', 'claims@example.com', true);
    const tokens = await signIn(new FormBrowser(t.url), web);
    expect(decodeJwt(tokens.id_token ?? '').email_verified).toBe(true);
    const info = (await (
      await fetch(`${t.issuer('development')}/userinfo`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      })
    ).json()) as Record<string, unknown>;
    expect(info).toEqual({ sub: userId, email: 'claims@example.com', email_verified: true });
    await setUserEmailVerified(t.ctx, 'development', 'claims@example.com', false);
    const after = await signIn(new FormBrowser(t.url), web);
    expect(decodeJwt(after.id_token ?? '').email_verified).toBe(false);
    const entries = await t.ctx.stores.audit.tail({ type: 'user.email_verified' });
    expect(entries[0]?.userId).toBe(userId);
  });

  it('releases name with profile, email and email_verified only with email; exp, iat and auth_time always', async () => {
    await createUser(t.ctx, {
      environment: 'development',
      email: 'named@example.com',
      password: PASSWORD,
      name: 'Named Person',
    });
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        response_type: 'code',
        client_id: web.clientId,
        redirect_uri: REDIRECT,
        scope: 'openid profile',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'named@example.com',
      PASSWORD,
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
    });
    const claims = await verify(tokens.id_token ?? '', web.clientId);
    expect(claims.name).toBe('Named Person');
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('email_verified');
    expect(claims).not.toHaveProperty('nonce');
    expect(claims.exp).toBe((claims.iat ?? 0) + 600);
    expect(claims.auth_time).toEqual(expect.any(Number));
  });

  it('gives the device flow’s ID token the approving session’s sid and amr', async () => {
    const device = await t.client({
      type: 'native',
      name: 'TV',
      redirectUris: ['http://127.0.0.1/callback'],
      grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'],
    });
    const start = (await (
      await fetch(`${t.issuer('development')}/device_authorization`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: device.clientId, scope: 'openid email' }),
      })
    ).json()) as { device_code: string; user_code: string };
    const browser = new FormBrowser(t.url);
    // A session first, through the code flow, so its sid is known.
    const session = decodeJwt((await signIn(browser, web)).id_token ?? '');
    await browser.approveDevice(start.user_code, 'claims@example.com', PASSWORD);
    const tokens = await t.tokenRequest({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: start.device_code,
      client_id: device.clientId,
    });
    expect(tokens.status).toBe(200);
    expect(await verify(tokens.id_token ?? '', device.clientId)).toMatchObject({
      sid: session.sid,
      amr: ['pwd'],
      azp: device.clientId,
    });
  });
});
