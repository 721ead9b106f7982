/**
 * Issue #17's settings in the admin console, in real headless Chromium against a real server and
 * database: a production native client created without DPoP carries the note, an operator turns
 * "Require DPoP" on (stored, the note gone), and sets the environment's require-DPoP switch and
 * refresh grace window (stored and audited); the field's range keeps 90 from being sent.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { signInToConsole } from './support/browser.js';
import { startConsoleFixture, type ConsoleFixture } from './support/console.js';
import type { TestServer } from './support/server.js';

const OPERATOR = { email: 'pat@ops.example', password: 'pat operator pass 1' };

describe('DPoP settings in the console (Chromium)', () => {
  let fixture: ConsoleFixture;
  let t: TestServer;
  let page: Page;
  let clientId = '';

  beforeAll(async () => {
    fixture = await startConsoleFixture(OPERATOR);
    ({ t, page } = fixture);
    // An application that does not send proofs yet: opted out of the production default.
    const { client } = await createClient(t.ctx, {
      environment: 'production',
      type: 'native',
      name: 'Desk',
      redirectUris: ['http://127.0.0.1/callback'],
      requireDpop: false,
    });
    clientId = client.clientId;
  }, 60_000);
  afterAll(async () => {
    await fixture.close();
  });

  it('notes a production public client without DPoP, and turns it on', async () => {
    await signInToConsole(page, t.url, OPERATOR);
    await page.goto(`${t.url}/admin/environments/production/clients/${clientId}`);
    await page.getByTestId('dpop-note').waitFor();
    expect(await page.getByTestId('client-require-dpop').textContent()).toBe('optional');
    const section = page.getByTestId('protocol-settings');
    await section.getByLabel(/Require DPoP/).check();
    await section.getByRole('button', { name: 'Save sign-in settings' }).click();
    await expect.poll(() => page.getByTestId('client-require-dpop').textContent()).toBe('required');
    expect(await page.getByTestId('dpop-note').count()).toBe(0);
    expect((await t.ctx.stores.clients.get('production', clientId))?.requireDpop).toBe(true);
  });

  it('sets the environment’s require-DPoP and refresh grace window', async () => {
    await page.goto(`${t.url}/admin/environments/production`);
    const dpop = page.getByTestId('dpop-setting');
    await dpop.getByRole('switch', { name: 'Require DPoP' }).click();
    await expect
      .poll(async () => (await t.ctx.stores.environments.get('production'))?.requireDpop)
      .toBe(true);

    const grace = page.getByTestId('refresh-grace-setting');
    const seconds = grace.getByLabel('Seconds');
    expect(await seconds.inputValue()).toBe('5');
    await seconds.fill('90');
    await grace.getByRole('button', { name: 'Save grace window' }).click();
    // Chromium holds the form to the field's range: nothing is sent.
    const overflow = await seconds.evaluate(
      (input) =>
        (input as unknown as { validity: { rangeOverflow: boolean } }).validity.rangeOverflow,
    );
    expect(overflow).toBe(true);
    await seconds.fill('0');
    await grace.getByRole('button', { name: 'Save grace window' }).click();
    await expect
      .poll(async () => (await t.ctx.stores.environments.get('production'))?.refreshGraceSeconds)
      .toBe(0);
    await page.getByText(/No refresh grace/).waitFor();
    const graces = (await t.ctx.stores.audit.tail({ type: 'environment.settings_changed' })).map(
      (e) => (e.data as { after: { refreshGraceSeconds: number } }).after.refreshGraceSeconds,
    );
    expect(graces).toContain(0);
    // 90 was never sent: the only grace values recorded are 5 and 0.
    expect(graces.every((g) => g === 5 || g === 0)).toBe(true);
  });
});
