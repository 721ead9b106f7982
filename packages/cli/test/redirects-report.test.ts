/**
 * `gatehouse redirects report`: the redirect inventory read from the database, in each format,
 * to standard output or a file; usage as the server's flush would have recorded it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGatehouse, registerDynamicClient, resolveServerConfig } from '@gatehouse/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse, initData, type CliRun } from './harness.js';

interface ReportJson {
  environment: string;
  clients: {
    clientId: string;
    name: string;
    entries: {
      uri: string;
      channel: string;
      registeredBy: string | null;
      uses: number;
      requests: number;
      lastUsedAt: number | null;
      flags: { code: string; reason: string }[];
    }[];
  }[];
}

let workDir: string;
let clientId = '';
const USED_AT = Date.UTC(2026, 0, 15, 9, 30);

const data = (): string[] => ['--data-dir', join(workDir, 'data')];
const cli = (argv: string[]): Promise<CliRun> => gatehouse([...argv, ...data()], { cwd: workDir });

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-report-'));
  await initData(data());
  const created = await cli([
    'clients',
    'create',
    '--env',
    'staging',
    '--type',
    'native',
    '--name',
    'Deploy CLI',
    '--redirect-uri',
    'http://localhost/callback',
    '--redirect-uri',
    'http://127.0.0.1/callback',
    '--json',
  ]);
  expect(created.code).toBe(0);
  clientId = (JSON.parse(created.stdout) as { client_id: string }).client_id;
  const added = await cli([
    'clients',
    'add-redirect',
    '--env',
    'staging',
    '--client',
    clientId,
    '--uri',
    'http://127.0.0.1:9000/review',
    '--expires-in',
    '7d',
  ]);
  expect(added.code).toBe(0);
  // What the server's usage flush would have written after sign-ins.
  const config = resolveServerConfig({ dataDir: join(workDir, 'data') }, workDir);
  const opened = await openGatehouse(config.database, config.secret);
  try {
    await opened.stores.redirectRegistrations.addUsage([
      {
        environment: 'staging',
        clientId,
        kind: 'redirect',
        uri: 'http://127.0.0.1/callback',
        requests: 4,
        uses: 3,
        lastUsedAt: USED_AT,
      },
    ]);
  } finally {
    await opened.handle.close();
  }
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('gatehouse redirects report', () => {
  it('prints the Markdown inventory by default, with the flags and their reasons', async () => {
    const result = await cli(['redirects', 'report', '--env', 'staging']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('# Redirect inventory: staging');
    expect(result.stdout).toContain(`## Deploy CLI (\`${clientId}\`)`);
    expect(result.stdout).toMatch(
      /\| redirect \| `http:\/\/127\.0\.0\.1\/callback` \| loopback 127\.0\.0\.1 \| cli by admin:cli, [^|]+ \| 2026-01-15T09:30:00\.000Z \| 3 \| 4 \| 0 \|/,
    );
    expect(result.stdout).toContain(
      '- `http://localhost/callback`: **Loopback "localhost"**: "localhost" may resolve to something other than this machine (RFC 8252 §8.3: NOT RECOMMENDED); register http://127.0.0.1/callback',
    );
    expect(result.stdout).toContain('**Expiring soon**: expires on');
  });

  it('answers JSON with usage and provenance, and honours --unused-days and --expiring-days', async () => {
    const strict = await cli([
      'redirects',
      'report',
      '--env',
      'staging',
      '--format',
      'json',
      '--unused-days',
      '0',
      '--expiring-days',
      '1',
    ]);
    expect(strict.code).toBe(0);
    const report = JSON.parse(strict.stdout) as ReportJson;
    const entries = report.clients.find((c) => c.clientId === clientId)?.entries ?? [];
    const used = entries.find((e) => e.uri === 'http://127.0.0.1/callback');
    expect(used).toMatchObject({
      channel: 'cli',
      registeredBy: 'admin:cli',
      uses: 3,
      requests: 4,
      lastUsedAt: USED_AT,
    });
    // Unused for 0 days: everything, used or not; nothing expires within a day.
    expect(entries.every((e) => e.flags.some((f) => f.code === 'unused'))).toBe(true);
    expect(entries.some((e) => e.flags.some((f) => f.code === 'expiring_soon'))).toBe(false);
  });

  it('writes CSV to a file with --output and says what it wrote', async () => {
    const result = await cli([
      'redirects',
      'report',
      '--env',
      'staging',
      '--format',
      'csv',
      '--output',
      'inventory.csv',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^wrote inventory\.csv: 1 clients, 3 redirect and 0 post-logout URIs, \d+ flags\n$/,
    );
    const csv = await readFile(join(workDir, 'inventory.csv'), 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^environment,client_id,client_name,/);
    expect(lines.length).toBe(4);
    expect(
      lines.some((line) => line.includes(',http://localhost/callback,loopback,localhost,')),
    ).toBe(true);
  });

  it('never lets a stored client name drive the terminal, in any format', async () => {
    // OSC (window title), ESC [2J (clear screen), the 8-bit CSI, a right-to-left override that
    // would show "exe.jpg" as "gpj.exe": registration refuses them now, and a name stored before
    // the rule is read with U+FFFD in place of each.
    const hostile = 'Evil\u001b]0;owned\u0007\u001b[2J\u009b31m\u202egpj.exe';
    const shown = 'Evil\ufffd]0;owned\ufffd\ufffd[2J\ufffd31m\ufffdgpj.exe';
    const config = resolveServerConfig({ dataDir: join(workDir, 'data') }, workDir);
    const opened = await openGatehouse(config.database, config.secret);
    try {
      const development = await opened.stores.environments.get('development');
      if (development === undefined) throw new Error('no development environment');
      const { client } = await registerDynamicClient(
        { stores: opened.stores, clock: Date.now, actor: 'dynamic:anonymous' },
        development,
        {
          client_name: 'Renamed below',
          redirect_uris: ['http://127.0.0.1/callback'],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          application_type: 'native',
        },
      );
      // Registration refuses such a name now: written as an older release stored it.
      await opened.stores.clients.update(
        'development',
        client.clientId,
        { name: hostile },
        Date.now(),
      );
    } finally {
      await opened.handle.close();
    }
    for (const format of ['md', 'csv', 'json'] as const) {
      const result = await cli(['redirects', 'report', '--env', 'development', '--format', format]);
      expect(result.code, format).toBe(0);
      expect(result.stdout, format).not.toMatch(
        // eslint-disable-next-line no-control-regex -- the characters that must not be written raw
        /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e]/,
      );
      expect(result.stdout, format).toContain(shown);
      if (format === 'json') {
        const report = JSON.parse(result.stdout) as ReportJson;
        expect(report.clients.map((c) => c.name)).toContain(shown);
      }
    }
  });

  it('refuses an unknown environment, a bad number of days and an unknown format in one line', async () => {
    const unknown = await cli(['redirects', 'report', '--env', 'prod']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(
      /^gatehouse: error: no environment "prod" \(known: (development|staging|production)(, (development|staging|production)){2}\)\n$/,
    );
    const days = await cli(['redirects', 'report', '--env', 'staging', '--unused-days', '-3']);
    expect(days.code).toBe(2);
    expect(days.stderr).toContain('--unused-days must be a whole number of days from 0 to 3650');
    const format = await cli(['redirects', 'report', '--env', 'staging', '--format', 'xlsx']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("'xlsx' is invalid");
  });
});
