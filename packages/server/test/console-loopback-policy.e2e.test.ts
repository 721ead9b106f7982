/**
 * Issue #18's loopback policy in the admin console, in real headless Chromium against a real
 * server and database: an operator refuses localhost in production on the environment's settings
 * page and is shown the registration made before that no longer matches, with the RFC 8252 §8.3
 * reason; adding a localhost redirect URI is then refused as they type, with the 127.0.0.1
 * suggestion, and the admin API refuses it if sent anyway.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { AdminSession } from './support/admin.js';
import { signInToConsole } from './support/browser.js';
import { startConsoleFixture, type ConsoleFixture } from './support/console.js';
import type { TestServer } from './support/server.js';

const OPERATOR = { email: 'lee@ops.example', password: 'lee operator pass 1' };
const RFC_8252_REASON = /RFC 8252 §8\.3 calls localhost NOT RECOMMENDED/;

describe('the loopback policy in the console (Chromium)', () => {
  let fixture: ConsoleFixture;
  let t: TestServer;
  let page: Page;
  let clientId = '';

  beforeAll(async () => {
    fixture = await startConsoleFixture(OPERATOR);
    ({ t, page } = fixture);
    // Registered before any policy, as every environment allows localhost by default.
    const { client } = await createClient(t.ctx, {
      environment: 'production',
      type: 'native',
      name: 'Desk CLI',
      redirectUris: ['http://localhost/callback'],
    });
    clientId = client.clientId;
    await signInToConsole(page, t.url, OPERATOR);
  }, 60_000);
  afterAll(async () => {
    await fixture.close();
  });

  it('refuses localhost in production and lists the registration made before, with the reason', async () => {
    await page.goto(`${t.url}/admin/environments/production`);
    const setting = page.getByTestId('loopback-hosts-setting');
    const save = setting.getByRole('button', { name: 'Save loopback hosts' });
    // The default: all three allowed, nothing to save.
    for (const host of ['127.0.0.1', '[::1]', 'localhost'])
      expect(await setting.getByLabel(host, { exact: true }).isChecked()).toBe(true);
    expect(await save.isDisabled()).toBe(true);

    await setting.getByLabel('localhost', { exact: true }).uncheck();
    await save.click();
    const violations = page.getByTestId('loopback-violations');
    await violations.waitFor();
    const text = (await violations.textContent()) ?? '';
    expect(text).toContain('1 registration uses a loopback host this environment now refuses');
    expect(text).toContain('http://localhost/callback');
    expect(text).toContain(clientId);
    expect(text).toContain('register http://127.0.0.1/callback');
    expect(text).toMatch(RFC_8252_REASON);
    expect((await t.ctx.stores.environments.get('production'))?.loopbackHosts).toEqual([
      '127.0.0.1',
      '[::1]',
    ]);
  });

  it('refuses a localhost redirect URI as the operator types, offering 127.0.0.1', async () => {
    await page.goto(`${t.url}/admin/environments/production/clients/${clientId}`);
    const form = page.getByTestId('add-redirect-uri-form');
    await form.getByLabel('Redirect URI').fill('http://localhost/other');
    const message = form.getByTestId('policy-message');
    await expect.poll(() => message.getAttribute('data-state')).toBe('refused');
    expect(await message.textContent()).toMatch(RFC_8252_REASON);
    expect(await form.getByTestId('policy-suggestion').textContent()).toBe(
      'http://127.0.0.1/other',
    );
    expect(await form.getByRole('button', { name: 'Add redirect URI' }).isDisabled()).toBe(true);

    await form.getByRole('button', { name: 'Use suggestion' }).click();
    await form.getByRole('button', { name: 'Add redirect URI' }).click();
    await form.getByText('Added').waitFor();
    expect((await t.ctx.stores.clients.get('production', clientId))?.redirectUris).toEqual([
      'http://localhost/callback',
      'http://127.0.0.1/other',
    ]);
  });

  it('the admin API behind the page refuses localhost if sent anyway', async () => {
    const session = new AdminSession(t.url);
    expect((await session.signIn(OPERATOR.email, OPERATOR.password)).status).toBe(200);
    const reply = await session.call(
      'POST',
      `/environments/production/clients/${clientId}/redirect-uris`,
      { uri: 'http://localhost/sneaky' },
    );
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body)).toMatch(RFC_8252_REASON);
    expect((await t.ctx.stores.clients.get('production', clientId))?.redirectUris).not.toContain(
      'http://localhost/sneaky',
    );
  });
});
