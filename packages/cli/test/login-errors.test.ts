import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { gatehouse } from './harness.js';

/** `gatehouse login` mistakes fail at once, in one line that names the fix. */
describe('gatehouse login errors', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let clientId: string;
  let config: string;
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
    config = await mkdtemp(join(tmpdir(), 'gatehouse-login-errors-'));
    // No browser: with --no-open the loopback flow only prints the URL and waits.
    env = { GATEHOUSE_CONFIG_DIR: config, GATEHOUSE_TOKEN_STORE: 'file', DISPLAY: ':0' };
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
    await rm(config, { recursive: true, force: true });
  });

  const login = (issuer: string, id: string, ...extra: string[]) =>
    gatehouse(['login', '--issuer', issuer, '--client-id', id, '--no-open', ...extra], { env });

  it('names --allow-http-loopback when a plain-http loopback issuer is refused', async () => {
    const result = await login(t.issuer('development'), clientId);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `gatehouse: error: the issuer ${t.issuer('development')} uses plain http: add --allow-http-loopback to allow that on a loopback host (local development only)\n`,
    );
  });

  it('says that --allow-http-loopback is for loopback hosts only when the issuer is remote', async () => {
    const result = await login('http://auth.example.com/e/production', clientId);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^gatehouse: error: the issuer http:\/\/auth\.example\.com\/e\/production must use https; --allow-http-loopback allows plain http only on a loopback host .*\n$/,
    );
  });

  it('suggests /e/<environment> when the server root is given as the issuer', async () => {
    const result = await login(t.url, clientId, '--allow-http-loopback');
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(/^gatehouse: error: cannot read the metadata of /);
    expect(result.stderr).toContain(
      `--issuer ${t.url}/e/<environment>, such as ${t.url}/e/development\n`,
    );
  });

  it('fails fast with the server’s message for an unknown client id, instead of waiting', async () => {
    const started = Date.now();
    const result = await login(
      t.issuer('development'),
      'ghc_development_nosuchclient',
      '--allow-http-loopback',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toContain(
      'gatehouse: error: the server refused the authorization request (HTTP 400): This sign-in link names an application that is not registered here.',
    );
    // In development the server adds the detail; the CLI names the option to check.
    expect(result.stderr).toContain(
      'no client ghc_development_nosuchclient in environment development',
    );
    expect(result.stderr).toContain('check --client-id');
    // The authorization URL was never handed to the user to wait on.
    expect(result.stderr).not.toContain('Waiting for the sign-in');
  });

  it('also fails fast in paste mode', async () => {
    const result = await login(
      t.issuer('development'),
      'nope',
      '--allow-http-loopback',
      '--no-browser',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('not registered here');
    expect(result.stderr).not.toContain('Paste the final address');
  });
});
