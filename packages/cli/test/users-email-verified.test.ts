/**
 * `gatehouse users`: the email_verified flag ID tokens and userinfo carry (issue #16 part 2), set
 * at creation and changed later, shown in JSON; an unknown user is one line and a non-zero exit.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
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

  it('imports users with email_verified and argon2 hashes; a re-import changes nothing; a bad file changes nothing', async () => {
    const file = join(dataDir, 'users.jsonl');
    // An argon2id hash as another system made it (of "imported password 1").
    const { hash } = await import('@node-rs/argon2');
    const passwordHash = await hash('imported password 1');
    await writeFile(
      file,
      [
        JSON.stringify({
          email: 'ivy@example.com',
          name: 'Ivy',
          email_verified: true,
          password_hash: passwordHash,
        }),
        JSON.stringify({ email: 'jon@example.com' }),
        '',
      ].join('\n'),
    );
    const first = await gatehouse([
      'users',
      'import',
      '--env',
      'development',
      '-f',
      file,
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(first.stdout)).toEqual({ created: 2, updated: 0, unchanged: 0 });
    const ivy = await gatehouse([
      'users',
      'show',
      'ivy@example.com',
      '--env',
      'development',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(ivy.stdout)).toMatchObject({
      name: 'Ivy',
      email_verified: true,
      has_password: true,
    });
    const again = await gatehouse([
      'users',
      'import',
      '--env',
      'development',
      '-f',
      file,
      ...data(),
    ]);
    expect(again.stdout).toBe('imported into development: 0 created, 0 updated, 2 unchanged\n');

    // A JSON array; an existing user's email_verified follows the file, nothing else does.
    const array = join(dataDir, 'users.json');
    await writeFile(
      array,
      JSON.stringify([{ email: 'JON@example.com', name: 'Other', email_verified: true }]),
    );
    const updated = await gatehouse([
      'users',
      'import',
      '--env',
      'development',
      '-f',
      array,
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(updated.stdout)).toEqual({ created: 0, updated: 1, unchanged: 0 });
    const jon = await gatehouse([
      'users',
      'show',
      'jon@example.com',
      '--env',
      'development',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(jon.stdout)).toMatchObject({
      name: null,
      email_verified: true,
      has_password: false,
    });

    // Refused before anything is written: a hash this server cannot verify, a duplicate.
    const bad = join(dataDir, 'bad.jsonl');
    await writeFile(
      bad,
      [
        JSON.stringify({ email: 'kim@example.com' }),
        JSON.stringify({
          email: 'lee@example.com',
          password_hash: '$2b$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZa',
        }),
      ].join('\n'),
    );
    const refused = await gatehouse([
      'users',
      'import',
      '--env',
      'development',
      '-f',
      bad,
      ...data(),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^gatehouse: error: user 2: password_hash must be an argon2 hash/,
    );
    await writeFile(
      bad,
      [
        JSON.stringify({ email: 'kim@example.com' }),
        JSON.stringify({ email: 'KIM@example.com' }),
      ].join('\n'),
    );
    const duplicate = await gatehouse([
      'users',
      'import',
      '--env',
      'development',
      '-f',
      bad,
      ...data(),
    ]);
    expect(duplicate.stderr).toBe('gatehouse: error: user 2: KIM@example.com is also user 1\n');
    const kim = await gatehouse([
      'users',
      'show',
      'kim@example.com',
      '--env',
      'development',
      ...data(),
    ]);
    expect(kim.code).toBe(1);
  });

  it('declares users in the declarative file: plan shows, apply creates and verifies, a second plan is in sync', async () => {
    await gatehouse([
      'users',
      'create',
      '--env',
      'development',
      '--email',
      'old@example.com',
      ...data(),
    ]);
    const file = join(dataDir, 'state.yaml');
    await writeFile(
      file,
      [
        'version: 1',
        'clients: []',
        'users:',
        '  development:',
        '    - email: old@example.com',
        '      emailVerified: true',
        '    - email: new@example.com',
        '      name: New Person',
        '      emailVerified: true',
        '    - email: plain@example.com',
        '',
      ].join('\n'),
    );
    const plan = await gatehouse(['plan', '-f', file, ...data()], { env: { NO_COLOR: '1' } });
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain(
      '~ development/user old@example.com: email_verified false -> true',
    );
    expect(plan.stdout).toContain(
      '+ development/user new@example.com: create (no password; email_verified: true)',
    );
    expect(plan.stdout).toContain('3 client(s) or user(s) to change');
    const apply = await gatehouse(['apply', '-f', file, ...data()], { env: { NO_COLOR: '1' } });
    expect(apply.stdout).toContain('applied: 0 client(s) changed, 3 user(s) changed');
    for (const [email, verified] of [
      ['old@example.com', true],
      ['new@example.com', true],
      ['plain@example.com', false],
    ] as const) {
      const shown = await gatehouse([
        'users',
        'show',
        email,
        '--env',
        'development',
        '--json',
        ...data(),
      ]);
      expect(JSON.parse(shown.stdout)).toMatchObject({ email_verified: verified });
    }
    const again = await gatehouse(['plan', '-f', file, ...data()], { env: { NO_COLOR: '1' } });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('in sync: nothing to apply');

    // Refused: an unknown environment and an address that is not one; nothing is applied.
    await writeFile(
      file,
      [
        'version: 1',
        'clients: []',
        'users:',
        '  nowhere:',
        '    - email: a@example.com',
        '  development:',
        '    - email: "not an email"',
        '',
      ].join('\n'),
    );
    const refused = await gatehouse(['apply', '-f', file, ...data()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('2 problem(s), nothing applied');
    await writeFile(
      file,
      [
        'version: 1',
        'clients: []',
        'users:',
        '  development:',
        '    - email: x@example.com',
        '      admin: true',
        '',
      ].join('\n'),
    );
    const unknownField = await gatehouse(['plan', '-f', file, ...data()]);
    expect(unknownField.stderr).toBe(
      'gatehouse: error: users.development[0]: unknown field "admin" (allowed: email, name, emailVerified)\n',
    );
  });

  it('resources add/update --access-token-alg: RS256 or ES256, anything else refused in one line', async () => {
    const added = await gatehouse([
      'resources',
      'add',
      '--env',
      'development',
      '--uri',
      'https://legacy.example.com',
      '--name',
      'Legacy',
      '--access-token-alg',
      'RS256',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(added.stdout)).toMatchObject({ accessTokenAlg: 'RS256' });
    const back = await gatehouse([
      'resources',
      'update',
      '--env',
      'development',
      '--uri',
      'https://legacy.example.com',
      '--access-token-alg',
      'ES256',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(back.stdout)).toMatchObject({ accessTokenAlg: 'ES256' });
    const refused = await gatehouse([
      'resources',
      'update',
      '--env',
      'development',
      '--uri',
      'https://legacy.example.com',
      '--access-token-alg',
      'HS256',
      ...data(),
    ]);
    expect(refused).toMatchObject({
      code: 1,
      stderr: 'gatehouse: error: the access token algorithm must be ES256 or RS256, not "HS256"\n',
    });
  });
});
