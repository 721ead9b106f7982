/**
 * The login kit against a second, independent server: panva's oidc-provider, with its own
 * development sign-in pages filled in by headless Chromium.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { FileTokenStore, logout, loopbackLogin, validAccessToken } from '../src/index.js';

describe('@gatehouse/login against oidc-provider', () => {
  let server: Server;
  let issuer: string;
  let browser: Browser;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'cli',
          token_endpoint_auth_method: 'none',
          application_type: 'native',
          redirect_uris: ['http://127.0.0.1/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      ],
      features: { revocation: { enabled: true } },
      pkce: { required: () => true },
      scopes: ['openid', 'offline_access', 'email'],
      claims: { email: ['email'] },
      findAccount: (_ctx, id) =>
        Promise.resolve({
          accountId: id,
          claims: () => Promise.resolve({ sub: id, email: `${id}@example.com` }),
        }),
      issueRefreshToken: () => true,
      ttl: {
        AccessToken: 600,
        IdToken: 600,
        RefreshToken: 86_400,
        Grant: 86_400,
        Interaction: 600,
        Session: 86_400,
      },
    });
    const handle = provider.callback();
    server.on('request', (req, res) => {
      void handle(req, res);
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  });

  /** oidc-provider's development interactions: any login and password, then Continue. */
  async function person(url: string): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.fill('input[name=login]', 'olive');
    await page.fill('input[name=password]', 'anything');
    await page.click('button[type=submit]');
    await page.click('button[type=submit]');
    await page.waitForURL(/gatehouse-login-done/);
    await context.close();
  }

  it('signs in on an ephemeral loopback port, refreshes, and logs out with revocation', async () => {
    let landing: Promise<void> = Promise.resolve();
    const tokens = await loopbackLogin({
      issuer,
      clientId: 'cli',
      allowHttpLoopbackIssuer: true,
      scope: 'openid email offline_access',
      timeoutMs: 30_000,
      openBrowser: (url) => (landing = person(url)),
    });
    await landing;
    expect(tokens).toMatchObject({ issuer, clientId: 'cli', subject: 'olive' });
    expect(tokens.refreshToken).toBeDefined();

    const dir = join(await mkdtemp(join(tmpdir(), 'gatehouse-op-')), 'config');
    const store = new FileTokenStore(dir);
    await store.set('op', tokens);
    const refreshed = await validAccessToken(store, 'op', {
      lockDir: dir,
      now: () => Date.now() + 3_600_000,
    });
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(await logout(store, 'op')).toEqual({ revoked: true, known: true });
    expect(await store.list()).toEqual([]);
    const afterLogout = await fetch(`${issuer}/token`, {
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
