/**
 * Issue #15, jti blocks across real processes: two `gatehouse serve` on one PostgreSQL database
 * each reserve their own blocks, so no jti is handed out twice. A process stopped as an
 * orchestrator stops it (SIGTERM) closes its block with the count it used; one that crashes
 * (SIGKILL) leaves its block unclosed, and `gatehouse audit token` says what an auditor can know
 * then: up to the block's size may have been issued.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import { WebClient } from './support/oauth.js';
import { dataLocation, Deployment, type GatehouseProcess } from './support/processes.js';

describe('jti blocks of two gatehouse processes on one PostgreSQL', () => {
  let database: ThrowawayDatabase | undefined;
  let deployment: Deployment | undefined;
  let a: GatehouseProcess;
  let b: GatehouseProcess;
  let machine: WebClient;

  const cli = (): Deployment => {
    if (deployment === undefined) throw new Error('no deployment');
    return deployment;
  };
  const jtiFrom = async (from: GatehouseProcess): Promise<string> => {
    const reply = await machine.clientCredentials(from.url);
    expect(reply.status).toBe(200);
    return decodeJwt(String(reply.body.access_token)).jti ?? '';
  };

  beforeAll(async () => {
    database = await throwawayPostgres();
    deployment = await Deployment.create(dataLocation(database));
    a = await deployment.start('A');
    b = await deployment.start('B');
    const created = await deployment.cliJson<{ client_id: string; client_secret: string }>([
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
    ]);
    machine = new WebClient(created.client_id, created.client_secret);
    // Two processes to start: longer than a hook's default.
  }, 60_000);
  afterAll(async () => {
    await deployment?.stopAll();
    await database?.drop();
  });

  it('hand out distinct jtis from blocks of their own; SIGTERM closes one, a crash leaves the other open', async () => {
    const jtis = await Promise.all(
      Array.from({ length: 20 }, (_, i) => jtiFrom(i % 2 === 0 ? a : b)),
    );
    expect(new Set(jtis).size).toBe(20);
    const blockOf = (jti: string) => jti.split('.')[0];
    const fromA = jtis.filter((_, i) => i % 2 === 0);
    const fromB = jtis.filter((_, i) => i % 2 === 1);
    expect(new Set(fromA.map(blockOf)).size).toBe(1);
    expect(new Set(fromB.map(blockOf)).size).toBe(1);
    expect(blockOf(fromA[0] ?? '')).not.toBe(blockOf(fromB[0] ?? ''));

    await a.stop();
    await b.kill('SIGKILL');

    const account = (jti: string) => cli().cli(['audit', 'token', jti]);
    const closed = await account(fromA[9] ?? '');
    expect(closed.code).toBe(0);
    expect(closed.stdout).toMatch(/^issued: .* closed it with 10 used\n$/);
    const past = await account(`${blockOf(fromA[0] ?? '') ?? ''}.a`);
    expect(past.code).toBe(1);
    expect(past.stdout).toMatch(/^not issued: .* with only 10 used\n$/);
    const crashed = await account(fromB[0] ?? '');
    expect(crashed.code).toBe(0);
    expect(crashed.stdout).toMatch(
      /^may have been issued: .* a block never closed: up to 64 of it may have been issued\n$/,
    );
    expect((await cli().cli(['audit', 'verify'])).code).toBe(0);
  });
});
