import { spawn } from 'node:child_process';
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData } from './harness.js';

let dataDir: string;
const data = (): string[] => ['--data-dir', dataDir];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  await initData(data());
});

describe('gatehouse env', () => {
  it('lists the standard environments and creates one that follows staging rules', async () => {
    expect((await gatehouse(['env', 'list', ...data()])).stdout).toBe(
      'development      development\nstaging          staging\nproduction       production\n',
    );
    const created = await gatehouse([
      'env',
      'create',
      'qa-eu',
      '--like',
      'staging',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(created.stdout)).toEqual({ name: 'qa-eu', tier: 'staging' });
    const again = await gatehouse(['env', 'create', 'qa-eu', ...data()]);
    expect(again).toMatchObject({
      code: 1,
      stderr: 'gatehouse: error: environment "qa-eu" exists already\n',
    });
    const bad = await gatehouse(['env', 'create', 'QA!', ...data()]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not a valid environment name');
  });
});

describe('gatehouse clients', () => {
  it('creates a web client, printing its secret once, and never again', async () => {
    const created = await gatehouse([
      'clients',
      'create',
      '--env',
      'production',
      '--type',
      'web',
      '--name',
      'Shop',
      '--redirect-uri',
      'https://shop.example.com/cb',
      '--json',
      ...data(),
    ]);
    expect(created.code).toBe(0);
    const client = JSON.parse(created.stdout) as {
      client_id: string;
      client_secret: string;
      redirect_uris: string[];
    };
    expect(client.client_id).toMatch(/^ghc_production_/);
    expect(client.client_secret).toMatch(/^ghs_production_/);
    const shown = await gatehouse([
      'clients',
      'show',
      client.client_id,
      '--env',
      'production',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      client_id: client.client_id,
      redirect_uris: ['https://shop.example.com/cb'],
    });
    expect(shown.stdout).not.toContain(client.client_secret);
    const rotated = await gatehouse([
      'clients',
      'rotate-secret',
      client.client_id,
      '--env',
      'production',
      '--json',
      ...data(),
    ]);
    expect((JSON.parse(rotated.stdout) as { client_secret: string }).client_secret).not.toBe(
      client.client_secret,
    );
  });

  it('refuses a redirect URI the policy refuses, exits 1 and stores nothing', async () => {
    const refused = await gatehouse([
      'clients',
      'create',
      '--env',
      'production',
      '--type',
      'web',
      '--name',
      'Bad',
      '--redirect-uri',
      'http://shop.example.com/cb',
      ...data(),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'gatehouse: error: redirect URI http://shop.example.com/cb refused: Plain http is allowed only on the loopback hosts 127.0.0.1, [::1] and localhost; use https://shop.example.com/cb.\n',
    );
    expect(
      (await gatehouse(['clients', 'list', '--env', 'production', '--json', ...data()])).stdout,
    ).toBe('[]\n');
    const wildcard = await gatehouse([
      'clients',
      'create',
      '--env',
      'production',
      '--type',
      'web',
      '--name',
      'Bad',
      '--redirect-uri',
      'https://*.preview.example.com/cb',
      ...data(),
    ]);
    expect(wildcard.stderr).toContain('not allowed in production');
  });

  it('applies the policy of the environment: a wildcard is fine in staging', async () => {
    const ok = await gatehouse([
      'clients',
      'create',
      '--env',
      'staging',
      '--type',
      'web',
      '--name',
      'Review apps',
      '--redirect-uri',
      'https://*.preview.example.com/cb',
      ...data(),
    ]);
    expect(ok.code).toBe(0);
  });

  it('refuses client_credentials for a native client', async () => {
    const refused = await gatehouse([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'native',
      '--name',
      'CLI',
      '--grant',
      'client_credentials',
      ...data(),
    ]);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain('native clients cannot use client_credentials');
  });

  it('updates redirect URIs through the policy, and deletes', async () => {
    const created = JSON.parse(
      (
        await gatehouse([
          'clients',
          'create',
          '--env',
          'development',
          '--type',
          'native',
          '--name',
          'CLI',
          '--redirect-uri',
          'http://127.0.0.1/cb',
          '--json',
          ...data(),
        ])
      ).stdout,
    ) as { client_id: string };
    const id = created.client_id;
    const added = await gatehouse([
      'clients',
      'update',
      id,
      '--env',
      'development',
      '--add-redirect-uri',
      'com.example.cli:/cb',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(added.stdout)).toMatchObject({
      redirect_uris: ['http://127.0.0.1/cb', 'com.example.cli:/cb'],
    });
    const refused = await gatehouse([
      'clients',
      'update',
      id,
      '--env',
      'development',
      '--add-redirect-uri',
      'myapp:/cb',
      ...data(),
    ]);
    expect(refused.code).toBe(1);
    expect(
      (await gatehouse(['clients', 'delete', id, '--env', 'development', ...data()])).stdout,
    ).toBe(`deleted client ${id}\n`);
    expect((await gatehouse(['clients', 'show', id, '--env', 'development', ...data()])).code).toBe(
      1,
    );
  });
});

describe('gatehouse users', () => {
  it('creates a user with a password from stdin, never from an argument, and disables it', async () => {
    const created = await gatehouse(
      [
        'users',
        'create',
        '--env',
        'development',
        '--email',
        'Dora@Example.com',
        '--password-stdin',
        '--json',
        ...data(),
      ],
      { stdin: 'a fine password\n' },
    );
    expect(JSON.parse(created.stdout)).toMatchObject({
      email: 'Dora@Example.com',
      has_password: true,
      disabled: false,
    });
    const duplicate = await gatehouse([
      'users',
      'create',
      '--env',
      'development',
      '--email',
      'dora@example.com',
      ...data(),
    ]);
    expect(duplicate.stderr).toContain('exists already');
    const weak = await gatehouse(
      [
        'users',
        'create',
        '--env',
        'development',
        '--email',
        'eve@example.com',
        '--password-stdin',
        ...data(),
      ],
      { stdin: 'short\n' },
    );
    expect(weak).toMatchObject({
      code: 1,
      stderr: 'gatehouse: error: the password must have at least 10 characters\n',
    });
    const disabled = await gatehouse([
      'users',
      'disable',
      'dora@example.com',
      '--env',
      'development',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ disabled: true });
  });
});

describe('gatehouse audit', () => {
  it('verifies the chain, and fails at the first tampered entry', async () => {
    await gatehouse([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'native',
      '--name',
      'A',
      '--redirect-uri',
      'http://127.0.0.1/cb',
      ...data(),
    ]);
    await gatehouse([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'native',
      '--name',
      'B',
      '--redirect-uri',
      'http://127.0.0.1/cb',
      ...data(),
    ]);
    const intact = await gatehouse(['audit', 'verify', ...data()]);
    expect(intact).toMatchObject({ code: 0, stdout: 'audit log intact: 5 entries verified\n' });
    const tail = await gatehouse([
      'audit',
      'tail',
      '--type',
      'client.created',
      '--json',
      ...data(),
    ]);
    expect(
      (JSON.parse(tail.stdout) as { data: { name: string } }[]).map((e) => e.data.name),
    ).toEqual(['A', 'B']);

    const db = new Database(join(dataDir, 'gatehouse.sqlite'));
    db.prepare(`update audit_log set data = replace(data, '"A"', '"Z"') where seq = 4`).run();
    db.close();
    const broken = await gatehouse(['audit', 'verify', ...data()]);
    expect(broken).toMatchObject({
      code: 1,
      stdout:
        'audit log broken at entry 4: its content does not match its MAC: it was altered, or written with another secret (3 entries before it verified)\n',
    });
  });

  it('reports entries deleted and the chain recomputed with plain SHA-256 (before: "intact")', async () => {
    for (const name of ['A', 'B', 'C'])
      await gatehouse([
        'clients',
        'create',
        '--env',
        'development',
        '--type',
        'native',
        '--name',
        name,
        '--redirect-uri',
        'http://127.0.0.1/cb',
        ...data(),
      ]);
    const db = new Database(join(dataDir, 'gatehouse.sqlite'));
    db.prepare(`delete from audit_log where seq = 5`).run();
    const rows = db.prepare('select * from audit_log order by seq').all() as AuditRow[];
    db.prepare('delete from audit_log').run();
    let prev = '0'.repeat(64);
    rows.forEach((row, i) => {
      const seq = i + 1;
      const material = JSON.stringify([
        seq,
        row.at,
        row.environment,
        row.type,
        row.actor,
        row.client_id,
        row.user_id,
        JSON.parse(row.data),
        prev,
      ]);
      const hash = createHash('sha256').update(material).digest('hex');
      db.prepare(
        'insert into audit_log (seq, at, environment, type, actor, client_id, user_id, data, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        seq,
        row.at,
        row.environment,
        row.type,
        row.actor,
        row.client_id,
        row.user_id,
        row.data,
        prev,
        hash,
      );
      prev = hash;
    });
    db.close();
    const result = await gatehouse(['audit', 'verify', ...data()]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^audit log broken at entry 1: none of its 5 entries is keyed/);
  });

  it('reports a truncated chain against the latest checkpoint of an export (--checkpoint)', async () => {
    await gatehouse(['audit', 'verify', ...data()]);
    const db = new Database(join(dataDir, 'gatehouse.sqlite'));
    const head = db.prepare('select seq, hash from audit_log order by seq desc limit 1').get() as {
      seq: number;
      hash: string;
    };
    // A checkpoint line as `serve --audit-export` writes it, signed with the data directory's secret.
    const secret = (await readFile(join(dataDir, 'secret.key'), 'utf8')).trim();
    const key = Buffer.from(
      hkdfSync('sha256', secret, 'gatehouse', 'gatehouse audit checkpoint v1', 32),
    );
    const at = Date.UTC(2030, 0, 1);
    const mac = `v1:${createHmac('sha256', key)
      .update(JSON.stringify(['gatehouse audit checkpoint', head.seq, head.hash, at]))
      .digest('base64url')}`;
    const file = join(dataDir, 'export.jsonl');
    await writeFile(
      file,
      `{"type":"entry","seq":1}\n${JSON.stringify({ type: 'checkpoint', count: head.seq, head: head.hash, at, mac })}\n`,
    );
    expect(await gatehouse(['audit', 'verify', '--checkpoint', file, ...data()])).toMatchObject({
      code: 0,
      stdout: `audit log intact: ${head.seq} entries verified; it still reaches the checkpoint of 2030-01-01T00:00:00.000Z (${head.seq} entries)\n`,
    });
    db.prepare('delete from audit_log where seq >= ?').run(head.seq - 1);
    db.close();
    expect(await gatehouse(['audit', 'verify', '--checkpoint', file, ...data()])).toMatchObject({
      code: 1,
      stdout: `audit log truncated: the checkpoint of 2030-01-01T00:00:00.000Z says ${head.seq} entries ending in ${head.hash.slice(0, 19)}…, the database has ${head.seq - 2}\n`,
    });
  });

  it('prunes: archives the old entries, removes them, and the rest and the archive verify', async () => {
    for (const name of ['A', 'B', 'C'])
      await gatehouse(['env', 'create', `prune-${name.toLowerCase()}`, ...data()]);
    const archive = join(dataDir, 'archive.jsonl');
    // Every entry is older than the next century except the newest, which always stays.
    const pruned = await gatehouse([
      'audit',
      'prune',
      '--before',
      '2100-01-01',
      '--to',
      archive,
      '--json',
      ...data(),
    ]);
    expect(pruned.code).toBe(0);
    const result = JSON.parse(pruned.stdout) as { removed: number; lastSeq: number };
    expect(result.removed).toBeGreaterThan(2);
    const verified = await gatehouse(['audit', 'verify', ...data()]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(
      new RegExp(
        `^audit log intact: 1 entries verified, from entry ${result.lastSeq + 1} \\(the ${result.removed} before it were archived and removed`,
      ),
    );
    expect(await gatehouse(['audit', 'verify-archive', archive, ...data()])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        new RegExp(
          `^archive intact: entries 1 to ${result.lastSeq}, ending at its signed checkpoint`,
        ),
      ) as unknown,
    });
    // The archive reaches the database: its checkpoint is where the remaining chain links.
    expect((await gatehouse(['audit', 'verify', '--checkpoint', archive, ...data()])).code).toBe(0);
    // An archive is never overwritten (and nothing is removed then); an edited one does not verify.
    await gatehouse(['env', 'create', 'prune-d', ...data()]);
    const refused = await gatehouse([
      'audit',
      'prune',
      '--before',
      '2100-01-01',
      '--to',
      archive,
      ...data(),
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'exists: an archive is never overwritten (nothing was removed)',
    );
    expect((await gatehouse(['audit', 'verify', ...data()])).stdout).toMatch(
      /^audit log intact: 2 entries verified/,
    );
    const text = await readFile(archive, 'utf8');
    await writeFile(archive, text.replace('prune-a', 'prune-z'));
    expect(await gatehouse(['audit', 'verify-archive', archive, ...data()])).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(
        /^archive broken at entry \d+: its content does not match its MAC/,
      ) as unknown,
    });
  });
});

interface AuditRow {
  at: number;
  environment: string | null;
  type: string;
  actor: string;
  client_id: string | null;
  user_id: string | null;
  data: string;
}

describe('gatehouse serve', () => {
  it('refuses a plain-http base URL on a public host with one line', async () => {
    const result = await gatehouse(['serve', '--base-url', 'http://auth.example.com', ...data()]);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe(
      'gatehouse: error: --base-url may use plain http only on a loopback host (127.0.0.1, [::1], localhost); use https://auth.example.com/\n',
    );
  });

  it('refuses a --trust-proxy that is neither a hop count nor proxy addresses, with one line', async () => {
    for (const value of ['true', '0', '10.0.0.0/33', '10.0.0.1,,10.0.0.2', 'proxy.example.com']) {
      const result = await gatehouse(['serve', '--trust-proxy', value, ...data()]);
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(
        /^gatehouse: error: --trust-proxy must be a number of proxy hops .*\n$/,
      );
      expect(result.stderr.split('\n')).toHaveLength(2);
    }
  });

  it('starts, prints the issuers and the demo credentials once, serves discovery, and stops on SIGTERM', async () => {
    const launcher = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));
    const child = spawn(process.execPath, [launcher, 'serve', '--port', '0', ...data()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no start-up banner: ${out}`));
      }, 30_000);
      child.stdout.on('data', () => {
        if (out.includes('Stop with Ctrl-C.')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
    expect(out).toContain(`development  ${url}/e/development`);
    expect(out).toMatch(/password +\S{16}/);
    const discovery = (await (
      await fetch(`${url}/e/production/.well-known/openid-configuration`)
    ).json()) as { issuer: string };
    expect(discovery.issuer).toBe(`${url}/e/production`);
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        resolve(code);
      }),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    // A second start shows no password again.
    const second = await gatehouse(['serve', '--port', '0', ...data()]);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('password');
  });
});
