import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData, type CliRun } from './harness.js';

interface OperatorJson {
  id: string;
  email: string;
  role: string;
  disabled: boolean;
  createdAt: string;
}

interface AuditJson {
  type: string;
  data: Record<string, unknown>;
}

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-operators-'));
  await initData(data());
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const data = (): string[] => ['--data-dir', join(workDir, 'data')];

const cli = (argv: string[], stdin?: string): Promise<CliRun> =>
  gatehouse([...argv, ...data()], { cwd: workDir, ...(stdin === undefined ? {} : { stdin }) });

const PASSWORD = 'correct horse battery staple';

async function operators(): Promise<OperatorJson[]> {
  const listed = await cli(['operators', 'list', '--json']);
  expect(listed.code).toBe(0);
  return JSON.parse(listed.stdout) as OperatorJson[];
}

const create = (email: string, role: string, password = PASSWORD): Promise<CliRun> =>
  cli(
    ['operators', 'create', '--email', email, '--role', role, '--password-stdin'],
    `${password}\n`,
  );

describe('gatehouse operators create', () => {
  it('creates an operator with a password read from stdin', async () => {
    const created = await create('admin@example.com', 'admin');
    expect(created.code).toBe(0);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(
      /^created operator admin@example\.com \(op_[\w-]+\) with role admin\n/,
    );
    // The password came from stdin: it is never echoed.
    expect(created.stdout).not.toContain(PASSWORD);
    expect(created.stdout).not.toContain('password:');
    const [operator, ...rest] = await operators();
    expect(rest).toEqual([]);
    expect(operator).toMatchObject({ email: 'admin@example.com', role: 'admin', disabled: false });
    expect(created.stdout).toContain(`(${operator?.id ?? 'missing'})`);
    expect(Number.isNaN(Date.parse(operator?.createdAt ?? ''))).toBe(false);

    const audit = JSON.parse(
      (await cli(['audit', 'tail', '--json', '--type', 'operator.created'])).stdout,
    ) as AuditJson[];
    expect(audit.map((e) => e.data)).toEqual([
      { operatorId: operator?.id, email: 'admin@example.com', role: 'admin' },
    ]);
  });

  it('prints JSON with --json, without any password', async () => {
    const created = await cli(
      [
        'operators',
        'create',
        '--email',
        'ops@example.com',
        '--role',
        'viewer',
        '--json',
        '--password-stdin',
      ],
      PASSWORD,
    );
    expect(created.code).toBe(0);
    const json = JSON.parse(created.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ email: 'ops@example.com', role: 'viewer', disabled: false });
    expect(Object.keys(json).sort()).toEqual(['createdAt', 'disabled', 'email', 'id', 'role']);
  });

  it('refuses a second operator with the same email, in any letter case, in one line', async () => {
    expect((await create('admin@example.com', 'admin')).code).toBe(0);
    for (const email of ['admin@example.com', 'Admin@Example.COM']) {
      const again = await create(email, 'viewer');
      expect(again.code).toBe(1);
      expect(again.stdout).toBe('');
      expect(again.stderr).toBe(
        `gatehouse: error: an operator with email ${email} exists already\n`,
      );
    }
    expect((await operators()).map((o) => [o.email, o.role])).toEqual([
      ['admin@example.com', 'admin'],
    ]);
  });

  it('exits 2 for a role that does not exist', async () => {
    const bad = await create('root@example.com', 'root');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^gatehouse: error: .*'root' is invalid.*admin, support, viewer.*\n$/,
    );
    expect(bad.stderr.split('\n')).toHaveLength(2);
    const missing = await cli(
      ['operators', 'create', '--email', 'x@example.com', '--password-stdin'],
      PASSWORD,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--role');
    expect(await operators()).toEqual([]);
  });

  it('exits 1 for a weak password and 2 for an empty one, creating nobody', async () => {
    const weak = await create('weak@example.com', 'support', 'short');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toBe('gatehouse: error: the password must have at least 10 characters\n');
    const empty = await create('weak@example.com', 'support', '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('gatehouse: error: --password-stdin read an empty password\n');
    expect(await operators()).toEqual([]);
  });

  it('exits 1 for an address that is not an email', async () => {
    const bad = await create('not-an-email', 'viewer');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('gatehouse: error: "not-an-email" is not an email address\n');
    expect(await operators()).toEqual([]);
  });

  it('without --password-stdin generates a password, shows it once and never stores it in view', async () => {
    const created = await cli([
      'operators',
      'create',
      '--email',
      'gen@example.com',
      '--role',
      'support',
    ]);
    expect(created.code).toBe(0);
    const match = /^password: (\S+)$/m.exec(created.stdout);
    expect(match).not.toBeNull();
    const password = match?.[1] ?? '';
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(created.stdout).toContain('shown once');

    const listed = await cli(['operators', 'list', '--json']);
    expect(listed.stdout).not.toContain(password);
    const [operator] = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(operator).toBeDefined();
    expect(Object.keys(operator ?? {})).not.toContain('password');
    expect(Object.keys(operator ?? {})).not.toContain('passwordHash');
    expect(JSON.stringify(operator)).not.toMatch(/argon2/);
    const text = await cli(['operators', 'list']);
    expect(text.stdout).not.toContain(password);
    const audit = await cli(['audit', 'tail', '--json']);
    expect(audit.stdout).not.toContain(password);

    // A second generated password differs from the first.
    const other = await cli([
      'operators',
      'create',
      '--email',
      'gen2@example.com',
      '--role',
      'viewer',
    ]);
    expect(/^password: (\S+)$/m.exec(other.stdout)?.[1]).not.toBe(password);
  });
});

describe('gatehouse operators disable / enable', () => {
  it('disables and enables an operator by email or id', async () => {
    expect((await create('admin@example.com', 'admin')).code).toBe(0);
    expect((await create('support@example.com', 'support')).code).toBe(0);

    const disabled = await cli(['operators', 'disable', 'support@example.com']);
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toMatch(/support@example\.com +support +\(disabled\)\n$/);
    const after = await operators();
    expect(after.map((o) => [o.email, o.disabled])).toEqual([
      ['admin@example.com', false],
      ['support@example.com', true],
    ]);

    const id = after[1]?.id ?? '';
    const enabled = await cli(['operators', 'enable', id, '--json']);
    expect(enabled.code).toBe(0);
    expect(JSON.parse(enabled.stdout)).toMatchObject({ id, disabled: false });
    expect((await operators()).every((o) => !o.disabled)).toBe(true);

    const audit = JSON.parse((await cli(['audit', 'tail', '--json'])).stdout) as AuditJson[];
    expect(audit.filter((e) => e.type.startsWith('operator.')).map((e) => e.type)).toEqual([
      'operator.created',
      'operator.created',
      'operator.disabled',
      'operator.enabled',
    ]);
  });

  it('finds the operator whatever the letter case of the email', async () => {
    expect((await create('Mixed@Example.com', 'viewer')).code).toBe(0);
    expect((await cli(['operators', 'disable', 'mixed@example.COM'])).code).toBe(0);
    expect((await operators()).map((o) => [o.email, o.disabled])).toEqual([
      ['Mixed@Example.com', true],
    ]);
  });

  it('exits 1 in one line for an unknown operator', async () => {
    expect((await create('admin@example.com', 'admin')).code).toBe(0);
    for (const [command, who] of [
      ['disable', 'nobody@example.com'],
      ['enable', 'op_doesnotexist'],
    ] as const) {
      const result = await cli(['operators', command, who]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`gatehouse: error: no operator ${who}\n`);
    }
    expect((await operators()).map((o) => o.disabled)).toEqual([false]);
  });
});
