/**
 * `gatehouse users`: the email_verified flag ID tokens and userinfo carry (issue #16 part 2), set
 * at creation and changed later, shown in JSON; an unknown user is one line and a non-zero exit.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData } from './harness.js';

let dataDir: string;
const data = (): string[] => ['--data-dir', dataDir];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  await initData(data());
});

describe('gatehouse users and email_verified', () => {
  it('creates a user with --email-verified, and verifies or unverifies one later', async () => {
    const verified = await gatehouse([
      'users',
      'create',
      '--env',
      'development',
      '--email',
      'vera@example.com',
      '--email-verified',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      email: 'vera@example.com',
      email_verified: true,
    });
    const plain = await gatehouse([
      'users',
      'create',
      '--env',
      'development',
      '--email',
      'paul@example.com',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(plain.stdout)).toMatchObject({ email_verified: false });

    const set = await gatehouse([
      'users',
      'verify-email',
      'paul@example.com',
      '--env',
      'development',
      ...data(),
    ]);
    expect(set).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('email verified') as unknown,
    });
    const shown = await gatehouse([
      'users',
      'show',
      'paul@example.com',
      '--env',
      'development',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ email_verified: true });
    const unset = await gatehouse([
      'users',
      'unverify-email',
      'vera@example.com',
      '--env',
      'development',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(unset.stdout)).toMatchObject({ email_verified: false });

    const unknown = await gatehouse([
      'users',
      'verify-email',
      'nobody@example.com',
      '--env',
      'development',
      ...data(),
    ]);
    expect(unknown).toMatchObject({
      code: 1,
      stderr: 'gatehouse: error: no user nobody@example.com in environment development\n',
    });
    const audit = await gatehouse(['audit', 'tail', '--env', 'development', '--json', ...data()]);
    const types = (JSON.parse(audit.stdout) as { type: string }[]).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user.email_verified', 'user.email_unverified']));
  });
});
