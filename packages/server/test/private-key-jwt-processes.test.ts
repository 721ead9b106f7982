/**
 * RFC 7523 §3 item 7 across processes: two real `gatehouse serve` processes on one PostgreSQL
 * (one issuer behind a load balancer), a private_key_jwt client created with the CLI as an
 * operator would (`--auth-method private_key_jwt --jwks <file>`). An assertion accepted by one
 * process is a replay on the other, and of the same assertion sent to both at once exactly one
 * request gets a token: the jti table decides, not either process's memory.
 *
 * The processes run the built program: build first (`npx tsc -b`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import { dataLocation, Deployment, type GatehouseProcess } from './support/processes.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('a private_key_jwt assertion on two gatehouse processes', () => {
  let database: ThrowawayDatabase | undefined;
  let deployment: Deployment | undefined;
  let dir: string | undefined;
  let a: GatehouseProcess;
  let b: GatehouseProcess;
  let clientId: string;
  let sign: (jti?: string) => Promise<string>;

  beforeAll(async () => {
    database = await throwawayPostgres();
    deployment = await Deployment.create(dataLocation(database));
    a = await deployment.start('A');
    b = await deployment.start('B');
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const kid = 'process-test';
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-pkjwt-'));
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(
      jwksFile,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256' }] }),
    );
    const created = await deployment.cliJson<{ client_id: string; client_secret?: string }>([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'web',
      '--name',
      'Keyed service',
      '--redirect-uri',
      'https://app.example.com/callback',
      '--grant',
      'client_credentials',
      '--scope',
      'reports:read',
      '--auth-method',
      'private_key_jwt',
      '--jwks',
      jwksFile,
    ]);
    expect(created.client_secret).toBeUndefined();
    clientId = created.client_id;
    const issuer = deployment.issuer();
    sign = async (jti = randomUUID()) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: clientId,
        sub: clientId,
        aud: issuer,
        jti,
        iat: now,
        exp: now + 60,
      })
        .setProtectedHeader({ alg: 'ES256', kid })
        .sign(privateKey);
    };
  }, 60_000);

  afterAll(async () => {
    await deployment?.stopAll();
    await database?.drop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const token = async (server: GatehouseProcess, assertion: string) => {
    const response = await fetch(`${server.url}/e/development/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'reports:read',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: assertion,
      }),
    });
    return {
      status: response.status,
      body: (await response.json()) as { access_token?: string; error_description?: string },
    };
  };

  it('an assertion used on A is a replay on B', async () => {
    const assertion = await sign();
    const first = await token(a, assertion);
    expect(first.status, first.body.error_description).toBe(200);
    const replay = await token(b, assertion);
    expect(replay.status).toBe(401);
    expect(replay.body.error_description).toMatch(/used before/);
    // And a new assertion reusing the jti, on either process.
    const jti = randomUUID();
    expect((await token(b, await sign(jti))).status).toBe(200);
    expect((await token(a, await sign(jti))).status).toBe(401);
  });

  it('of one assertion sent to both processes at once, exactly one request gets a token', async () => {
    for (let round = 0; round < 5; round++) {
      const assertion = await sign();
      const replies = await Promise.all(
        [a, b, a, b, a, b].map((server) => token(server, assertion)),
      );
      expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
      expect(replies.filter((r) => r.status === 401)).toHaveLength(5);
    }
  });
});
