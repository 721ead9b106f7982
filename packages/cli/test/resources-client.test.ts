import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData } from './harness.js';

const API = 'https://api.example.com/';

let dataDir: string;
const data = (): string[] => ['--data-dir', dataDir];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  await initData(data());
});

async function createClient(env: string, type: 'web' | 'native'): Promise<string> {
  const created = await gatehouse([
    'clients',
    'create',
    '--env',
    env,
    '--type',
    type,
    '--name',
    `${type} client`,
    ...(type === 'native' ? ['--redirect-uri', 'http://127.0.0.1/callback'] : []),
    '--json',
    ...data(),
  ]);
  expect(created.stderr).toBe('');
  return (JSON.parse(created.stdout) as { client_id: string }).client_id;
}

interface ResourceJson {
  uri: string;
  clientId: string | null;
}

const resources = async (): Promise<ResourceJson[]> =>
  JSON.parse(
    (await gatehouse(['resources', 'list', '--env', 'development', '--json', ...data()])).stdout,
  ) as ResourceJson[];

describe('gatehouse resources: the client a resource server authenticates as', () => {
  it('add --client links a confidential client; update changes and removes it', async () => {
    const first = await createClient('development', 'web');
    const second = await createClient('development', 'web');
    const added = await gatehouse([
      'resources',
      'add',
      '--env',
      'development',
      '--uri',
      API,
      '--name',
      'API',
      '--client',
      first,
      ...data(),
    ]);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toContain(`client ${first}`);
    expect(await resources()).toMatchObject([{ uri: API, clientId: first }]);

    const changed = await gatehouse([
      'resources',
      'update',
      '--env',
      'development',
      '--uri',
      API,
      '--client',
      second,
      '--json',
      ...data(),
    ]);
    expect(changed.code).toBe(0);
    expect(JSON.parse(changed.stdout)).toMatchObject({ uri: API, clientId: second });
    const listed = await gatehouse(['resources', 'list', '--env', 'development', ...data()]);
    expect(listed.stdout).toContain(`client ${second}`);

    const unlinked = await gatehouse([
      'resources',
      'update',
      '--env',
      'development',
      '--uri',
      API,
      '--no-client',
      ...data(),
    ]);
    expect(unlinked.code).toBe(0);
    expect(unlinked.stdout).toContain('no client');
    expect(await resources()).toMatchObject([{ uri: API, clientId: null }]);

    const audit = await gatehouse([
      'audit',
      'tail',
      '--type',
      'resource.client_changed',
      '--json',
      ...data(),
    ]);
    const entries = (JSON.parse(audit.stdout) as { data: unknown }[]).map((e) => e.data);
    expect(entries).toEqual(
      expect.arrayContaining([
        { uri: API, clientId: second, previousClientId: first },
        { uri: API, clientId: null, previousClientId: second },
      ]),
    );
  });

  it('refuses a public client, an unknown one and another environment’s, changing nothing', async () => {
    const linked = await createClient('development', 'web');
    const publicClient = await createClient('development', 'native');
    const staging = await createClient('staging', 'web');
    const add = (client: string, uri: string) =>
      gatehouse([
        'resources',
        'add',
        '--env',
        'development',
        '--uri',
        uri,
        '--name',
        'API',
        '--client',
        client,
        ...data(),
      ]);
    const refusedPublic = await add(publicClient, 'https://public.example.com/');
    expect(refusedPublic.code).toBe(1);
    expect(refusedPublic.stderr).toContain('must be confidential');
    const refusedStaging = await add(staging, 'https://staging.example.com/');
    expect(refusedStaging.code).toBe(1);
    expect(refusedStaging.stderr).toContain('belongs to the staging environment');
    const refusedUnknown = await add('nobody', 'https://unknown.example.com/');
    expect(refusedUnknown.code).toBe(1);
    expect(refusedUnknown.stderr).toContain('no client nobody');
    expect(await resources()).toEqual([]);

    expect((await add(linked, API)).code).toBe(0);
    for (const client of [publicClient, staging, 'nobody']) {
      const refused = await gatehouse([
        'resources',
        'update',
        '--env',
        'development',
        '--uri',
        API,
        '--client',
        client,
        ...data(),
      ]);
      expect(refused.code).toBe(1);
    }
    const neither = await gatehouse([
      'resources',
      'update',
      '--env',
      'development',
      '--uri',
      API,
      ...data(),
    ]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('--no-client');
    expect(await resources()).toMatchObject([{ uri: API, clientId: linked }]);
  });
});
