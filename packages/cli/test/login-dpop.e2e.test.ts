/**
 * Issue #17, end to end: `gatehouse login` against a running Gatehouse that takes DPoP (RFC 9449),
 * the person at the browser played by headless Chromium, then an API behind @gatehouse/resource.
 * The API accepts the token with a proof made by `gatehouse token --url`, refuses it without one
 * (as a bearer token, or a replayed proof), and refuses everything a copied token file without
 * the key allows: the kit refuses to use it, and the attacker's own bearer use or own-key proofs
 * are refused by the API. Then a refresh with the key, step-up to a wider scope, and logout.
 */
import { copyFile, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dpopProof, generateDpopKey, loadDpopKey } from '@gatehouse/login';
import { createResourceServer } from '@gatehouse/resource';
import { requireBearer } from '@gatehouse/resource/node';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerResource } from '@gatehouse/server';
import { launchChromium } from '../../server/test/support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { run, type CliIo } from '../src/program.js';

const PASSWORD = 'cli dpop password';
/** The API's identifier; it is served on loopback as if behind a TLS-terminating proxy. */
const API = 'https://notes.example.test/notes';

describe('gatehouse login with DPoP, and an API behind @gatehouse/resource', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let clientId: string;
  let env: Record<string, string>;
  let api: Server;
  let apiUrl: string;

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
    const linked = await t.client({ type: 'web', name: 'Notes API', redirectUris: [] });
    await registerResource(t.ctx, 'development', {
      uri: API,
      name: 'Notes API',
      scopes: ['notes:read', 'notes:write'],
      clientId: linked.clientId,
    });
    await t.user('dpop@example.com', PASSWORD);
    browser = await launchChromium();
    const config = join(await mkdtemp(join(tmpdir(), 'gatehouse-cli-dpop-')), 'config');
    env = { GATEHOUSE_CONFIG_DIR: config, GATEHOUSE_TOKEN_STORE: 'file', DISPLAY: ':0' };

    const resourceServer = createResourceServer({ resource: API, issuer: t.issuer('development') });
    const read = requireBearer(resourceServer, { requiredScopes: ['notes:read'] });
    const write = requireBearer(resourceServer, { requiredScopes: ['notes:write'] });
    api = createServer((req, res) => {
      void (async () => {
        const auth = await (req.method === 'POST' ? write : read)(req, res);
        if (auth === undefined) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, method: req.method }));
      })();
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/notes`;
    // A server, a database and Chromium: slow to start on a loaded machine.
  }, 60_000);
  afterAll(async () => {
    api.close();
    await browser.close();
    await t.close();
    await db.drop();
  });

  async function signInAt(url: string): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    if (await page.getByLabel('Password').isVisible()) {
      await page.getByLabel('Email').fill('dpop@example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    if ((await page.getByRole('button', { name: 'Allow' }).count()) > 0)
      await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/gatehouse-login-done/);
    await context.close();
  }

  /** Runs the program in-process; an authorization URL printed on stderr is opened in Chromium. */
  async function cli(argv: string[], extraEnv: Record<string, string> = {}) {
    let stdout = '';
    let stderr = '';
    let browsing: Promise<void> = Promise.resolve();
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: {
        write: (text: string) => {
          stderr += text;
          const url = /https?:\/\/\S+\/authorize\?\S+/.exec(text)?.[0];
          if (url !== undefined) browsing = signInAt(url);
          return true;
        },
      },
      readStdin: () => Promise.resolve(''),
      readLine: () => Promise.resolve(''),
      env: { ...env, ...extraEnv },
      cwd: process.cwd(),
      waitForStop: () => Promise.resolve(),
    };
    const code = await run(argv, io);
    await browsing;
    return { code, stdout, stderr };
  }

  /** `gatehouse token --url` lines, as `curl -H @-` reads them. */
  function headersOf(lines: string): Record<string, string> {
    return Object.fromEntries(
      lines
        .trim()
        .split('\n')
        .map((line) => {
          const at = line.indexOf(': ');
          return [line.slice(0, at).toLowerCase(), line.slice(at + 2)];
        }),
    );
  }

  const callApi = (headers: Record<string, string>, method = 'GET') =>
    fetch(apiUrl, { method, headers });

  async function tokenFor(method = 'GET', extraEnv: Record<string, string> = {}) {
    return cli(['token', '--url', API, '--method', method], extraEnv);
  }

  it('binds the login to the profile key; the API takes the token with a proof only, once', async () => {
    const login = await cli([
      'login',
      '--issuer',
      t.issuer('development'),
      '--client-id',
      clientId,
      '--no-open',
      '--allow-http-loopback',
      '--scope',
      'openid email offline_access notes:read',
      '--resource',
      API,
    ]);
    expect(login).toMatchObject({
      code: 0,
      stdout: `Logged in as dpop@example.com at ${t.issuer('development')} (profile default).\n`,
    });
    const config = env.GATEHOUSE_CONFIG_DIR ?? '';
    // The key: owner-only, in its own file; the token file names only its thumbprint.
    expect((await stat(join(config, 'dpop-keys.json'))).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(await readFile(join(config, 'dpop-keys.json'), 'utf8')) as Record<
      string,
      { jkt: string; privateJwk: { d: string } }
    >;
    const tokensFile = await readFile(join(config, 'tokens.json'), 'utf8');
    expect(tokensFile).not.toContain(keys.default?.privateJwk.d ?? 'no key');
    const stored = (
      JSON.parse(tokensFile) as Record<string, { dpopJkt?: string; tokenType: string }>
    ).default;
    expect(stored?.dpopJkt).toBe(keys.default?.jkt);
    expect(stored?.tokenType.toLowerCase()).toBe('dpop');
    expect((await cli(['whoami'])).stdout).toContain('bound to this device (DPoP)');

    // The script helper: the DPoP scheme and a proof for this request.
    const token = await tokenFor();
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(
      /^Authorization: DPoP [\w-]+\.[\w-]+\.[\w-]+\nDPoP: [\w-]+\.[\w-]+\.[\w-]+\n$/,
    );
    const headers = headersOf(token.stdout);
    const accepted = await callApi(headers);
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ ok: true, method: 'GET' });

    const accessToken = (headers.authorization ?? '').slice('DPoP '.length);
    // Without a proof: as a bearer token, and in the DPoP scheme without the DPoP header.
    const asBearer = await callApi({ authorization: `Bearer ${accessToken}` });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get('www-authenticate') ?? '').toMatch(/DPoP/);
    expect((await callApi({ authorization: `DPoP ${accessToken}` })).status).toBe(401);
    // The same proof again (RFC 9449 §11.1 replay), and a proof made for another method.
    expect((await callApi(headers)).status).toBe(401);
    expect((await callApi(headersOf((await tokenFor('POST')).stdout), 'GET')).status).toBe(401);

    // The bare token still prints for scripts that read it, with a note on stderr.
    const bare = await cli(['token']);
    expect(bare.stdout).toBe(`${accessToken}\n`);
    expect(bare.stderr).toContain('bound to this device (DPoP)');
    expect((await cli(['token', '--headers'])).code).toBe(2);
  });

  it('makes a token file copied without its key useless', async () => {
    const home = env.GATEHOUSE_CONFIG_DIR ?? '';
    const attacker = join(await mkdtemp(join(tmpdir(), 'gatehouse-cli-stolen-')), 'config');
    await mkdir(attacker, { recursive: true, mode: 0o700 });
    await copyFile(join(home, 'tokens.json'), join(attacker, 'tokens.json'));
    const stolenEnv = { GATEHOUSE_CONFIG_DIR: attacker };

    // The kit will not make headers without the key (nor send the token as a bearer token).
    const refused = await tokenFor('GET', stolenEnv);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('bound to a DPoP key that is not in this token store');
    expect(refused.stdout).toBe('');

    // What the attacker can send: the token as bearer, or with a proof of a key of their own.
    const stolen = JSON.parse(await readFile(join(attacker, 'tokens.json'), 'utf8')) as Record<
      string,
      { accessToken: string; refreshToken: string }
    >;
    const accessToken = stolen.default?.accessToken ?? '';
    expect((await callApi({ authorization: `Bearer ${accessToken}` })).status).toBe(401);
    const ownKey = await loadDpopKey(await generateDpopKey());
    const ownProof = await dpopProof(ownKey, { method: 'GET', url: API, accessToken });
    const withOwnKey = await callApi({ authorization: `DPoP ${accessToken}`, dpop: ownProof });
    expect(withOwnKey.status).toBe(401);
    // Nor does the stolen refresh token get new tokens with a proof of another key.
    const refresh = await fetch(`${t.issuer('development')}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: stolen.default?.refreshToken ?? '',
        client_id: clientId,
      }),
    });
    expect(refresh.status).toBe(400);
    // The owner's copy still works.
    expect((await callApi(headersOf((await tokenFor()).stdout))).status).toBe(200);
  });

  it('refreshes with the key, steps up to a wider scope, and logs out with revocation', async () => {
    const file = join(env.GATEHOUSE_CONFIG_DIR ?? '', 'tokens.json');
    const before = JSON.parse(await readFile(file, 'utf8')) as Record<
      string,
      { expiresAt: number; accessToken: string }
    >;
    const old = before.default?.accessToken;
    if (before.default !== undefined) before.default.expiresAt = 0;
    await writeFile(file, JSON.stringify(before), { mode: 0o600 });
    const refreshed = await tokenFor();
    expect(refreshed.code).toBe(0);
    const headers = headersOf(refreshed.stdout);
    expect(headers.authorization).not.toBe(`DPoP ${old ?? ''}`);
    expect((await callApi(headers)).status).toBe(200);

    // Writing needs notes:write, which the token lacks: 403 insufficient_scope naming it.
    const lacking = await callApi(headersOf((await tokenFor('POST')).stdout), 'POST');
    expect(lacking.status).toBe(403);
    expect(lacking.headers.get('www-authenticate') ?? '').toMatch(/insufficient_scope/);
    expect(lacking.headers.get('www-authenticate') ?? '').toMatch(/notes:write/);
    // Step-up: --scope adds to what the profile holds.
    const stepUp = await cli([
      'login',
      '--issuer',
      t.issuer('development'),
      '--client-id',
      clientId,
      '--no-open',
      '--allow-http-loopback',
      '--scope',
      'notes:write',
      '--resource',
      API,
    ]);
    expect(stepUp.code).toBe(0);
    const scope = JSON.parse((await cli(['whoami', '--json'])).stdout) as {
      scope: string;
      dpop_bound: boolean;
    };
    expect(scope.dpop_bound).toBe(true);
    expect(scope.scope.split(' ').sort()).toEqual(
      expect.arrayContaining(['notes:read', 'notes:write', 'openid']),
    );
    expect((await callApi(headersOf((await tokenFor('POST')).stdout), 'POST')).status).toBe(200);
    expect((await callApi(headersOf((await tokenFor()).stdout))).status).toBe(200);

    const loggedOut = await cli(['logout']);
    expect(loggedOut.stdout).toBe(
      'Logged out (profile default); the tokens are revoked at the server.\n',
    );
    const keys = JSON.parse(
      await readFile(join(env.GATEHOUSE_CONFIG_DIR ?? '', 'dpop-keys.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(keys).not.toHaveProperty('default');
  });
});
