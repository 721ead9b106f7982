/**
 * The page the browser ends on after a sign-in, in headless Chromium: framed and styled like
 * Gatehouse's own hosted pages (the same computed styles as a Gatehouse error page), with its
 * inline stylesheet allowed by the listener's CSP and nothing else.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { loopbackLogin, startListener } from '../src/index.js';

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

  it('an error redirect carrying markup is shown as text: no element, no script, no style of its own', async () => {
    // Any page can send the browser to the listener, but only with the right state; a hostile or
    // compromised server has it, and chooses error and error_description (RFC 6749 §4.1.2.1).
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const context = await browser.newContext();
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const markup =
      '"><img src=x onerror=alert(1)><script>alert(2)</script><style>body{display:none}</style>';
    let landed: Promise<unknown> = Promise.resolve();
    const error = await loopbackLogin({
      issuer,
      clientId: 'cli',
      allowHttpLoopbackIssuer: true,
      timeoutMs: 30_000,
      openBrowser: (url) => {
        const authorization = new URL(url);
        const callback = new URL(authorization.searchParams.get('redirect_uri') ?? '');
        callback.searchParams.set('state', authorization.searchParams.get('state') ?? '');
        callback.searchParams.set('error', `access_denied${markup}`);
        callback.searchParams.set('error_description', markup);
        landed = page.goto(callback.href);
        return Promise.resolve();
      },
    }).catch((e: unknown) => e);
    await landed;
    await page.waitForURL(/gatehouse-login-done$/);
    expect(error).toMatchObject({ code: `access_denied${markup}` });
    const detail = (await page.locator('#detail').textContent()) ?? '';
    expect(detail).toContain(markup);
    // The markup made no elements: the page has exactly its own.
    expect(await page.locator('main img, main script, main style, body style').count()).toBe(0);
    expect(await page.locator('main > *').count()).toBe(3);
    expect(await page.locator('main').isVisible()).toBe(true);
    expect(dialogs).toEqual([]);
    await context.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
});
