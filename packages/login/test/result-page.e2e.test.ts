/**
 * The page the browser ends on after a sign-in, in headless Chromium: framed and styled like
 * Gatehouse's own hosted pages (the same computed styles as a Gatehouse error page), with its
 * inline stylesheet allowed by the listener's CSP and nothing else.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { startListener } from '../src/index.js';

/** The computed styles that make a Gatehouse page look like one: selector → properties. */
const LOOKS: Record<string, string[]> = {
  body: ['font-family', 'font-size', 'line-height', 'padding', 'margin'],
  main: ['max-width', 'margin-left', 'margin-right'],
  'main > h1': ['font-size', 'margin-bottom'],
  'p.error[role=alert]': [
    'color',
    'border-left-width',
    'border-left-style',
    'border-left-color',
    'padding-left',
  ],
  'p.muted': ['color', 'font-size'],
};

/** Reads them in the page (a script string: this package's types know no DOM). */
async function looks(page: Page): Promise<Record<string, string>> {
  return page.evaluate<Record<string, string>>(`(() => {
    const out = {};
    for (const [selector, properties] of Object.entries(${JSON.stringify(LOOKS)})) {
      const element = document.querySelector(selector);
      if (element === null) { out[selector] = 'missing'; continue; }
      const computed = getComputedStyle(element);
      for (const p of properties) out[selector + ' ' + p] = computed.getPropertyValue(p);
    }
    return out;
  })()`);
}

describe('the login result page in Chromium', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  /** Runs a callback through a real listener and returns the page the browser ends on. */
  async function landOnResult(ok: boolean, detail: string) {
    const listener = await startListener();
    const waiting = listener.waitForCallback('page-state', new AbortController().signal);
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text()))
        violations.push(message.text());
    });
    const navigation = page.goto(`${listener.redirectUri}?code=c&state=page-state`);
    await waiting;
    listener.finish(ok, detail);
    await navigation;
    await page.waitForURL(/gatehouse-login-done$/);
    const result = {
      title: await page.title(),
      headings: await page.locator('h1').allTextContents(),
      inMain: await page.locator('main > h1').count(),
      referrer: await page.locator('meta[name=referrer]').getAttribute('content'),
      text: (await page.locator('main').textContent()) ?? '',
      looks: await looks(page),
      violations,
    };
    await context.close();
    await listener.close();
    return result;
  }

  /** A Gatehouse page with the same parts: an error page (a heading, an alert, a muted note). */
  async function gatehousePage(): Promise<Record<string, string>> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${t.url}/e/no-such-environment/authorize`);
    const styles = await looks(page);
    await context.close();
    return styles;
  }

  it('the "Signed in" page has the frame, heading and styles of a Gatehouse page', async () => {
    const reference = await gatehousePage();
    expect(reference['body font-family']).toContain('system-ui');
    const signedIn = await landOnResult(true, 'Signed in to https://auth.example.');
    expect(signedIn).toMatchObject({
      title: 'Signed in · Gatehouse',
      headings: ['Signed in'],
      inMain: 1,
      referrer: 'no-referrer',
      violations: [],
    });
    expect(signedIn.text).toContain('Signed in to https://auth.example.');
    const shared = Object.entries(reference).filter(([key]) => !key.startsWith('p.error'));
    expect(Object.entries(signedIn.looks).filter(([key]) => !key.startsWith('p.error'))).toEqual(
      shared,
    );
    // Nothing is borrowed from the browser's defaults: the stylesheet did apply.
    expect(signedIn.looks['main max-width']).toBe('448px');
  });

  it('the failure page shows the reason as Gatehouse shows errors, escaped', async () => {
    const reference = await gatehousePage();
    const failed = await landOnResult(false, 'the server refused: <script>alert(1)</script>');
    expect(failed).toMatchObject({
      title: 'Sign-in failed · Gatehouse',
      headings: ['Sign-in failed'],
      violations: [],
    });
    expect(failed.text).toContain('<script>alert(1)</script>');
    expect(failed.looks).toEqual(reference);
  });
});
