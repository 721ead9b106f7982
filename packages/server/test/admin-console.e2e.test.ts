/**
 * The admin console in real headless Chromium, against a real server and database: an operator
 * signs in, registers a client with live redirect validation, registers a refused redirect from a
 * real failed request, promotes to production, impersonates a user through the real authorization
 * endpoint, ends it, and finds all of it in the audit log. Screenshots of the main pages go to
 * test-artifacts/console/ (not committed).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { validateRedirectUri } from '@gatehouse/redirect-policy';
import { decodeJwt } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperator } from '../src/services/operators.js';
import { consolePage, launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { pkce, startTestServer, type TestServer } from './support/server.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const OPERATOR = { email: 'olga@ops.example', password: 'olga operator pass 1' };
const APP_ORIGIN = 'https://review-app.staging.example.com';

describe('admin console in Chromium', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let clientId = '';
  let clientSecret = '';
  let accessToken = '';

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await createOperator(t.ctx, { ...OPERATOR, role: 'admin' });
    await t.user('dana@example.com', 'dana password 123', 'staging');
    browser = await launchChromium();
    page = await consolePage(browser);
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  it('signs an operator in and shows the environments side by side', async () => {
    await page.goto(`${t.url}/admin/`);
    await page.getByLabel('Email').fill(OPERATOR.email);
    await page.getByLabel('Password').fill('wrong password 1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('incorrect');
    await page.getByLabel('Password').fill(OPERATOR.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Environments' }).waitFor();
    await expect.poll(() => page.getByTestId('environment-card').count()).toBe(3);
    await shot('environments');
  });

  it('creates a client, showing the policy’s message for an invalid redirect URI as it is typed', async () => {
    await page.goto(`${t.url}/admin/environments/staging`);
    await page.getByLabel('Client name').fill('Review App');
    await page.getByLabel('Client type').selectOption('web');
    const uris = page.getByLabel('Redirect URIs');
    await uris.fill('http://review-app.staging.example.com/callback');
    const expected = validateRedirectUri('http://review-app.staging.example.com/callback', {
      environment: 'staging',
      clientType: 'web',
    });
    expect(expected.ok).toBe(false);
    const line = page.getByTestId('policy-line').first();
    await expect.poll(() => line.getAttribute('data-state')).toBe('refused');
    expect(await line.textContent()).toContain(expected.ok ? '' : expected.message);
    expect(await page.getByRole('button', { name: 'Create client' }).isDisabled()).toBe(true);

    await uris.fill(`${APP_ORIGIN}/callback\nhttps://*.review.example.com/callback`);
    await expect
      .poll(() => page.getByTestId('policy-line').first().getAttribute('data-state'))
      .toBe('ok');
    await page.getByRole('button', { name: 'Create client' }).click();
    const secret = page.getByTestId('client-secret');
    await secret.waitFor();
    clientSecret = (await secret.textContent())?.trim() ?? '';
    expect(clientSecret).toMatch(/^ghs_staging_/);
    await shot('client-created');
    await page.getByRole('link', { name: 'Open client Review App' }).click();
    await page.getByRole('heading', { level: 1, name: 'Review App' }).waitFor();
    clientId = /clients\/([^/?#]+)/.exec(page.url())?.[1] ?? '';
    expect(clientId).toMatch(/^ghc_staging_/);
  });

  it('validates a redirect URI live on the client page, then registers a valid one', async () => {
    const input = page.getByLabel('Redirect URI', { exact: true });
    const bad = `${APP_ORIGIN}/other#fragment`;
    await input.fill(bad);
    const message = page.getByTestId('policy-message');
    await expect.poll(() => message.getAttribute('data-state')).toBe('refused');
    const verdict = validateRedirectUri(bad, { environment: 'staging', clientType: 'web' });
    expect(await message.textContent()).toContain(verdict.ok ? '' : verdict.message);
    const add = page.getByRole('button', { name: 'Add redirect URI' });
    expect(await add.isDisabled()).toBe(true);

    await input.fill(`${APP_ORIGIN}/other`);
    await expect.poll(() => message.getAttribute('data-state')).toBe('ok');
    await add.click();
    await expect
      .poll(async () => (await page.getByTestId('redirect-uri').allTextContents()).join('\n'))
      .toContain(`${APP_ORIGIN}/other`);
    expect((await t.ctx.stores.clients.get('staging', clientId))?.redirectUris).toContain(
      `${APP_ORIGIN}/other`,
    );
  });

  it('edits the client’s settings, as `gatehouse clients update` does', async () => {
    const settings = page.getByRole('region', { name: 'Settings' });
    await settings.getByLabel('Name').fill('Review App (staging)');
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('heading', { level: 1, name: 'Review App (staging)' }).waitFor();
    expect((await t.ctx.stores.clients.get('staging', clientId))?.name).toBe(
      'Review App (staging)',
    );
    // The server's rules hold here too: a web client cannot take the device grant.
    await settings.getByLabel('urn:ietf:params:oauth:grant-type:device_code').check();
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await expect
      .poll(() => settings.getByRole('alert').textContent())
      .toContain('native clients only');
    expect((await t.ctx.stores.clients.get('staging', clientId))?.grantTypes).not.toContain(
      'urn:ietf:params:oauth:grant-type:device_code',
    );
  });

  it('sets logout and PKCE settings, warning while the no-PKCE exception is on', async () => {
    const section = page.getByTestId('protocol-settings');
    const save = section.getByRole('button', { name: 'Save sign-in settings' });
    const warning = page.getByTestId('pkce-exemption-warning');
    expect(await warning.count()).toBe(0);
    // The server's message for a post-logout URI the redirect policy refuses, nothing saved.
    await section.getByLabel('Post-logout redirect URIs').fill('http://review-app.example.com/bye');
    await save.click();
    await expect
      .poll(() => section.getByRole('alert').textContent())
      .toContain('post-logout redirect URI http://review-app.example.com/bye refused');
    expect((await t.ctx.stores.clients.get('staging', clientId))?.postLogoutRedirectUris).toEqual(
      [],
    );

    await section.getByLabel('Post-logout redirect URIs').fill(`${APP_ORIGIN}/signed-out`);
    await section.getByLabel(/Allow sign-in without PKCE/).check();
    await save.click();
    await warning.waitFor();
    expect(await warning.getAttribute('role')).toBe('alert');
    expect(await warning.textContent()).toContain('PKCE is not required of this client');
    await expect
      .poll(() => page.getByTestId('client-post-logout-uris').textContent())
      .toContain(`${APP_ORIGIN}/signed-out`);
    expect(await t.ctx.stores.clients.get('staging', clientId)).toMatchObject({
      pkceExemptWithNonce: true,
      postLogoutRedirectUris: [`${APP_ORIGIN}/signed-out`],
    });
    await shot('client-pkce-exemption');

    await section.getByLabel(/Allow sign-in without PKCE/).uncheck();
    await save.click();
    await expect.poll(() => warning.count()).toBe(0);
    expect((await t.ctx.stores.clients.get('staging', clientId))?.pkceExemptWithNonce).toBe(false);
  });

  it('finds the redirect URI a real authorization request was refused for, and registers it', async () => {
    const typo = `${APP_ORIGIN}/calback`;
    const refusedPage = await page.context().newPage();
    const response = await refusedPage.goto(
      `${t.url}/e/staging/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: typo, response_type: 'code', code_challenge: pkce().challenge, code_challenge_method: 'S256' }).toString()}`,
    );
    expect(response?.status()).toBe(400);
    await refusedPage.close();

    await page.reload();
    const item = page.getByTestId('refused-redirect').filter({ hasText: typo });
    await item.waitFor();
    expect(await item.locator('mark').count()).toBeGreaterThan(0);
    expect(await item.textContent()).toContain(`${APP_ORIGIN}/callback`);
    await shot('client-refused-redirects');
    await item.getByTestId('register-refused').click();
    await expect
      .poll(async () => (await page.getByTestId('redirect-uri').allTextContents()).join('\n'))
      .toContain(typo);
    await expect
      .poll(() => page.getByTestId('refused-redirect').filter({ hasText: typo }).count())
      .toBe(0);
  });

  it('promotes the client to production, listing the refused wildcard before writing', async () => {
    const section = page.getByTestId('promote');
    await section.getByLabel('Target environment').selectOption('production');
    await section.getByTestId('promote-preview').click();
    const refused = section.getByTestId('promote-refused');
    await refused.first().waitFor();
    expect(await refused.allTextContents()).toEqual([
      expect.stringContaining('https://*.review.example.com/callback'),
    ]);
    expect(await t.ctx.stores.clients.list('production')).toEqual([]);
    await shot('promote-preview');
    await section.getByTestId('promote-apply').click();
    await section.getByTestId('promote-result').waitFor();
    expect(await section.getByTestId('client-secret').textContent()).toMatch(/ghs_production_/);
    const [promoted] = await t.ctx.stores.clients.list('production');
    expect(promoted?.promotedFrom).toBe(`staging/${clientId}`);
    expect(promoted?.redirectUris).not.toContain('https://*.review.example.com/callback');
  });

  it('impersonates the user: the sign-in shows the banner and the token carries act', async () => {
    await page.goto(`${t.url}/admin/environments/staging`);
    await page.getByRole('switch', { name: 'Allow impersonation' }).click();
    await expect
      .poll(async () => (await t.ctx.stores.environments.get('staging'))?.impersonationEnabled)
      .toBe(true);
    await page.goto(`${t.url}/admin/environments/staging/clients/${clientId}`);
    const form = page.getByTestId('impersonation-form');
    await form.getByLabel('User', { exact: true }).selectOption({ label: 'dana@example.com' });
    const start = form.getByRole('button', { name: 'Start impersonation' });
    expect(await start.isDisabled()).toBe(true);
    await form.getByLabel('Reason').fill('ticket 4711: invoices missing');
    await form.getByLabel('Duration (minutes)').fill('15');
    await start.click();
    await page.getByTestId('active-impersonation').waitFor();
    await shot('impersonation-active');

    // The operator's browser now signs in to the application (in another tab of the same
    // browser), which starts a normal authorization request.
    const { verifier, challenge } = pkce();
    const appTab = await page.context().newPage();
    await appTab.goto(
      `${t.url}/e/staging/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: `${APP_ORIGIN}/callback`, response_type: 'code', scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256', state: 'xyz' }).toString()}`,
    );
    const banner = appTab.locator('#impersonation-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(
      /Signed in as\s+dana@example\.com\s+on behalf of operator\s+olga@ops\.example/,
    );
    expect(await banner.getByRole('button', { name: 'End now' }).isVisible()).toBe(true);
    await appTab.screenshot({ path: join(ARTIFACTS, 'impersonation-consent.png'), fullPage: true });
    // The application's host is not on this machine: the request for it is where the code shows.
    const callback = appTab.waitForRequest((request) =>
      request.url().startsWith(`${APP_ORIGIN}/callback?`),
    );
    await appTab.getByRole('button', { name: 'Allow' }).click();
    const code = new URL((await callback).url()).searchParams.get('code') ?? '';
    await appTab.close();
    const tokens = await t.tokenRequest(
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: `${APP_ORIGIN}/callback`,
        client_id: clientId,
        client_secret: clientSecret,
      },
      'staging',
    );
    expect(tokens.status).toBe(200);
    accessToken = tokens.access_token;
    expect(decodeJwt(accessToken).act).toMatchObject({ email: OPERATOR.email });
    expect(decodeJwt(tokens.id_token ?? '').act).toMatchObject({ email: OPERATOR.email });
  });

  it('ends the impersonation from the console, revoking its tokens', async () => {
    await page.goto(`${t.url}/admin/environments/staging/clients/${clientId}`);
    await page.getByTestId('end-impersonation').click();
    await expect
      .poll(async () => (await t.ctx.stores.impersonations.list('staging', 10))[0]?.endReason)
      .toBe('ended');
    const introspection = (await (
      await fetch(`${t.issuer('staging')}/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: accessToken,
          client_id: clientId,
          client_secret: clientSecret,
        }),
      })
    ).json()) as { active: boolean };
    expect(introspection.active).toBe(false);
  });

  it('finds all of it in the audit log, with the chain verified', async () => {
    await page.goto(`${t.url}/admin/audit`);
    const chain = page.getByTestId('chain-state');
    await chain.waitFor();
    expect(await chain.getAttribute('data-ok')).toBe('true');
    expect(await chain.textContent()).toMatch(/Chain verified: \d+ entries/);
    await page.getByLabel('Client ID').fill(clientId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(async () => (await page.getByTestId('audit-entry').allTextContents()).join('\n'))
      .toContain('impersonation.ended');
    const text = (await page.getByTestId('audit-entry').allTextContents()).join('\n');
    for (const type of [
      'client.created',
      'client.updated',
      'redirect.refused',
      'impersonation.started',
      'impersonation.token_issued',
      'impersonation.ended',
    ])
      expect(text, type).toContain(type);
    expect(text).toContain('ticket 4711: invoices missing');
    await shot('audit-log');
  });
});
