/**
 * The login kit against a second, independent server: panva's oidc-provider with its defaults
 * where they matter (test/support/oidc-provider.ts), its development sign-in pages filled in by
 * headless Chromium.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { FileTokenStore, logout, loopbackLogin, validAccessToken } from '../src/index.js';
import {
  signInAtOidcProvider,
  startOidcProvider,
  type OidcProviderServer,
} from './support/oidc-provider.js';

/** The payload of a JWT, unverified: only to look at what the server put in it. */
function claimsOf(jwt: string | undefined): Record<string, unknown> {
  return JSON.parse(
    Buffer.from((jwt ?? '').split('.')[1] ?? '', 'base64url').toString('utf8'),
  ) as Record<string, unknown>;
}

async function tokenStore(): Promise<{ store: FileTokenStore; dir: string }> {
  const dir = join(await mkdtemp(join(tmpdir(), 'gatehouse-op-')), 'config');
  return { store: new FileTokenStore(dir), dir };
}

describe('@gatehouse/login against oidc-provider', () => {
  let op: OidcProviderServer;
  let browser: Browser;

  beforeAll(async () => {
    op = await startOidcProvider();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await op.close();
  });

  async function login() {
    let authorizationUrl = '';
    let landing: Promise<string> = Promise.resolve('');
    const tokens = await loopbackLogin({
      issuer: op.issuer,
      clientId: op.clientId,
      allowHttpLoopbackIssuer: true,
      timeoutMs: 30_000,
      onAuthorizationUrl: (url) => (authorizationUrl = url),
      openBrowser: (url) => (landing = signInAtOidcProvider(browser, url)),
    });
    await landing;
    return { tokens, authorizationUrl: new URL(authorizationUrl) };
  }

  it('asks offline_access with prompt=consent, so a refresh token is issued; the email comes from UserInfo', async () => {
    const { tokens, authorizationUrl } = await login();
    // OIDC Core §11: without prompt=consent oidc-provider drops offline_access (no refresh token).
    expect(authorizationUrl.searchParams.get('scope')).toBe('openid email offline_access');
    expect(authorizationUrl.searchParams.get('prompt')).toBe('consent');
    expect(tokens).toMatchObject({ issuer: op.issuer, clientId: 'cli', subject: 'olive' });
    expect(tokens.scope?.split(' ')).toContain('offline_access');
    expect(tokens.refreshToken).toBeDefined();
    // The ID token says who, not the email (OIDC Core §5.4): that came from UserInfo.
    expect(claimsOf(tokens.idToken)).not.toHaveProperty('email');
    expect(tokens.email).toBe('olive@example.com');
  });

  it('refreshes once the access token has expired at the server, and logs out with revocation', async () => {
    // Short-lived (within the kit's 60 s refresh margin, so it refreshes), yet long enough for
    // the sign-in's own UserInfo call with the new token on a loaded machine: with 1 s it could
    // expire before that call and the sign-in ended without the email.
    op.setAccessTokenTtl(10);
    let signedIn: Awaited<ReturnType<typeof login>>;
    try {
      signedIn = await login();
    } finally {
      op.setAccessTokenTtl(600);
    }
    const { tokens } = signedIn;
    const { store, dir } = await tokenStore();
    await store.set('op', tokens);
    // Wait for the server itself to refuse the token: expiry as the server sees it, no clock
    // arithmetic here.
    while (await op.accepts(tokens.accessToken))
      await new Promise((resolve) => setTimeout(resolve, 100));

    const refreshed = await validAccessToken(store, 'op', { lockDir: dir });
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(await op.accepts(refreshed.accessToken)).toBe(true);
    // What the refresh did not say is kept from the sign-in.
    expect(refreshed).toMatchObject({ subject: 'olive', email: 'olive@example.com' });
    expect(refreshed.refreshToken).toBeDefined();
    expect(await store.get('op')).toEqual(refreshed);

    expect(await logout(store, 'op')).toEqual({ revoked: true, known: true });
    expect(await store.list()).toEqual([]);
    expect(await op.accepts(refreshed.accessToken)).toBe(false);
    const afterLogout = await fetch(`${op.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshed.refreshToken ?? '',
        client_id: 'cli',
      }),
    });
    expect(await afterLogout.json()).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('@gatehouse/login against a server without a revocation endpoint', () => {
  let op: OidcProviderServer;
  let browser: Browser;

  beforeAll(async () => {
    op = await startOidcProvider({ revocation: false });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await op.close();
  });

  it('says the server offers no revocation, and removes the local tokens', async () => {
    const metadata = (await (
      await fetch(`${op.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata).not.toHaveProperty('revocation_endpoint');
    let landing: Promise<string> = Promise.resolve('');
    const tokens = await loopbackLogin({
      issuer: op.issuer,
      clientId: op.clientId,
      allowHttpLoopbackIssuer: true,
      timeoutMs: 30_000,
      openBrowser: (url) => (landing = signInAtOidcProvider(browser, url)),
    });
    await landing;
    const { store } = await tokenStore();
    await store.set('op', tokens);
    expect(await logout(store, 'op')).toEqual({
      known: true,
      revoked: false,
      notRevoked: 'not_offered',
    });
    expect(await store.list()).toEqual([]);
  });

  it('tells an unreachable server apart', async () => {
    const { store } = await tokenStore();
    const gone = await startOidcProvider();
    await gone.close();
    await store.set('gone', {
      issuer: gone.issuer,
      clientId: 'cli',
      accessToken: 'a',
      tokenType: 'bearer',
      expiresAt: 0,
      allowHttpLoopbackIssuer: true,
    });
    expect(await logout(store, 'gone')).toEqual({
      known: true,
      revoked: false,
      notRevoked: 'unreachable',
    });
    expect(await store.list()).toEqual([]);
  });
});
