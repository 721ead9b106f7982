/**
 * DPoP across two server processes on one PostgreSQL, behind one public base URL (a load
 * balancer): a nonce one process hands out is accepted by the other (stateless, from the shared
 * secret: RFC 9449 §8); a proof's jti is used once across both, and of concurrent uses of one
 * proof exactly one wins (the dpop_proof_jtis primary key, RFC 9449 §11.1); `htu` is the public
 * URL (the issuer's), never the address the request reached.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig, startServer, type RunningServer } from '../src/index.js';
import { createClient } from '../src/services/clients.js';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import { DpopKey, postWithDpop } from './support/dpop.js';
import { TEST_SECRET_KEY } from './support/server.js';

const ENV = 'development';
const BASE = 'https://auth.example.com';

describe('DPoP across two servers on one PostgreSQL', () => {
  let db: ThrowawayDatabase;
  const servers: RunningServer[] = [];
  const ports: number[] = [];
  let form: Record<string, string>;

  beforeAll(async () => {
    db = await throwawayPostgres();
    if (db.target.kind !== 'postgres') throw new Error('postgres expected');
    for (let i = 0; i < 2; i++) {
      const config = resolveServerConfig(
        { port: 0, databaseUrl: db.target.url, secretKey: TEST_SECRET_KEY, baseUrl: BASE },
        process.cwd(),
      );
      const server = await startServer(config, { logger: false });
      servers.push(server);
      ports.push((server.app.server.address() as AddressInfo).port);
    }
    const [a] = servers;
    if (a === undefined) throw new Error('no server');
    const created = await createClient(
      { stores: a.stores, clock: Date.now, actor: 'admin:test' },
      {
        environment: ENV,
        type: 'web',
        name: 'Two processes',
        redirectUris: ['https://app.example.com/callback'],
        grantTypes: ['client_credentials'],
        scopes: ['reports:read'],
      },
    );
    form = {
      grant_type: 'client_credentials',
      scope: 'reports:read',
      client_id: created.client.clientId,
      client_secret: created.clientSecret ?? '',
    };
    // Two servers starting on one database: slower than one when the machine is busy.
  }, 60_000);
  afterAll(async () => {
    for (const server of servers) await server.close();
    await db.drop();
  });

  /** Where the test reaches process i; the proofs name the public URL. */
  const at = (i: number) => `http://127.0.0.1:${ports[i]}/e/${ENV}/token`;
  const htu = `${BASE}/e/${ENV}/token`;

  it('a nonce from one process is accepted by the other; a proof is used once across both', async () => {
    const key = await DpopKey.generate();
    const asked = await postWithDpop(at(0), form, await key.proof('POST', htu));
    expect(asked.body.error).toBe('use_dpop_nonce');
    const nonce = asked.headers.get('dpop-nonce') ?? '';
    const proof = await key.proof('POST', htu, { nonce });
    const first = await postWithDpop(at(1), form, proof);
    expect(first.status).toBe(200);
    expect(first.body.token_type).toBe('DPoP');
    const replay = await postWithDpop(at(0), form, proof);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_dpop_proof');
    expect(String(replay.body.error_description)).toMatch(/used before/);

    for (let round = 0; round < 5; round++) {
      const raced = await key.proof('POST', htu, { nonce });
      const statuses = await Promise.all(
        [0, 1, 0, 1].map(async (i) => (await postWithDpop(at(i), form, raced)).status),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 400)).toHaveLength(3);
    }
  });

  it('refuses a proof whose htu is the address the request reached, not the public URL', async () => {
    const key = await DpopKey.generate();
    const asked = await postWithDpop(at(0), form, await key.proof('POST', htu));
    const nonce = asked.headers.get('dpop-nonce') ?? '';
    const reply = await postWithDpop(at(0), form, await key.proof('POST', at(0), { nonce }));
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('invalid_dpop_proof');
    expect(String(reply.body.error_description)).toContain(htu);
  });
});
