import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dataOptionsHint } from '../src/commands/data-options.js';
import { gatehouse } from './harness.js';

let folder: string;

beforeEach(async () => {
  folder = await realpath(await mkdtemp(join(tmpdir(), 'gatehouse-hints-')));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('the hints serve prints', () => {
  it('name the data directory in use, so the operator hint works from any folder', async () => {
    const served = await gatehouse(['serve', '--port', '0', '--data-dir', 'state'], {
      cwd: folder,
    });
    expect(served.code).toBe(0);
    const dir = join(folder, 'state');
    const hint = `npx gatehouse operators create --email you@example.com --role admin --data-dir ${dir}`;
    expect(served.stdout).toContain(`  ${hint}\n`);
    // Followed as printed, from another folder: it finds the same data and creates nothing new.
    const elsewhere = await realpath(await mkdtemp(join(tmpdir(), 'gatehouse-hints-other-')));
    try {
      const argv = hint.split(' ').slice(2);
      const created = await gatehouse([...argv, '--json'], { cwd: elsewhere });
      expect(created.code).toBe(0);
      expect(await readdir(elsewhere)).toEqual([]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
    const listed = await gatehouse(['operators', 'list', '--json', '--data-dir', dir]);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ email: 'you@example.com' }]);
    // With an operator, no hint.
    const again = await gatehouse(['serve', '--port', '0', '--data-dir', dir]);
    expect(again.stdout).not.toContain('no operator yet');
  });

  it('name a PostgreSQL database by its URL without the password, and quote for the shell', () => {
    expect(dataOptionsHint({ kind: 'postgres', url: 'postgres://gh:s3cret@db.internal/gh' })).toBe(
      "--database-url 'postgres://gh:***@db.internal/gh'",
    );
    expect(dataOptionsHint({ kind: 'sqlite', dataDir: "/srv/it's here" })).toBe(
      `--data-dir '/srv/it'\\''s here'`,
    );
  });
});
