import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData, type CliRun } from './harness.js';

/**
 * Issue #18's loopback policy at the command line: `env settings --loopback-hosts` refuses
 * localhost in production (RFC 8252 §8.3), lists the registrations made before that now violate
 * it, and from then on `clients create` and the declarative file are refused with the
 * explainer's reason; `default` goes back to all three.
 */

let workDir: string;
const data = (): string[] => ['--data-dir', join(workDir, 'data')];
const cli = (argv: string[]): Promise<CliRun> => gatehouse([...argv, ...data()], { cwd: workDir });
const RFC_8252_REASON = /RFC 8252 §8\.3 calls localhost NOT RECOMMENDED/;

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-loopback-'));
  await initData(data());
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const createNative = (env: string, uri: string) =>
  cli([
    'clients',
    'create',
    '--env',
    env,
    '--type',
    'native',
    '--name',
    'Desk CLI',
    '--redirect-uri',
    uri,
    '--json',
  ]);

const clientIdOf = (result: CliRun): string =>
  (JSON.parse(result.stdout) as { client_id: string }).client_id;

const settingsJson = async (...args: string[]) => {
  const result = await cli(['env', 'settings', 'production', ...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
};

describe('gatehouse env settings --loopback-hosts', () => {
  it('shows all three hosts by default, and localhost registers as before', async () => {
    const shown = await cli(['env', 'settings', 'production']);
    expect(shown.stdout).toContain(
      'loopback hosts      127.0.0.1, [::1], localhost (all three, the default)',
    );
    expect((await settingsJson()).loopback_hosts).toEqual(['127.0.0.1', '[::1]', 'localhost']);
    expect((await createNative('production', 'http://localhost/callback')).code).toBe(0);
  });

  it('refuses localhost in production, listing the registrations made before with the reason', async () => {
    const before = clientIdOf(await createNative('production', 'http://localhost/callback'));
    const set = await cli(['env', 'settings', 'production', '--loopback-hosts', '127.0.0.1,[::1]']);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('loopback hosts      127.0.0.1, [::1] (refused: localhost)');
    expect(set.stdout).toContain(
      '1 registration(s) use a loopback host this environment now refuses; they no longer match:',
    );
    expect(set.stdout).toContain(
      `  ${before} (Desk CLI) redirect http://localhost/callback -> register http://127.0.0.1/callback`,
    );
    expect(set.stdout).toMatch(RFC_8252_REASON);

    // A new registration is refused with one readable line and the explainer's reason.
    const refused = await createNative('production', 'http://localhost/other');
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(RFC_8252_REASON);
    expect(refused.stderr).toContain('http://127.0.0.1/other');
    const listed = JSON.parse(
      (await cli(['clients', 'list', '--env', 'production', '--json'])).stdout,
    ) as unknown[];
    expect(listed).toHaveLength(1);
    // Other environments keep their own policy.
    expect((await createNative('staging', 'http://localhost/other')).code).toBe(0);

    // The JSON answer carries the same list.
    const json = await settingsJson('--loopback-hosts', '127.0.0.1,[::1]');
    expect(json.loopback_hosts).toEqual(['127.0.0.1', '[::1]']);
    expect(json.loopback_violations).toMatchObject([
      {
        client_id: before,
        kind: 'redirect',
        uri: 'http://localhost/callback',
        suggestion: 'http://127.0.0.1/callback',
      },
    ]);

    // `default` goes back to all three.
    const reset = await cli(['env', 'settings', 'production', '--loopback-hosts', 'default']);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('(all three, the default)');
    expect(reset.stdout).toContain('no registration uses a refused loopback host');
  });

  it.each([
    ['', 'must not be empty'],
    ['127.0.0.2', 'may not name "127.0.0.2"'],
    ['127.0.0.1,127.0.0.1', 'name a host twice'],
  ])('refuses --loopback-hosts %j with one line and changes nothing', async (value, why) => {
    const result = await cli(['env', 'settings', 'production', '--loopback-hosts', value]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(why);
    expect((await settingsJson()).loopback_hosts).toEqual(['127.0.0.1', '[::1]', 'localhost']);
  });
});

describe('the declarative file: environments.<name>.loopbackHosts', () => {
  const file = (uri: string, loopbackHosts: unknown = ['127.0.0.1', '[::1]']) =>
    writeFile(
      join(workDir, 'state.json'),
      JSON.stringify({
        version: 1,
        environments: { production: { loopbackHosts } },
        clients: [
          {
            key: 'desk',
            name: 'Desktop app',
            type: 'native',
            environments: { production: { redirectUris: [uri] } },
          },
        ],
      }),
    );

  it('refuses a localhost redirect URI where the same file refuses localhost, and applies nothing', async () => {
    await file('http://localhost/callback');
    const plan = await cli(['plan', '-f', 'state.json']);
    expect(plan.code).not.toBe(0);
    expect(plan.stdout).toMatch(
      /refused: production\/desk http:\/\/localhost\/callback: .*RFC 8252 §8\.3/,
    );
    const applied = await cli(['apply', '-f', 'state.json']);
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toMatch(RFC_8252_REASON);
    expect((await settingsJson()).loopback_hosts).toHaveLength(3);
    expect(
      JSON.parse((await cli(['clients', 'list', '--env', 'production', '--json'])).stdout),
    ).toEqual([]);
  });

  it('applies the policy with a 127.0.0.1 client, noting a registration made before', async () => {
    const before = clientIdOf(await createNative('production', 'http://localhost/old'));
    await file('http://127.0.0.1/callback');
    const plan = await cli(['plan', '-f', 'state.json']);
    expect(plan.stdout).toContain('loopbackHosts: 127.0.0.1 [::1] localhost -> 127.0.0.1 [::1]');
    expect(plan.stdout).toContain(
      `note: ${before} redirect http://localhost/old uses a loopback host the policy refuses; it will no longer match (register http://127.0.0.1/old)`,
    );
    expect((await cli(['apply', '-f', 'state.json'])).code).toBe(0);
    expect((await settingsJson()).loopback_hosts).toEqual(['127.0.0.1', '[::1]']);
    // In sync: the next plan has nothing to change.
    expect((await cli(['plan', '-f', 'state.json'])).code).toBe(0);
    // null in the file goes back to the default.
    await file('http://127.0.0.1/callback', null);
    expect((await cli(['apply', '-f', 'state.json'])).code).toBe(0);
    expect((await settingsJson()).loopback_hosts).toHaveLength(3);
  });

  it('refuses an empty list in the file with the service’s reason', async () => {
    await file('http://127.0.0.1/callback', []);
    const plan = await cli(['plan', '-f', 'state.json']);
    expect(plan.code).not.toBe(0);
    expect(plan.stdout).toContain('loopback hosts must not be empty');
  });
});

describe('the offline redirect tools take an environment’s loopback hosts', () => {
  it('validate, lint and match refuse localhost as the server would, and a bad list is a usage error', async () => {
    const policy = [
      '--env',
      'production',
      '--type',
      'native',
      '--loopback-hosts',
      '127.0.0.1,[::1]',
    ];
    const validate = await gatehouse(
      ['redirects', 'validate', ...policy, 'http://localhost/cb', 'http://127.0.0.1/cb', '--json'],
      { cwd: workDir },
    );
    expect(validate.code).toBe(1);
    const results = (JSON.parse(validate.stdout) as { results: { ok: boolean; code?: string }[] })
      .results;
    expect(results.map((r) => r.ok)).toEqual([false, true]);
    expect(results[0]?.code).toBe('loopback_host_not_allowed');

    const lint = await gatehouse(['redirects', 'lint', ...policy, '--file', '-'], {
      cwd: workDir,
      stdin: 'http://localhost/cb\n',
    });
    expect(lint.code).toBe(1);
    expect(lint.stdout).toMatch(RFC_8252_REASON);

    // A registration made before the policy matches no request any more.
    const match = await gatehouse(
      [
        'redirects',
        'match',
        'http://localhost:5000/cb',
        '--registered',
        'http://localhost/cb',
        ...policy,
      ],
      { cwd: workDir },
    );
    expect(match.code).toBe(1);
    expect(match.stdout).toMatch(/made before and is refused now/);
    // Without the option, today's default: all three hosts.
    const allowed = await gatehouse(
      ['redirects', 'match', 'http://localhost:5000/cb', '--registered', 'http://localhost/cb'],
      { cwd: workDir },
    );
    expect(allowed.code).toBe(0);

    const bad = await gatehouse(
      [
        'redirects',
        'validate',
        '--env',
        'production',
        '--type',
        'native',
        '--loopback-hosts',
        'example.com',
        'http://127.0.0.1/cb',
      ],
      { cwd: workDir },
    );
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--loopback-hosts: loopback hosts may not name "example.com"/);
  });
});
