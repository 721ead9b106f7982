/**
 * The login kit with DPoP (RFC 9449) against panva's oidc-provider, an independent server that
 * implements it: the tokens come back bound to the profile's key (the server's own record of the
 * access token names its thumbprint), refuse to work as bearer tokens, refresh and revoke with
 * proofs, and the server's nonces (§8) are answered.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import {
  authorizationHeaders,
  FileTokenStore,
  login,
  logout,
  validAccessToken,
} from '../src/index.js';
import {
  signInAtOidcProvider,
  startOidcProvider,
  type OidcProviderServer,
} from './support/oidc-provider.js';

async function tokenStore(): Promise<{ store: FileTokenStore; dir: string }> {
  const dir = join(await mkdtemp(join(tmpdir(), 'gatehouse-op-dpop-')), 'config');
  return { store: new FileTokenStore(dir), dir };
}

describe.each([
  { name: 'without nonces', dpopNonce: false, requirePar: false },
  { name: 'with server nonces and pushed requests', dpopNonce: true, requirePar: true },
])('@gatehouse/login with DPoP against oidc-provider, $name', ({ dpopNonce, requirePar }) => {
  let op: OidcProviderServer;
  let browser: Browser;

  beforeAll(async () => {
    op = await startOidcProvider({ dpopNonce, requirePar });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await op.close();
  });

  it('binds the code and the tokens to the profile key; refresh and logout use it; a bearer use is refused', async () => {
    const { store, dir } = await tokenStore();
    let authorizationUrl = '';
    let landing: Promise<string> = Promise.resolve('');
    const tokens = await login(store, 'op', {
      issuer: op.issuer,
      clientId: op.clientId,
      allowHttpLoopbackIssuer: true,
      timeoutMs: 30_000,
      onAuthorizationUrl: (url) => (authorizationUrl = url),
      openBrowser: (url) => (landing = signInAtOidcProvider(browser, url)),
    });
    await landing;
    const key = await store.getDpopKey('op');
    expect(key?.jkt).toMatch(/^[\w-]{43}$/);
    expect(tokens.tokenType.toLowerCase()).toBe('dpop');
    expect(tokens.dpopJkt).toBe(key?.jkt);
    // The server's record of the access token: bound to this key (cnf.jkt).
    expect(await op.jktOf(tokens.accessToken)).toBe(key?.jkt);
    // RFC 9449 §10: the code was bound too, in the URL or by the pushed request's proof.
    const url = new URL(authorizationUrl);
    if (requirePar) expect(url.searchParams.has('request_uri')).toBe(true);
    else expect(url.searchParams.get('dpop_jkt')).toBe(key?.jkt);
    // The email came from UserInfo, asked with the DPoP scheme and a proof.
    expect(tokens.email).toBe('olive@example.com');
    // As a bearer token it is refused.
    expect(await op.accepts(tokens.accessToken)).toBe(false);

    // Refresh (as if the access token were about to expire): with a proof of the same key, and
    // the new access token is bound to it again.
    await store.set('op', { ...tokens, expiresAt: 0 });
    const refreshed = await validAccessToken(store, 'op', { lockDir: dir });
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.dpopJkt).toBe(key?.jkt);
    expect(await op.jktOf(refreshed.accessToken)).toBe(key?.jkt);

    // The headers a script sends to UserInfo (an API like any other here) work once.
    const me = `${op.issuer}/me`;
    const headers = await authorizationHeaders(store, 'op', { url: me }, { lockDir: dir });
    const call = (nonce?: string) =>
      authorizationHeaders(
        store,
        'op',
        { url: me, ...(nonce === undefined ? {} : { nonce }) },
        {
          lockDir: dir,
        },
      ).then((h) => fetch(me, { headers: { authorization: h.authorization, dpop: h.dpop ?? '' } }));
    let answer = await fetch(me, {
      headers: { authorization: headers.authorization, dpop: headers.dpop ?? '' },
    });
    if (answer.status === 401 && answer.headers.get('dpop-nonce') !== null)
      answer = await call(answer.headers.get('dpop-nonce') ?? '');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ sub: 'olive' });

    // Logout revokes (with proofs) and forgets the key with the tokens.
    expect(await logout(store, 'op')).toEqual({ known: true, revoked: true });
    expect(await store.getDpopKey('op')).toBeUndefined();
    expect(await op.jktOf(refreshed.accessToken)).toBeUndefined();
  });
});
