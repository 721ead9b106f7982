import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData } from './harness.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

let dataDir: string;
const data = (): string[] => ['--data-dir', dataDir];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  await initData(data());
});

interface ClientJson {
  client_id: string;
  grant_types: string[];
  exchange_audiences: string[] | null;
  allowed_resources: string[] | null;
}

describe('gatehouse clients update: token exchange and resources', () => {
  it('sets and clears exchange audiences and allowed resources', async () => {
    const created = JSON.parse(
      (
        await gatehouse([
          'clients',
          'create',
          '--env',
          'development',
          '--type',
          'web',
          '--name',
          'Agent',
          '--json',
          ...data(),
        ])
      ).stdout,
    ) as ClientJson;
    expect(created).toMatchObject({ exchange_audiences: null, allowed_resources: null });
    const update = async (...args: string[]) =>
      gatehouse([
        'clients',
        'update',
        created.client_id,
        '--env',
        'development',
        ...args,
        ...data(),
      ]);

    const set = await update(
      '--grant',
      'client_credentials',
      '--grant',
      GRANT,
      '--exchange-audience',
      'https://api.example.com/',
      '--exchange-audience',
      'https://mail.example.com/',
      '--allowed-resource',
      'https://api.example.com/',
      '--json',
    );
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      grant_types: ['client_credentials', GRANT],
      exchange_audiences: ['https://api.example.com/', 'https://mail.example.com/'],
      allowed_resources: ['https://api.example.com/'],
    });
    const text = await gatehouse([
      'clients',
      'show',
      created.client_id,
      '--env',
      'development',
      ...data(),
    ]);
    expect(text.stdout).toContain('exchange for  https://api.example.com/\n');
    expect(text.stdout).toContain('resources     https://api.example.com/\n');

    // Other changes leave both lists alone.
    expect(JSON.parse((await update('--name', 'Agent 2', '--json')).stdout)).toMatchObject({
      exchange_audiences: ['https://api.example.com/', 'https://mail.example.com/'],
      allowed_resources: ['https://api.example.com/'],
    });

    const cleared = await update('--no-exchange-audiences', '--any-resource', '--json');
    expect(cleared.code).toBe(0);
    expect(JSON.parse(cleared.stdout)).toMatchObject({
      exchange_audiences: null,
      allowed_resources: null,
    });
    const shown = await gatehouse([
      'clients',
      'show',
      created.client_id,
      '--env',
      'development',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      exchange_audiences: null,
      allowed_resources: null,
    });
  });

  it('refuses contradictory options, bad URIs, and the grant for native clients', async () => {
    const created = JSON.parse(
      (
        await gatehouse([
          'clients',
          'create',
          '--env',
          'development',
          '--type',
          'web',
          '--name',
          'Agent',
          '--json',
          ...data(),
        ])
      ).stdout,
    ) as ClientJson;
    const update = async (...args: string[]) =>
      gatehouse([
        'clients',
        'update',
        created.client_id,
        '--env',
        'development',
        ...args,
        ...data(),
      ]);
    const both = await update(
      '--exchange-audience',
      'https://a.example.com/',
      '--no-exchange-audiences',
    );
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('--exchange-audience or --no-exchange-audiences');
    const any = await update('--allowed-resource', 'https://a.example.com/', '--any-resource');
    expect(any.code).not.toBe(0);
    expect(any.stderr).toContain('--allowed-resource or --any-resource');
    const bad = await update('--exchange-audience', 'api.example.com');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not an absolute URI');

    const native = await gatehouse([
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
      '--grant',
      'authorization_code',
      '--grant',
      GRANT,
      ...data(),
    ]);
    expect(native.code).toBe(1);
    expect(native.stderr).toContain('token exchange is for confidential (web) clients only');
  });
});
