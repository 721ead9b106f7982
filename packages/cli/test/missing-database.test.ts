import { mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { throwawayPostgres } from '../../server/test/support/databases.js';
import { TEST_SECRET_KEY } from '../../server/test/support/server.js';
import { gatehouse } from './harness.js';

/** Admin commands never create a database: only `serve` and `init` do. */

let folder: string;

beforeEach(async () => {
  // The real path: the refusal names the absolute path it looked at.
  folder = await realpath(await mkdtemp(join(tmpdir(), 'gatehouse-missing-')));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const refusal = (dir: string): string =>
  `gatehouse: error: no Gatehouse database at ${join(dir, 'gatehouse.sqlite')}; run \`gatehouse serve\` or \`gatehouse init\` there first, or point to it with --data-dir / GATEHOUSE_DATA_DIR, or --database-url / GATEHOUSE_DATABASE_URL\n`;

const PLAN = `version: 1
environments:
  development:
    clients:
      - key: app
        name: App
        type: native
        redirect_uris: [http://127.0.0.1/callback]
`;

const FAMILIES: readonly (readonly string[])[] = [
  ['env', 'list'],
  ['env', 'create', 'qa', '--like', 'staging'],
  ['users', 'list', '--env', 'development'],
  ['users', 'create', '--env', 'development', '--email', 'a@example.com'],
  ['clients', 'list', '--env', 'development'],
  ['clients', 'create', '--env', 'development', '--type', 'native', '--name', 'X'],
  ['operators', 'list'],
  ['operators', 'create', '--email', 'op@example.com', '--role', 'admin'],
  ['audit', 'tail'],
  ['audit', 'verify'],
  ['keys', 'list', '--env', 'development'],
  ['keys', 'rotate', '--env', 'development'],
  ['registration', 'show', '--env', 'development'],
  ['resources', 'list', '--env', 'development'],
  ['plan', '-f', 'gatehouse.yaml'],
  ['apply', '-f', 'gatehouse.yaml'],
];

describe('an admin command where there is no database', () => {
  it.each(FAMILIES.map((argv) => [argv.join(' '), argv] as const))(
    '`gatehouse %s` refuses in one line naming the path, and creates nothing',
    async (_name, argv) => {
      await writeFile(join(folder, 'gatehouse.yaml'), PLAN);
      const result = await gatehouse([...argv], { cwd: folder });
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(refusal(join(folder, '.gatehouse')));
      // Nothing left behind: no directory, no database, no secret.key.
      expect(await readdir(folder)).toEqual(['gatehouse.yaml']);
    },
  );

  it('names a mistyped --data-dir, and GATEHOUSE_DATA_DIR, and creates neither', async () => {
    const typo = await gatehouse(['users', 'list', '--env', 'development', '--data-dir', 'dta'], {
      cwd: folder,
    });
    expect(typo).toMatchObject({ code: 2, stdout: '', stderr: refusal(join(folder, 'dta')) });
    const fromEnv = await gatehouse(['clients', 'list', '--env', 'development'], {
      cwd: folder,
      env: { GATEHOUSE_DATA_DIR: join(folder, 'elsewhere') },
    });
    expect(fromEnv).toMatchObject({
      code: 2,
      stderr: refusal(join(folder, 'elsewhere')),
    });
    expect(await readdir(folder)).toEqual([]);
  });

  it('refuses a file that is not a Gatehouse database, and leaves it as it was', async () => {
    const dir = join(folder, 'data');
    await gatehouse(['init', '--data-dir', dir], { cwd: folder });
    await rm(join(dir, 'gatehouse.sqlite'));
    await writeFile(join(dir, 'gatehouse.sqlite'), '');
    const result = await gatehouse(['env', 'list', '--data-dir', dir], { cwd: folder });
    expect(result).toMatchObject({ code: 2, stderr: refusal(dir) });
    expect((await readdir(dir)).sort()).toEqual(['gatehouse.sqlite', 'secret.key']);
  });

  it('keeps the redirects commands working without any database', async () => {
    const validate = await gatehouse(
      ['redirects', 'validate', '--env', 'staging', '--type', 'web', 'https://app.example.com/cb'],
      { cwd: folder },
    );
    expect(validate.code).toBe(0);
    const match = await gatehouse(
      [
        'redirects',
        'match',
        '--registered',
        'https://a.example.com/cb',
        'https://a.example.com/cb',
      ],
      { cwd: folder },
    );
    expect(match.code).toBe(0);
    expect(await readdir(folder)).toEqual([]);
  });
});

describe('gatehouse init', () => {
  it('creates the database, the secret key and the environments, says where, and is idempotent', async () => {
    const first = await gatehouse(['init'], { cwd: folder });
    const dir = join(folder, '.gatehouse');
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(
      [
        `Created a Gatehouse database at ${join(dir, 'gatehouse.sqlite')}`,
        `  secret key    ${join(dir, 'secret.key')} (keep it with the database)`,
        '  environments  development, staging, production',
        '',
      ].join('\n'),
    );
    expect((await readdir(dir)).filter((f) => !/-(wal|shm)$/.test(f)).sort()).toEqual([
      'gatehouse.sqlite',
      'secret.key',
    ]);
    const again = await gatehouse(['init', '--json'], { cwd: folder });
    expect(JSON.parse(again.stdout)).toEqual({
      created: false,
      database: join(dir, 'gatehouse.sqlite'),
      secret_key_file: join(dir, 'secret.key'),
      environments: ['development', 'staging', 'production'],
    });
    // And the admin commands now find it, from the same folder.
    const list = await gatehouse(['users', 'list', '--env', 'development'], { cwd: folder });
    expect(list.code).toBe(0);
  });

  it('follows GATEHOUSE_DATA_DIR like the admin commands', async () => {
    const env = { GATEHOUSE_DATA_DIR: join(folder, 'state') };
    expect((await gatehouse(['init'], { cwd: folder, env })).code).toBe(0);
    expect((await gatehouse(['env', 'list'], { cwd: folder, env })).code).toBe(0);
    expect(await readdir(folder)).toEqual(['state']);
  });
});

describe('on PostgreSQL', () => {
  it('refuses a reachable database without Gatehouse tables, creates none, and init creates them', async () => {
    const db = await throwawayPostgres();
    try {
      if (db.target.kind !== 'postgres') throw new Error('not postgres');
      const url = new URL(db.target.url);
      // The password is never shown (the test server trusts local connections and ignores it).
      url.password = 's3cret';
      const env = { GATEHOUSE_SECRET_KEY: TEST_SECRET_KEY, GATEHOUSE_DATABASE_URL: url.href };
      const shown = url.href.replace(':s3cret@', ':***@');
      const refused = await gatehouse(['users', 'list', '--env', 'development'], {
        cwd: folder,
        env,
      });
      expect(refused).toMatchObject({
        code: 2,
        stdout: '',
        stderr: `gatehouse: error: no Gatehouse database at ${shown}; run \`gatehouse serve\` or \`gatehouse init\` there first, or point to it with --data-dir / GATEHOUSE_DATA_DIR, or --database-url / GATEHOUSE_DATABASE_URL\n`,
      });
      const tables = async (): Promise<number> => {
        const client = new pg.Client({
          connectionString: db.target.kind === 'postgres' ? db.target.url : '',
        });
        await client.connect();
        try {
          const result = await client.query<{ n: string }>(
            "select count(*) as n from information_schema.tables where table_schema = 'public'",
          );
          return Number(result.rows[0]?.n);
        } finally {
          await client.end();
        }
      };
      expect(await tables()).toBe(0);
      const init = await gatehouse(['init'], { cwd: folder, env });
      expect(init).toMatchObject({ code: 0, stderr: '' });
      expect(init.stdout).toContain(`Created a Gatehouse database at ${shown}`);
      expect(init.stdout).not.toContain('s3cret');
      expect(await tables()).toBeGreaterThan(0);
      const listed = await gatehouse(['env', 'list'], { cwd: folder, env });
      expect(listed.code).toBe(0);
      expect(await readdir(folder)).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('never shows a password given as a query parameter of the URL (?password=, libpq style)', async () => {
    const db = await throwawayPostgres();
    try {
      if (db.target.kind !== 'postgres') throw new Error('not postgres');
      const url = new URL(db.target.url);
      url.searchParams.set('password', 's3cret');
      url.searchParams.set('sslpassword', 'k3ypass');
      const env = { GATEHOUSE_SECRET_KEY: TEST_SECRET_KEY, GATEHOUSE_DATABASE_URL: url.href };
      const refused = await gatehouse(['users', 'list', '--env', 'development'], {
        cwd: folder,
        env,
      });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('no Gatehouse database at');
      expect(refused.stderr).toContain('password=***');
      const init = await gatehouse(['init'], { cwd: folder, env });
      expect(init.code).toBe(0);
      for (const output of [refused.stdout, refused.stderr, init.stdout, init.stderr])
        for (const secret of ['s3cret', 'k3ypass']) expect(output).not.toContain(secret);
    } finally {
      await db.drop();
    }
  });
});
