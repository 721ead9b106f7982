/**
 * Issue #13 item 7, "smaller findings": what the console's page is cached as, the hosted pages'
 * CSP, cookie name prefixes, and the mode of the files the server creates.
 */
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import type { AppDeps } from '../src/http/deps.js';
import { resolveServerConfig } from '../src/config.js';
import { startServer } from '../src/bootstrap.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

describe('the admin console page', () => {
  let dir: string;
  let app: Awaited<ReturnType<typeof createApp>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-console-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(
      join(dir, 'index.html'),
      '<!doctype html><script src="/admin/assets/app-1a2b3c.js"></script>',
    );
    await writeFile(join(dir, 'assets', 'app-1a2b3c.js'), 'console.log(1)');
    // Only the console's routes are exercised: nothing reaches the stores.
    const deps = {
      config: { baseUrl: 'http://127.0.0.1', secureCookies: false },
    } as unknown as AppDeps;
    app = await createApp(deps, { logger: false, consoleDir: dir });
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is revalidated on every load, so a fixed console reaches operators', async () => {
    for (const url of ['/admin', '/admin/', '/admin/environments/staging']) {
      const page = await app.inject({ method: 'GET', url });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const cache = String(page.headers['cache-control']);
      expect(cache).not.toContain('immutable');
      expect(cache).not.toMatch(/max-age=[1-9]/);
      expect(cache).toMatch(/no-cache|no-store/);
      expect(page.headers.etag ?? page.headers['last-modified']).toBeDefined();
    }
  });

  it('keeps hashed assets immutable for a year', async () => {
    const asset = await app.inject({ method: 'GET', url: '/admin/assets/app-1a2b3c.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });
});

describe('the files of a SQLite deployment', () => {
  const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

  it('are 0600 when the data directory exists already, and are put right when they were not', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-mode-'));
    try {
      // An operator made the directory beforehand, world-readable as mkdir makes it.
      await chmod(dataDir, 0o755);
      const config = resolveServerConfig({ port: 0, dataDir }, process.cwd());
      const first = await startServer(config, { logger: false });
      const files = [
        'gatehouse.sqlite',
        'gatehouse.sqlite-wal',
        'gatehouse.sqlite-shm',
        'secret.key',
      ];
      try {
        for (const name of files)
          expect([name, await modeOf(join(dataDir, name))]).toEqual([name, 0o600]);
      } finally {
        await first.close();
      }
      // Files left readable by an older version are tightened on the next start.
      for (const name of ['gatehouse.sqlite', 'secret.key'])
        await chmod(join(dataDir, name), 0o644);
      const second = await startServer(config, { logger: false });
      try {
        for (const name of files)
          expect([name, await modeOf(join(dataDir, name))]).toEqual([name, 0o600]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the hosted pages’ form-action', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let web: string;
  let native: string;
  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    ({ clientId: web } = await t.client({
      type: 'web',
      name: 'Web app',
      redirectUris: ['https://app.example.com/callback'],
    }));
    ({ clientId: native } = await t.client({
      type: 'native',
      name: 'CLI',
      redirectUris: ['http://127.0.0.1/callback', 'com.example.app:/oauth2redirect'],
    }));
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const csp = (response: Response) => response.headers.get('content-security-policy') ?? '';
  const formAction = (response: Response) => /form-action ([^;]*)/.exec(csp(response))?.[1];

  /** The sign-in page of an authorization request for this client and redirect URI. */
  async function signInPage(clientId: string, redirectUri: string) {
    const browser = new FormBrowser(t.url);
    const query = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      state: 'st',
    });
    const { last } = await browser.follow(
      await browser.get(`/e/development/authorize?${query.toString()}`),
    );
    const page = await last.text();
    expect(page).toContain('name="password"');
    return last;
  }

  // Issue #13 item 7: without form-action, markup injected into a hosted page could post the
  // filled-in sign-in form anywhere. 'self' alone would also block the 303 to the client that
  // ends the sign-in and consent forms (Chromium enforces form-action on redirects), so each page
  // adds the redirect URI of the request it answers, and nothing else.
  it('lets forms lead only here and to the redirect URI of the request being answered', async () => {
    expect(formAction(await signInPage(web, 'https://app.example.com/callback'))).toBe(
      "'self' https://app.example.com",
    );
    expect(formAction(await signInPage(native, 'http://127.0.0.1:49152/callback'))).toBe(
      "'self' http://127.0.0.1:49152",
    );
    expect(formAction(await signInPage(native, 'com.example.app:/oauth2redirect'))).toBe(
      "'self' com.example.app:",
    );
    expect(formAction(await fetch(`${t.url}/e/development/device`))).toBe("'self'");
    expect(formAction(await fetch(`${t.url}/`))).toBe("'self'");
  });
});

/** A port nothing listens on now (the base URL names another host, so the server cannot say). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe('cookie names behind an https base URL', () => {
  // Issue #13 item 7: a cookie without the __Host- prefix can be set by a sibling subdomain or
  // by plain http on the same host (cookie tossing), which fixes the CSRF token an attacker knows.
  it('names the CSRF cookie __Host-, Secure, Path=/ and without Domain, and it still works', async () => {
    const db = await throwawaySqlite();
    const dataDir = db.target.kind === 'sqlite' ? join(db.target.file, '..') : '';
    const port = await freePort();
    const config = resolveServerConfig(
      { port, dataDir, baseUrl: 'https://id.example.test' },
      process.cwd(),
    );
    const server = await startServer(config, { logger: false });
    try {
      const local = `http://127.0.0.1:${port}`;
      const page = await fetch(`${local}/e/development/device`);
      const setCookies = page.headers.getSetCookie();
      const csrf = setCookies.find((line) => /csrf/i.test(line.split('=')[0] ?? ''));
      expect(csrf).toBeDefined();
      expect(csrf).toMatch(/^__Host-/);
      expect(csrf).toMatch(/;\s*Secure/i);
      expect(csrf).toMatch(/;\s*Path=\/(;|$)/i);
      expect(csrf).not.toMatch(/;\s*Domain=/i);
      // The form's token matches the prefixed cookie: the device form is accepted past CSRF.
      const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
      const posted = await fetch(`${local}/e/development/device`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: (csrf ?? '').split(';')[0] ?? '',
        },
        body: new URLSearchParams({ _csrf: token, user_code: 'ABCD-EFGH' }),
      });
      expect(posted.status).not.toBe(403);
    } finally {
      await server.close();
      await db.drop();
    }
  });
});
