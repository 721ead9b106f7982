/**
 * The login kit's pushed authorization requests (RFC 9126) against a second, independent server:
 * panva's oidc-provider requiring them of every client (its metadata says
 * `require_pushed_authorization_requests`), with its development sign-in pages in Chromium.
 * Against Gatehouse: packages/cli/test/login-par.e2e.test.ts.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { loopbackLogin } from '../src/index.js';
import {
  signInAtOidcProvider,
  startOidcProvider,
  type OidcProviderServer,
} from './support/oidc-provider.js';

describe('@gatehouse/login pushing its request to oidc-provider', () => {
  let op: OidcProviderServer;
  let browser: Browser;

  beforeAll(async () => {
    op = await startOidcProvider({ requirePar: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await op.close();
  });

  it('signs in with the request pushed: the browser gets only client_id and request_uri', async () => {
    const metadata = (await (
      await fetch(`${op.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata.require_pushed_authorization_requests).toBe(true);
    let opened = '';
    let landing: Promise<string> = Promise.resolve('');
    const tokens = await loopbackLogin({
      issuer: op.issuer,
      clientId: op.clientId,
      allowHttpLoopbackIssuer: true,
      timeoutMs: 30_000,
      onAuthorizationUrl: (url) => (opened = url),
      openBrowser: (url) => (landing = signInAtOidcProvider(browser, url)),
    });
    await landing;
    const url = new URL(opened);
    expect(`${url.origin}${url.pathname}`).toBe(`${op.issuer}/auth`);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(tokens).toMatchObject({ issuer: op.issuer, clientId: 'cli', subject: 'olive' });
    // What was pushed reached the server whole: offline_access with prompt=consent, and the email.
    expect(tokens.refreshToken).toBeDefined();
    expect(tokens.email).toBe('olive@example.com');
  });
});
