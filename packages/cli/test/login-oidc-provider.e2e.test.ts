/**
 * `gatehouse login | whoami | token | logout` against a server that is not Gatehouse: panva's
 * oidc-provider with its defaults where they matter (login/test/support/oidc-provider.ts), its
 * development sign-in pages filled in by headless Chromium.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  signInAtOidcProvider,
  startOidcProvider,
  type OidcProviderServer,
} from '../../login/test/support/oidc-provider.js';
import { launchChromium } from '../../server/test/support/browser.js';
import { run, type CliIo } from '../src/program.js';

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('gatehouse login against oidc-provider', () => {
  let browser: Browser;
  let env: Record<string, string>;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
  });

  async function freshConfig(): Promise<void> {
    const config = join(await mkdtemp(join(tmpdir(), 'gatehouse-cli-op-')), 'config');
    env = { GATEHOUSE_CONFIG_DIR: config, GATEHOUSE_TOKEN_STORE: 'file', DISPLAY: ':0' };
  }

  /** Runs the program in-process; the authorization URL it prints is opened in Chromium. */
  async function cli(argv: string[]) {
    let stdout = '';
    let stderr = '';
    let browsing: Promise<unknown> = Promise.resolve();
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: {
        write: (text: string) => {
          stderr += text;
          const url = /http:\/\/127\.0\.0\.1:\d+\/auth\?\S+/.exec(text)?.[0];
          if (url !== undefined) browsing = signInAtOidcProvider(browser, url);
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
    return { code, stdout, stderr };
  }

  function login(op: OidcProviderServer) {
    return cli([
      'login',
      '--issuer',
      op.issuer,
      '--client-id',
      op.clientId,
      '--no-open',
      '--allow-http-loopback',
    ]);
  }

  describe('with revocation', () => {
    let op: OidcProviderServer;
    beforeAll(async () => {
      op = await startOidcProvider();
      await freshConfig();
    });
    afterAll(async () => {
      await op.close();
    });

    it('shows the email (from UserInfo) in whoami, refreshes after the access token expired, and revokes on logout', async () => {
      // Access tokens that expire soon: `token` below must refresh (within the kit's 60 s margin
      // anyway). 10 s, not 1 s: the sign-in asks UserInfo for the email with the new token, and on
      // a loaded machine 1 s could pass before that call (the email then went missing).
      op.setAccessTokenTtl(10);
      let signedIn;
      try {
        signedIn = await login(op);
      } finally {
        op.setAccessTokenTtl(600);
      }
      expect(signedIn).toMatchObject({
        code: 0,
        stdout: `Logged in as olive@example.com at ${op.issuer} (profile default).\n`,
      });

      const whoami = await cli(['whoami']);
      expect(whoami.stdout).toMatch(
        new RegExp(
          `^olive@example\\.com at ${escaped(op.issuer)} \\(profile default\\); access token (expires in 1 min|expired), refreshable, bound to this device \\(DPoP\\)\\n$`,
        ),
      );
      const json = JSON.parse((await cli(['whoami', '--json'])).stdout) as Record<string, unknown>;
      expect(json).toMatchObject({
        issuer: op.issuer,
        client_id: 'cli',
        subject: 'olive',
        email: 'olive@example.com',
      });
      expect(String(json.scope).split(' ')).toContain('offline_access');

      // oidc-provider takes DPoP: the tokens are bound to the profile's key, in the server's own
      // record, and refused as bearer tokens.
      const stored = JSON.parse(
        await readFile(join(env.GATEHOUSE_CONFIG_DIR ?? '', 'tokens.json'), 'utf8'),
      ) as Record<string, { accessToken: string; dpopJkt?: string }>;
      const first = stored.default?.accessToken ?? '';
      const jkt = stored.default?.dpopJkt;
      expect(jkt).toMatch(/^[\w-]{43}$/);
      expect(await op.accepts(first)).toBe(false);
      // The access token from the sign-in, as the server sees it: wait until it has expired.
      while ((await op.jktOf(first)) !== undefined)
        await new Promise((resolve) => setTimeout(resolve, 100));
      const token = await cli(['token']);
      expect(token.code).toBe(0);
      const refreshed = token.stdout.trim();
      expect(refreshed).not.toBe(first);
      expect(await op.jktOf(refreshed)).toBe(jkt);
      expect((await cli(['whoami'])).stdout).toMatch(
        // Fresh (not "expired"); the minutes left depend on how long the machine took, not asserted.
        /^olive@example\.com at .* \(profile default\); access token expires in \d+ min, refreshable, bound to this device \(DPoP\)\n$/,
      );

      expect((await cli(['logout'])).stdout).toBe(
        'Logged out (profile default); the tokens are revoked at the server.\n',
      );
      expect(await op.jktOf(refreshed)).toBeUndefined();
      expect((await cli(['whoami'])).code).toBe(1);
    });
  });

  describe('without revocation', () => {
    let op: OidcProviderServer;
    beforeAll(async () => {
      op = await startOidcProvider({ revocation: false });
      await freshConfig();
    });
    afterAll(async () => {
      await op.close();
    });

    it('logout says the server offers no revocation and the tokens were removed here', async () => {
      expect((await login(op)).code).toBe(0);
      const out = await cli(['logout']);
      expect(out).toMatchObject({ code: 0, stderr: '' });
      expect(out.stdout).toBe(
        'Logged out (profile default); the server offers no token revocation (its metadata has no revocation_endpoint), so the tokens were removed here only and stay valid at the server until they expire.\n',
      );
      expect(out.stdout).not.toContain('could not be reached');
      expect((await cli(['whoami'])).code).toBe(1);
    });

    it('logout still says "could not be reached" for a server that is gone', async () => {
      const gone = await startOidcProvider();
      expect((await login(gone)).code).toBe(0);
      await gone.close();
      // Exit 1: the tokens may still work at the server (a script must not take this for done).
      expect(await cli(['logout'])).toMatchObject({
        code: 1,
        stdout:
          'Logged out (profile default); the server could not be reached to revoke the tokens, so they were removed here only and may stay valid at the server until they expire.\n',
      });
      expect((await cli(['whoami'])).code).toBe(1);
    });
  });
});
