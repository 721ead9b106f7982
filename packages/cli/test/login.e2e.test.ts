/**
 * `gatehouse login | whoami | token | logout` against a running Gatehouse, with the person at
 * the browser played by headless Chromium.
 */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dpopProof, loadDpopKey, type StoredDpopKey } from '@gatehouse/login';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { FormBrowser, startTestServer, type TestServer } from '../../server/test/support/server.js';
import { run, type CliIo } from '../src/program.js';

const PASSWORD = 'cli login password';

let lastUrl = '';

describe('gatehouse login, whoami, token, logout', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let clientId: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    clientId = (
      await t.client({
        type: 'native',
        name: 'Gatehouse CLI',
        redirectUris: ['http://127.0.0.1/callback'],
      })
    ).clientId;
    await t.user('cli@example.com', PASSWORD);
    browser = await launchChromium();
    const config = join(await mkdtemp(join(tmpdir(), 'gatehouse-cli-login-')), 'config');
    env = { GATEHOUSE_CONFIG_DIR: config, GATEHOUSE_TOKEN_STORE: 'file', DISPLAY: ':0' };
    // A server, a database and Chromium: slow to start on a loaded machine.
  }, 60_000);
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  async function signInAt(url: string): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel('Email').fill('cli@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/gatehouse-login-done/);
    await context.close();
  }

  /** The device page in Chromium: the code is filled in from the link; sign in and allow. */
  async function approveDeviceAt(url: string): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Email').fill('cli@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await context.close();
  }

  /** Runs the program in-process; a URL printed on stderr is opened in Chromium. */
  async function cli(
    argv: string[],
    extraEnv: Record<string, string> = {},
    lines?: () => Promise<string>,
    browse = true,
  ) {
    let stdout = '';
    let stderr = '';
    let browsing: Promise<void> = Promise.resolve();
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: {
        write: (text: string) => {
          stderr += text;
          const url = /https?:\/\/\S+\/authorize\?\S+/.exec(text)?.[0];
          if (url !== undefined && lines === undefined && browse) browsing = signInAt(url);
          if (url !== undefined) lastUrl = url;
          const complete = /\(or open (\S+)\)/.exec(text)?.[1];
          if (complete !== undefined && browse) browsing = approveDeviceAt(complete);
          return true;
        },
      },
      readStdin: () => Promise.resolve(''),
      readLine: lines ?? (() => Promise.resolve('')),
      env: { ...env, ...extraEnv },
      cwd: process.cwd(),
      waitForStop: () => Promise.resolve(),
    };
    const code = await run(argv, io);
    await browsing;
    return { code, stdout, stderr };
  }

  it('logs in with the loopback flow, then whoami, token and logout', async () => {
    const login = await cli([
      'login',
      '--issuer',
      t.issuer('development'),
      '--client-id',
      clientId,
      '--no-open',
      '--allow-http-loopback',
      '--scope',
      'openid email offline_access',
    ]);
    expect(login.stderr).toContain('Open this URL in your browser');
    expect(login.stderr).toContain('tokens are stored unencrypted');
    expect(login).toMatchObject({
      code: 0,
      stdout: `Logged in as cli@example.com at ${t.issuer('development')} (profile default).\n`,
    });
    expect((await stat(join(env.GATEHOUSE_CONFIG_DIR ?? '', 'tokens.json'))).mode & 0o777).toBe(
      0o600,
    );

    const whoami = await cli(['whoami']);
    expect(whoami.stdout).toMatch(
      new RegExp(
        `^cli@example\\.com at ${t.issuer('development').replace(/[.]/g, '\\.')} \\(profile default\\); access token expires in \\d+ min, refreshable, bound to this device \\(DPoP\\)\\n$`,
      ),
    );
    const token = await cli(['token']);
    expect(token.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    // The server takes DPoP, so the token is bound to the profile's key: UserInfo wants a proof
    // (login-dpop.e2e.test.ts has the API side).
    const userinfoUrl = `${t.issuer('development')}/userinfo`;
    const withProof = async () =>
      Object.fromEntries(
        (await cli(['token', '--url', userinfoUrl])).stdout
          .trim()
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      ) as Record<string, string>;
    const userinfo = await fetch(userinfoUrl, { headers: await withProof() });
    expect(userinfo.status).toBe(200);
    const key = await loadDpopKey(
      (
        JSON.parse(
          await readFile(join(env.GATEHOUSE_CONFIG_DIR ?? '', 'dpop-keys.json'), 'utf8'),
        ) as Record<string, StoredDpopKey>
      ).default as StoredDpopKey,
    );
    expect((await cli(['token'], { GATEHOUSE_TOKEN: 'from-ci' })).stdout).toBe('from-ci\n');

    // As if the access token had expired: `token` refreshes it (rotating the refresh token).
    const file = join(env.GATEHOUSE_CONFIG_DIR ?? '', 'tokens.json');
    const stored = JSON.parse(await readFile(file, 'utf8')) as Record<
      string,
      { expiresAt: number; refreshToken: string }
    >;
    const before = stored.default?.refreshToken;
    if (stored.default !== undefined) stored.default.expiresAt = Date.now() - 1000;
    await writeFile(file, JSON.stringify(stored));
    const refreshed = await cli(['token']);
    expect(refreshed.stdout.trim()).not.toBe(token.stdout.trim());
    const after = JSON.parse(await readFile(file, 'utf8')) as Record<
      string,
      { expiresAt: number; refreshToken: string }
    >;
    expect(after.default?.refreshToken).not.toBe(before);
    expect(after.default?.expiresAt).toBeGreaterThan(Date.now());

    const out = await cli(['logout']);
    expect(out.stdout).toBe(
      'Logged out (profile default); the tokens are revoked at the server.\n',
    );
    // Revoked at the server: even with a proof of its key the token is refused.
    const revoked = await fetch(userinfoUrl, {
      headers: {
        authorization: `DPoP ${refreshed.stdout.trim()}`,
        dpop: await dpopProof(key, {
          method: 'GET',
          url: userinfoUrl,
          accessToken: refreshed.stdout.trim(),
        }),
      },
    });
    expect(revoked.status).toBe(401);
    const gone = await cli(['whoami']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('not logged in');
  });

  it('uses the device flow where no browser can be opened, with the code page in Chromium', async () => {
    const login = await cli(
      [
        'login',
        '--issuer',
        t.issuer('development'),
        '--client-id',
        clientId,
        '--allow-http-loopback',
        '--profile',
        'ssh',
      ],
      {
        SSH_CONNECTION: '10.0.0.1 22 10.0.0.2 22',
      },
    );
    expect(login.stderr).toMatch(
      /enter the code\n\n {2}[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\n/,
    );
    expect(login).toMatchObject({
      code: 0,
      stdout: `Logged in as cli@example.com at ${t.issuer('development')} (profile ssh).\n`,
    });
    expect((await cli(['whoami', '--profile', 'ssh'])).code).toBe(0);
    expect((await cli(['whoami', '--profile', 'other'])).code).toBe(1);
  });

  it('uses paste mode with --no-browser', async () => {
    const form = new FormBrowser(t.url);
    const login = await cli(
      [
        'login',
        '--issuer',
        t.issuer('development'),
        '--client-id',
        clientId,
        '--allow-http-loopback',
        '--no-browser',
        '--profile',
        'pasted',
      ],
      {},
      async () => {
        const query = Object.fromEntries(new URL(lastUrl).searchParams);
        return form.authorize(query, 'cli@example.com', PASSWORD);
      },
    );
    expect(login.stderr).toContain('Paste mode: open the URL below on any device');
    expect(login.code).toBe(0);
    expect((await cli(['whoami', '--profile', 'pasted'])).code).toBe(0);
  });

  it('times out clearly when the server never sends the browser back, and refuses a plain-http issuer', async () => {
    const refused = await cli(
      [
        'login',
        '--issuer',
        t.issuer('development'),
        '--client-id',
        // A real client, and nobody signs in (an unknown one now fails at once: login-errors.test.ts).
        clientId,
        '--no-open',
        '--allow-http-loopback',
        '--timeout',
        '2',
      ],
      {},
      undefined,
      false,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no sign-in within 2 s');
    const notHttps = await cli([
      'login',
      '--issuer',
      'http://auth.example.com/',
      '--client-id',
      clientId,
      '--no-open',
    ]);
    expect(notHttps).toMatchObject({ code: 1 });
    expect(notHttps.stderr).toContain('must use https');
  });
});
