import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveServerConfig, startServer, type RunningServer } from '@gatehouse/server';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import {
  Browser,
  codeFrom,
  codeRequest,
  tokensOf,
  WebClient,
} from '../../server/test/support/oauth.js';
import { dataLocation, Deployment } from '../../server/test/support/processes.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { gatehouse } from './harness.js';

const REDIRECT = 'https://app.example.com/cb';
const PASSWORD = 'backup test pass phrase';

/**
 * Issue #14: `gatehouse backup` while the server is under load, `gatehouse restore` into a new
 * data directory (with the same secret key), and what must hold of the restored data: SQLite's
 * integrity check, the keyed audit chain, and the tokens issued before the backup.
 */
describe('gatehouse backup and restore (SQLite)', () => {
  let database: ThrowawayDatabase | undefined;
  let server: TestServer | undefined;
  let restored: RunningServer | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-backup-'));
  afterAll(async () => {
    await restored?.close();
    await server?.close();
    await database?.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('backs up under load, restores, and the restored data is whole and still honours its tokens', async () => {
    database = await throwawaySqlite();
    const dataDir = dirname(database.target.kind === 'sqlite' ? database.target.file : '');
    server = await startTestServer(database);
    const base = server.url;
    const created = await server.client({
      type: 'web',
      name: 'backup load',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      skipConsent: true,
    });
    const client = new WebClient(created.clientId, created.clientSecret ?? '');
    await server.user('backup@example.com', PASSWORD);
    const browser = new Browser(base);

    const codeFlow = async (): Promise<string> => {
      const request = codeRequest(client.clientId, REDIRECT, 'openid email');
      const location = await browser.authorize(request.query, 'backup@example.com', PASSWORD);
      const { code } = codeFrom(location);
      return tokensOf(await client.redeem(base, code, request.verifier, REDIRECT)).access_token;
    };
    const machine = async (): Promise<string> =>
      tokensOf(await client.clientCredentials(base)).access_token;

    // Issued before the backup: these must verify on the restored server.
    const before = [await codeFlow(), await machine()];

    // A bounded load on the server while the backup runs; tokens issued before it started count.
    let backupStarted = false;
    let stop = false;
    const issuedBefore: string[] = [];
    const worker = async (): Promise<number> => {
      let done = 0;
      for (let i = 0; i < 400 && !stop; i++) {
        const startedBefore = !backupStarted;
        const token = i % 3 === 0 ? await codeFlow() : await machine();
        if (startedBefore && !backupStarted) issuedBefore.push(token);
        done++;
      }
      return done;
    };
    const load = Promise.all([worker(), worker(), worker()]);
    let loadFailed: Error | undefined;
    load.catch((error: unknown) => {
      loadFailed = error instanceof Error ? error : new Error(String(error));
    });
    // Let the load get going, then back up in the middle of it.
    while (issuedBefore.length < 15) {
      if (loadFailed !== undefined) throw loadFailed;
      await new Promise((r) => setTimeout(r, 20));
    }
    const backupFile = join(scratch, 'gatehouse-backup.sqlite');
    backupStarted = true;
    const backup = await gatehouse(['backup', '--to', backupFile, '--data-dir', dataDir]);
    const afterBackup = await machine();
    stop = true;
    const done = (await load).reduce((a, b) => a + b, 0);
    expect(done).toBeGreaterThan(15);

    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toContain(`to ${backupFile}`);
    expect(backup.stdout).toMatch(/secret key is NOT in the backup/);
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    // One self-contained file: no WAL beside it.
    expect(existsSync(`${backupFile}-wal`)).toBe(false);

    // Restoring over the live database is refused, with or without --force.
    const overLive = await gatehouse(['restore', '--from', backupFile, '--data-dir', dataDir]);
    expect(overLive.code).toBe(1);
    expect(overLive.stderr).toMatch(/a database exists at .*pass --force/);
    const forcedLive = await gatehouse([
      'restore',
      '--from',
      backupFile,
      '--data-dir',
      dataDir,
      '--force',
    ]);
    expect(forcedLive.code).toBe(1);
    expect(forcedLive.stderr).toMatch(/has the database .* open .*stop it before restoring/);

    await server.close();
    server = undefined;

    // A new data directory with the same secret key (kept apart from the backup).
    const newDir = join(scratch, 'restored');
    const withoutSecret = await gatehouse(['restore', '--from', backupFile, '--data-dir', newDir]);
    expect(withoutSecret.code).toBe(0);
    expect(withoutSecret.stdout).toMatch(/secret key is NOT in the backup/);
    expect(withoutSecret.stdout).toMatch(/warning: .*secret\.key is missing/);
    copyFileSync(join(dataDir, 'secret.key'), join(newDir, 'secret.key'));

    // Once there, replacing it asks for --force, and keeps the previous file.
    const again = await gatehouse(['restore', '--from', backupFile, '--data-dir', newDir]);
    expect(again.code).toBe(1);
    const forced = await gatehouse([
      'restore',
      '--from',
      backupFile,
      '--data-dir',
      newDir,
      '--force',
    ]);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.stdout).not.toMatch(/warning/);
    expect(existsSync(join(newDir, 'gatehouse.sqlite.before-restore'))).toBe(true);
    const restoredFile = join(newDir, 'gatehouse.sqlite');
    expect(statSync(restoredFile).mode & 0o777).toBe(0o600);

    const sqlite = new SQLite(restoredFile, { readonly: true });
    expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    sqlite.close();

    const verify = await gatehouse(['audit', 'verify', '--data-dir', newDir]);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^audit log intact: \d+ entries verified/);

    // The restored server, at the same public URL, honours what was issued before the backup.
    restored = await startServer(
      resolveServerConfig({ port: '0', dataDir: newDir, baseUrl: base }, process.cwd()),
      { logger: false },
    );
    const restoredUrl = `http://127.0.0.1:${String((restored.app.server.address() as { port: number }).port)}`;
    for (const token of [...before, ...issuedBefore])
      expect(await client.active(restoredUrl, token)).toBe(true);
    // An access token has no record since issue #15: it is its signature, so one issued after
    // the backup still verifies on the restored server until it expires (ten minutes at most).
    expect(await client.active(restoredUrl, afterBackup)).toBe(true);
  });

  it('works across processes: backup copies from a running serve, which keeps restore out until it stops', async () => {
    const other = await throwawaySqlite();
    const deployment = await Deployment.create(dataLocation(other));
    try {
      const first = await deployment.start('first');
      const created = await deployment.cliJson<{ client_id: string; client_secret: string }>([
        'clients',
        'create',
        '--env',
        'development',
        '--type',
        'web',
        '--name',
        'across processes',
      ]);
      const client = new WebClient(created.client_id, created.client_secret);
      const token = tokensOf(
        await client.clientCredentials(`http://127.0.0.1:${String(first.port)}`),
      ).access_token;

      const file = join(scratch, 'across-processes.sqlite');
      const backup = await deployment.cli(['backup', '--to', file]);
      expect(backup.stderr).toBe('');
      expect(backup.code).toBe(0);
      const refused = await deployment.cli(['restore', '--from', file, '--force']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/has the database .* open .*stop it before restoring/);

      await first.stop();
      const restore = await deployment.cli(['restore', '--from', file, '--force']);
      expect(restore.stderr).toBe('');
      expect(restore.code).toBe(0);
      const second = await deployment.start('second');
      expect(await client.active(`http://127.0.0.1:${String(second.port)}`, token)).toBe(true);
    } finally {
      await deployment.stopAll();
      await other.drop();
    }
  });

  it('points PostgreSQL to pg_dump and pg_restore', async () => {
    const url = 'postgres://gatehouse@127.0.0.1:5432/gatehouse';
    const backup = await gatehouse(['backup', '--to', join(scratch, 'x'), '--database-url', url]);
    expect(backup.code).toBe(2);
    expect(backup.stderr).toMatch(/^gatehouse: error: .*pg_dump/);
    const restore = await gatehouse(['restore', '--from', join(scratch, 'x')], {
      env: { DATABASE_URL: url },
    });
    expect(restore.code).toBe(2);
    expect(restore.stderr).toMatch(/^gatehouse: error: .*pg_restore/);
  });
});
