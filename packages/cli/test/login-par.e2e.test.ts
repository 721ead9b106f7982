/**
 * `gatehouse login` with pushed authorization requests (RFC 9126) against a running Gatehouse:
 * in an environment that requires them (`gatehouse env settings development --require-par`), with
 * `--par` where nothing requires them, and for a client required to push on its own. The person
 * at the browser is headless Chromium; what the browser was sent to is checked.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { run, type CliIo } from '../src/program.js';

const PASSWORD = 'cli par password';

describe('gatehouse login with pushed authorization requests', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let clientId: string;
  let strictClientId: string;
  let env: Record<string, string>;
  let dataDir: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    if (db.target.kind !== 'sqlite') throw new Error('expected SQLite');
    dataDir = dirname(db.target.file);
    t = await startTestServer(db);
    clientId = (
      await t.client({
        type: 'native',
        name: 'Gatehouse CLI',
        redirectUris: ['http://127.0.0.1/callback'],
      })
    ).clientId;
    strictClientId = (
      await t.client({
        type: 'native',
        name: 'Strict CLI',
        redirectUris: ['http://127.0.0.1/callback'],
        requirePar: true,
      })
    ).clientId;
    await t.user('par@example.com', PASSWORD);
    browser = await launchChromium();
    const config = join(await mkdtemp(join(tmpdir(), 'gatehouse-cli-par-')), 'config');
    env = { GATEHOUSE_CONFIG_DIR: config, GATEHOUSE_TOKEN_STORE: 'file', DISPLAY: ':0' };
  });
  afterAll(async () => {
    await browser.close();
    await t.close();
    await db.drop();
  });

  /** Chromium at the URL: sign in and allow where the server asks, until the kit's result page. */
  async function browse(url: string): Promise<void> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url);
      if (!/gatehouse-login-done/.test(page.url())) {
        await page.getByLabel('Email').fill('par@example.com');
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('button', { name: 'Allow' }).click();
      }
      await page.waitForURL(/gatehouse-login-done/);
    } finally {
      await context.close();
    }
  }

  /** Runs the program in-process; the authorization URL printed on stderr is opened in Chromium. */
  async function cli(argv: string[]) {
    let stdout = '';
    let stderr = '';
    let opened: URL | undefined;
    let browsing: Promise<void> = Promise.resolve();
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: {
        write: (text: string) => {
          stderr += text;
          const url = /https?:\/\/\S+\/authorize\?\S+/.exec(text)?.[0];
          if (url !== undefined) {
            opened = new URL(url);
            browsing = browse(url);
          }
          return true;
        },
      },
      readStdin: () => Promise.resolve(''),
      readLine: () => Promise.resolve(''),
      env,
      cwd: process.cwd(),
      waitForStop: () => Promise.resolve(),
    };
    const code = await run(argv, io);
    await browsing;
    return { code, stdout, stderr, opened };
  }

  const login = (client: string, ...extra: string[]) =>
    cli([
      'login',
      '--issuer',
      t.issuer('development'),
      '--client-id',
      client,
      '--no-open',
      '--allow-http-loopback',
      '--timeout',
      '30',
      ...extra,
    ]);

  async function metadata(): Promise<Record<string, unknown>> {
    const response = await fetch(`${t.issuer('development')}/.well-known/openid-configuration`);
    return (await response.json()) as Record<string, unknown>;
  }

  it('signs in where the environment requires PAR: the browser gets only client_id and request_uri', async () => {
    const set = await cli([
      'env',
      'settings',
      'development',
      '--require-par',
      '--data-dir',
      dataDir,
    ]);
    expect(set.code).toBe(0);
    try {
      // The running server reads the CLI's change (SQLite data_version) within its cache's second.
      await expect
        .poll(async () => (await metadata()).require_pushed_authorization_requests)
        .toBe(true);
      const signedIn = await login(clientId, '--profile', 'required');
      expect(signedIn).toMatchObject({
        code: 0,
        stdout: `Logged in as par@example.com at ${t.issuer('development')} (profile required).\n`,
      });
      const opened = signedIn.opened;
      expect(opened?.href.startsWith(`${t.issuer('development')}/authorize?`)).toBe(true);
      expect([...(opened?.searchParams.keys() ?? [])].sort()).toEqual(['client_id', 'request_uri']);
      expect(opened?.searchParams.get('client_id')).toBe(clientId);
      expect(opened?.searchParams.get('request_uri')).toMatch(
        /^urn:ietf:params:oauth:request_uri:/,
      );
      expect((await cli(['whoami', '--profile', 'required'])).code).toBe(0);
    } finally {
      await cli(['env', 'settings', 'development', '--no-require-par', '--data-dir', dataDir]);
    }
  });

  it('pushes with --par where nothing requires it, and sends everything in the URL without', async () => {
    await expect
      .poll(async () => (await metadata()).require_pushed_authorization_requests)
      .toBe(false);
    const pushed = await login(clientId, '--par', '--profile', 'asked');
    expect(pushed.code).toBe(0);
    expect([...(pushed.opened?.searchParams.keys() ?? [])].sort()).toEqual([
      'client_id',
      'request_uri',
    ]);
    const plain = await login(clientId, '--profile', 'plain');
    expect(plain.code).toBe(0);
    expect(plain.opened?.searchParams.has('request_uri')).toBe(false);
    expect(plain.opened?.searchParams.get('code_challenge_method')).toBe('S256');
  });

  it('a client required to push on its own (which metadata cannot say) is told to use --par, and signs in with it', async () => {
    const refused = await login(strictClientId, '--profile', 'strict');
    expect(refused.code).toBe(1);
    expect(refused.opened?.searchParams.has('request_uri')).toBe(false);
    expect(refused.stderr).toContain('this client must use pushed authorization requests');
    expect(refused.stderr).toContain('run the command again with --par');
    expect((await cli(['whoami', '--profile', 'strict'])).code).toBe(1);
    const pushed = await login(strictClientId, '--par', '--profile', 'strict');
    expect(pushed).toMatchObject({
      code: 0,
      stdout: `Logged in as par@example.com at ${t.issuer('development')} (profile strict).\n`,
    });
  });
});
