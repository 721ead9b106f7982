/**
 * Pushed authorization requests across real processes: two `gatehouse serve` on one PostgreSQL
 * database behind one public URL. A request pushed to one is taken at the other's /authorize; it
 * is then used up on both; and of one request_uri sent to both at once exactly one is served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import { dataLocation, Deployment, type GatehouseProcess } from './support/processes.js';
import { pkce } from './support/server.js';

describe('PAR on two gatehouse processes on one PostgreSQL', () => {
  let database: ThrowawayDatabase | undefined;
  let deployment: Deployment | undefined;
  let a: GatehouseProcess;
  let b: GatehouseProcess;
  let client: { client_id: string; client_secret: string };
  const redirectUri = 'https://app.example.com/cb';

  beforeAll(async () => {
    database = await throwawayPostgres();
    deployment = await Deployment.create(dataLocation(database));
    a = await deployment.start('A');
    b = await deployment.start('B');
    client = await deployment.cliJson<{ client_id: string; client_secret: string }>([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'web',
      '--name',
      'PAR app',
      '--redirect-uri',
      redirectUri,
    ]);
  }, 60_000);
  afterAll(async () => {
    await deployment?.stopAll();
    await database?.drop();
  });

  async function push(to: GatehouseProcess): Promise<string> {
    const response = await fetch(`${to.url}/e/development/par`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { request_uri: string }).request_uri;
  }

  const authorize = (at: GatehouseProcess, requestUri: string) =>
    fetch(
      `${at.url}/e/development/authorize?${new URLSearchParams({ client_id: client.client_id, request_uri: requestUri }).toString()}`,
      { redirect: 'manual', headers: { accept: 'text/html' } },
    );

  it('pushed to A, taken at B, then used up on both', async () => {
    const requestUri = await push(a);
    const taken = await authorize(b, requestUri);
    expect(taken.status).toBe(303);
    expect(taken.headers.get('location')).toMatch(/\/e\/development\/login/);
    for (const at of [a, b]) {
      const again = await authorize(at, requestUri);
      expect(again.status).toBe(400);
      expect(again.headers.get('location')).toBeNull();
    }
  });

  it('of one request_uri sent to both processes at once, exactly one is served', async () => {
    for (let round = 0; round < 5; round++) {
      const requestUri = await push(round % 2 === 0 ? a : b);
      const answers = await Promise.all([a, b, a, b].map((at) => authorize(at, requestUri)));
      expect(answers.map((r) => r.status).sort()).toEqual([303, 400, 400, 400]);
    }
  });
});
