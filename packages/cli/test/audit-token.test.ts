/**
 * `gatehouse audit token <jti>` (issue #15): whether an access token was issued, and which audit
 * entry accounts for it. client_credentials tokens are accounted for by their jti block's
 * reservation and closing count; a user grant's token by the grant's own entry.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { resolveServerConfig, startServer } from '@gatehouse/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../../server/test/support/oauth.js';
import { gatehouse, initData } from './harness.js';

let dataDir: string;
const data = (): string[] => ['--data-dir', dataDir];
const jtiOf = (token: unknown): string => decodeJwt(String(token)).jti ?? '';

describe('gatehouse audit token', () => {
  let jtis: string[];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
    await initData(data());
    const created = await gatehouse([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'web',
      '--name',
      'Machine',
      '--grant',
      'client_credentials',
      '--json',
      ...data(),
    ]);
    const { client_id, client_secret } = JSON.parse(created.stdout) as {
      client_id: string;
      client_secret: string;
    };
    const server = await startServer(resolveServerConfig({ port: '0', dataDir }, process.cwd()), {
      logger: false,
    });
    try {
      const machine = new WebClient(client_id, client_secret);
      jtis = [];
      for (let i = 0; i < 3; i++) {
        const reply = await machine.clientCredentials(server.url);
        expect(reply.status).toBe(200);
        jtis.push(jtiOf(reply.body.access_token));
      }
    } finally {
      // Stopping closes the block with the count it used: 3.
      await server.close();
    }
  });

  it('says a token was issued, under the reservation of its block and the count that closed it', async () => {
    const issued = await gatehouse(['audit', 'token', jtis[2] ?? '', ...data()]);
    expect(issued).toMatchObject({ code: 0, stderr: '' });
    expect(issued.stdout).toMatch(
      /^issued: \S+\.2 is number 2 of the block reserved by entry \d+ \(\S+\) for client \S+; entry \d+ \(\S+\) closed it with 3 used\n$/,
    );
    const json = await gatehouse(['audit', 'token', jtis[0] ?? '', '--json', ...data()]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'issued',
      n: 0,
      reservedBy: { type: 'token.jti_block_reserved', data: { size: 64 } },
      closedBy: { type: 'token.jti_block_closed', data: { used: 3 } },
    });
  });

  it('says a jti past the count used was not issued, and exits 1', async () => {
    const block = (jtis[0] ?? '').split('.')[0] ?? '';
    const forged = await gatehouse(['audit', 'token', `${block}.3`, ...data()]);
    expect(forged).toMatchObject({ code: 1, stderr: '' });
    expect(forged.stdout).toMatch(
      /^not issued: \S+\.3 would be number 3 of the block reserved by entry \d+ .* closed it with only 3 used\n$/,
    );
  });

  it('says when no entry names a jti, in one line, and exits 1', async () => {
    const unknown = await gatehouse([
      'audit',
      'token',
      'c0ffee00-0000-4000-8000-000000000000',
      ...data(),
    ]);
    expect(unknown).toMatchObject({
      code: 1,
      stdout:
        'not found: no audit entry accounts for c0ffee00-0000-4000-8000-000000000000 (not issued here, or its entries were removed by retention: see the archives)\n',
    });
    const elsewhere = await gatehouse([
      'audit',
      'token',
      jtis[0] ?? '',
      '--env',
      'production',
      ...data(),
    ]);
    expect(elsewhere).toMatchObject({ code: 1, stderr: '' });
  });

  it('leaves the chain intact', async () => {
    expect((await gatehouse(['audit', 'verify', ...data()])).code).toBe(0);
  });
});
