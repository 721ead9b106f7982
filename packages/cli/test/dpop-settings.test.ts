import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData } from './harness.js';

/**
 * Issue #17's settings at the command line: a client's require-DPoP (RFC 9449), on by default for
 * a public client an operator registers in (or promotes to) production, and an environment's
 * require-DPoP and refresh grace window.
 */

let dataDir: string;
const data = (): string[] => ['--data-dir', dataDir];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-dpop-'));
  await initData(data());
});

interface ClientJson {
  client_id: string;
  dpop_bound_access_tokens: boolean;
  [key: string]: unknown;
}

const REDIRECT: Record<string, string[]> = {
  native: ['--redirect-uri', 'http://127.0.0.1/callback'],
  spa: ['--redirect-uri', 'https://app.example.com/callback'],
  web: ['--redirect-uri', 'https://app.example.com/callback'],
};

async function create(env: string, type: string, ...extra: string[]): Promise<ClientJson> {
  const result = await gatehouse([
    'clients',
    'create',
    '--env',
    env,
    '--type',
    type,
    '--name',
    `A ${type} app`,
    ...(REDIRECT[type] ?? []),
    ...extra,
    '--json',
    ...data(),
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ClientJson;
}

const envSettings = async (...args: string[]) => {
  const result = await gatehouse(['env', 'settings', 'production', ...args, ...data()]);
  return result;
};
const envJson = async () =>
  JSON.parse((await envSettings('--json')).stdout) as Record<string, unknown>;

describe('gatehouse clients: require DPoP', () => {
  it('a native or spa client registered in production requires DPoP unless told --no-require-dpop', async () => {
    expect((await create('production', 'native')).dpop_bound_access_tokens).toBe(true);
    expect((await create('production', 'spa')).dpop_bound_access_tokens).toBe(true);
    expect(
      (await create('production', 'native', '--no-require-dpop')).dpop_bound_access_tokens,
    ).toBe(false);
    expect((await create('production', 'spa', '--no-require-dpop')).dpop_bound_access_tokens).toBe(
      false,
    );
  });

  it('elsewhere, and for web clients, DPoP is required only when asked', async () => {
    expect((await create('production', 'web')).dpop_bound_access_tokens).toBe(false);
    expect((await create('staging', 'native')).dpop_bound_access_tokens).toBe(false);
    expect((await create('development', 'spa')).dpop_bound_access_tokens).toBe(false);
    expect((await create('production', 'web', '--require-dpop')).dpop_bound_access_tokens).toBe(
      true,
    );
    expect((await create('development', 'native', '--require-dpop')).dpop_bound_access_tokens).toBe(
      true,
    );
  });

  it('update turns it on and off, show says so, and other changes leave it as it is', async () => {
    const client = await create('production', 'native', '--no-require-dpop');
    const update = async (...args: string[]) => {
      const result = await gatehouse([
        'clients',
        'update',
        client.client_id,
        '--env',
        'production',
        ...args,
        '--json',
        ...data(),
      ]);
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as ClientJson;
    };
    // An existing client keeps what it has: the production default is for new clients.
    expect((await update('--name', 'Renamed')).dpop_bound_access_tokens).toBe(false);
    expect((await update('--require-dpop')).dpop_bound_access_tokens).toBe(true);
    const shown = await gatehouse([
      'clients',
      'show',
      client.client_id,
      '--env',
      'production',
      ...data(),
    ]);
    expect(shown.stdout).toMatch(/require DPoP {2}yes/);
    expect((await update('--name', 'Again')).dpop_bound_access_tokens).toBe(true);
    expect((await update('--no-require-dpop')).dpop_bound_access_tokens).toBe(false);
  });

  it('promotion to production applies the default to a new public client, and keeps a promoted one’s choice', async () => {
    const source = await create('staging', 'native');
    expect(source.dpop_bound_access_tokens).toBe(false);
    const promote = async () => {
      const result = await gatehouse([
        'clients',
        'promote',
        '--from',
        'staging',
        '--to',
        'production',
        '--client',
        source.client_id,
        '--json',
        ...data(),
      ]);
      expect(result.code).toBe(0);
      return (JSON.parse(result.stdout) as { client: ClientJson }).client;
    };
    const target = await promote();
    expect(target.dpop_bound_access_tokens).toBe(true);
    // The operator opts the promoted client out; promoting again does not undo it.
    const optOut = await gatehouse([
      'clients',
      'update',
      target.client_id,
      '--env',
      'production',
      '--no-require-dpop',
      ...data(),
    ]);
    expect(optOut.code).toBe(0);
    expect((await promote()).dpop_bound_access_tokens).toBe(false);
  });
});

describe('gatehouse env settings: require DPoP and the refresh grace window', () => {
  it('shows the defaults, and sets and clears both', async () => {
    expect(await envJson()).toMatchObject({ require_dpop: false, refresh_grace_seconds: 5 });
    const shown = await envSettings();
    expect(shown.stdout).toMatch(/require DPoP {8}no \(per client\)/);
    expect(shown.stdout).toMatch(/refresh grace {7}5 s/);

    const set = await envSettings('--require-dpop', '--refresh-grace', '30', '--json');
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ require_dpop: true, refresh_grace_seconds: 30 });
    expect((await envSettings()).stdout).toMatch(/require DPoP {8}yes, for every client/);

    // 0 turns the grace window off.
    const off = await envSettings('--no-require-dpop', '--refresh-grace', '0', '--json');
    expect(JSON.parse(off.stdout)).toMatchObject({ require_dpop: false, refresh_grace_seconds: 0 });
    expect((await envSettings()).stdout).toMatch(/refresh grace {7}off/);
    expect((await envSettings('--refresh-grace', '60', '--json')).code).toBe(0);
    expect(await envJson()).toMatchObject({ refresh_grace_seconds: 60 });
  });

  it.each(['61', '-1', '1.5', 'abc', '5s', ''])(
    'refuses --refresh-grace %j with one clear line, changing nothing',
    async (value) => {
      const refused = await envSettings('--require-dpop', '--refresh-grace', value);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toBe('');
      const lines = refused.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/refresh grace must be a whole number of seconds from 0.*to 60/);
      // Nothing changed: not the grace, and not the DPoP setting given with it.
      expect(await envJson()).toMatchObject({ require_dpop: false, refresh_grace_seconds: 5 });
    },
  );

  it('the changes are audited like the other environment settings', async () => {
    await envSettings('--require-dpop', '--refresh-grace', '10');
    const audit = await gatehouse([
      'audit',
      'tail',
      '--env',
      'production',
      '--type',
      'environment.settings_changed',
      '--json',
      ...data(),
    ]);
    expect(audit.code).toBe(0);
    const entries = JSON.parse(audit.stdout) as {
      type: string;
      data: Record<string, Record<string, unknown>>;
    }[];
    const change = entries.filter((e) => e.type === 'environment.settings_changed').at(-1);
    expect(change?.data.before).toMatchObject({ requireDpop: false, refreshGraceSeconds: 5 });
    expect(change?.data.after).toMatchObject({ requireDpop: true, refreshGraceSeconds: 10 });
  });
});
