import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData, type CliRun } from './harness.js';

/**
 * Issue #17's settings in the declarative file: a client's requireDpop (with the production
 * default for public clients shown in the plan) and an environment's requireDpop and
 * refreshGraceSeconds.
 */

let workDir: string;
const data = (): string[] => ['--data-dir', join(workDir, 'data')];
const cli = (argv: string[]): Promise<CliRun> => gatehouse([...argv, ...data()], { cwd: workDir });

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-plan-dpop-'));
  await initData(data());
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const file = (client: Record<string, unknown> = {}, top: Record<string, unknown> = {}) =>
  writeFile(
    join(workDir, 'state.json'),
    JSON.stringify({
      version: 1,
      ...top,
      clients: [
        {
          key: 'desk',
          name: 'Desktop app',
          type: 'native',
          ...client,
          environments: {
            staging: { redirectUris: ['http://127.0.0.1/callback'] },
            production: { redirectUris: ['http://127.0.0.1/callback'] },
          },
        },
      ],
    }),
  );

async function requireDpopIn(env: string): Promise<unknown> {
  const listed = await cli(['clients', 'list', '--env', env, '--json']);
  const [client] = JSON.parse(listed.stdout) as Record<string, unknown>[];
  return client?.dpop_bound_access_tokens;
}

const environment = async (name: string) =>
  JSON.parse((await cli(['env', 'settings', name, '--json'])).stdout) as Record<string, unknown>;

describe('gatehouse plan / apply: DPoP and the refresh grace', () => {
  it('a new native client in production requires DPoP by default, and the plan says so', async () => {
    await file();
    const plan = await cli(['plan', '-f', 'state.json', '--json']);
    expect(plan.code).toBe(3);
    const changes = (
      JSON.parse(plan.stdout) as {
        changes: { environment: string; settings?: Record<string, unknown> }[];
      }
    ).changes;
    expect(changes.find((c) => c.environment === 'production')?.settings).toMatchObject({
      requireDpop: { from: null, to: true },
    });
    expect(changes.find((c) => c.environment === 'staging')?.settings?.requireDpop).toBeUndefined();
    expect((await cli(['apply', '-f', 'state.json'])).code).toBe(0);
    expect(await requireDpopIn('production')).toBe(true);
    expect(await requireDpopIn('staging')).toBe(false);
    // Applied, the file is in sync: the default is not a change the next plan shows again.
    expect((await cli(['plan', '-f', 'state.json'])).code).toBe(0);
  });

  it('requireDpop: false opts out; true applies everywhere; an existing client keeps what it has when the file says nothing', async () => {
    await file({ requireDpop: false });
    expect((await cli(['apply', '-f', 'state.json'])).code).toBe(0);
    expect(await requireDpopIn('production')).toBe(false);
    await file();
    expect((await cli(['plan', '-f', 'state.json'])).code).toBe(0);
    await file({ requireDpop: true });
    const plan = await cli(['plan', '-f', 'state.json']);
    expect(plan.stdout).toContain('requireDpop: false -> true');
    expect((await cli(['apply', '-f', 'state.json'])).code).toBe(0);
    expect(await requireDpopIn('staging')).toBe(true);
    expect(await requireDpopIn('production')).toBe(true);
  });

  it('sets environment settings, audited, and is then in sync', async () => {
    await file({}, { environments: { production: { requireDpop: true, refreshGraceSeconds: 0 } } });
    const plan = await cli(['plan', '-f', 'state.json']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain('~ production (environment settings): update');
    expect(plan.stdout).toContain('requireDpop: false -> true');
    expect(plan.stdout).toContain('refreshGraceSeconds: 5 -> 0');
    expect((await cli(['apply', '-f', 'state.json'])).code).toBe(0);
    expect(await environment('production')).toMatchObject({
      require_dpop: true,
      refresh_grace_seconds: 0,
    });
    const audit = await cli([
      'audit',
      'tail',
      '--env',
      'production',
      '--type',
      'environment.settings_changed',
      '--json',
    ]);
    const [entry] = (JSON.parse(audit.stdout) as { data: Record<string, unknown> }[]).slice(-1);
    expect(entry?.data).toMatchObject({ after: { requireDpop: true, refreshGraceSeconds: 0 } });
    const again = await cli(['plan', '-f', 'state.json']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('= production (environment settings): no changes');
  });

  it.each([
    [{ production: { refreshGraceSeconds: 61 } }, /whole number of seconds from 0/],
    [{ production: { refreshGraceSeconds: 2.5 } }, /whole number of seconds from 0/],
    [{ nowhere: { requireDpop: true } }, /no environment "nowhere"/],
  ])('refuses %j in plan and apply, writing nothing (the clients neither)', async (envs, why) => {
    await file({}, { environments: envs });
    for (const command of ['plan', 'apply']) {
      const result = await cli([command, '-f', 'state.json']);
      expect(result.code).toBe(1);
      expect(`${result.stdout}${result.stderr}`).toMatch(why);
    }
    expect(await environment('production')).toMatchObject({
      require_dpop: false,
      refresh_grace_seconds: 5,
    });
    expect(await requireDpopIn('production')).toBeUndefined();
  });

  it.each([
    [{ production: { refreshGraceSeconds: '5' } }, /"refreshGraceSeconds" must be a number/],
    [{ production: { requireDpop: 'yes' } }, /"requireDpop" must be a boolean/],
    [{ production: { requirePkce: true } }, /unknown field "requirePkce"/],
  ])('refuses the file %j as malformed', async (envs, why) => {
    await file({}, { environments: envs });
    const result = await cli(['plan', '-f', 'state.json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(why);
    await file({ requireDpop: 'yes' });
    expect((await cli(['plan', '-f', 'state.json'])).stderr).toMatch(
      /"requireDpop" must be a boolean/,
    );
  });
});
