/**
 * Back-Channel Logout deliveries with two servers on one PostgreSQL database (two instances in
 * this test process, each with its own connection pool), both running the delivery worker: every queued logout token reaches its receiver exactly once (each attempt is
 * claimed by one conditional update), and a receiver that fails once is retried by whichever
 * server comes first, still once per attempt.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

describe('Back-Channel Logout deliveries across two servers on PostgreSQL', () => {
  let db: ThrowawayDatabase;
  let a: TestServer;
  let b: TestServer;
  let receiver: Server;
  let port = 0;
  const received: { path: string; jti: string }[] = [];
  let failFirst = new Set<string>();

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        const token = new URLSearchParams(body).get('logout_token') ?? '';
        const payload = JSON.parse(
          Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
        ) as { jti: string };
        const path = request.url ?? '';
        received.push({ path, jti: payload.jti });
        if (failFirst.delete(path)) response.writeHead(500).end();
        else response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
    db = await throwawayPostgres();
    const options = { logoutDeliveries: { intervalMs: 20, retryDelaysMs: [50, 50] } };
    a = await startTestServer(db, options);
    b = await startTestServer(db, options);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await db.drop();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('each of 30 deliveries arrives once; a failed one is retried once', async () => {
    const client = await a.client({
      type: 'web',
      name: 'Receiver',
      redirectUris: ['https://rp.example.com/cb'],
      grantTypes: ['authorization_code'],
      backchannelLogoutUri: `http://127.0.0.1:${port}/bcl`,
    });
    const ids = Array.from({ length: 30 }, (_, i) => `multi-${i}`);
    await b.server.stores.logoutDeliveries.enqueue(
      ids.map((id) => ({
        id,
        environment: 'development',
        clientId: client.clientId,
        uri: `http://127.0.0.1:${port}/bcl`,
        sub: 'user',
        sid: id,
      })),
      Date.now(),
    );
    const status = async () =>
      (await a.server.stores.logoutDeliveries.list('development', 100)).filter(
        (d) => d.status === 'delivered',
      ).length;
    await expect.poll(status, { timeout: 20_000 }).toBe(30);
    expect(received.map((r) => r.jti).sort()).toEqual([...ids].sort());
    for (const id of ids)
      expect(await a.server.stores.logoutDeliveries.get(id)).toMatchObject({ attempts: 1 });
  });

  it('a receiver that fails once gets the same token again, once', async () => {
    const client = await b.client({
      type: 'web',
      name: 'Flaky receiver',
      redirectUris: ['https://rp.example.com/cb'],
      grantTypes: ['authorization_code'],
      backchannelLogoutUri: `http://127.0.0.1:${port}/flaky`,
    });
    failFirst = new Set(['/flaky']);
    await a.server.stores.logoutDeliveries.enqueue(
      [
        {
          id: 'flaky-1',
          environment: 'development',
          clientId: client.clientId,
          uri: `http://127.0.0.1:${port}/flaky`,
          sub: 'user',
          sid: null,
        },
      ],
      Date.now(),
    );
    await expect
      .poll(async () => (await b.server.stores.logoutDeliveries.get('flaky-1'))?.status, {
        timeout: 20_000,
      })
      .toBe('delivered');
    expect(received.filter((r) => r.path === '/flaky').map((r) => r.jti)).toEqual([
      'flaky-1',
      'flaky-1',
    ]);
    expect(await a.server.stores.logoutDeliveries.get('flaky-1')).toMatchObject({ attempts: 2 });
  });
});
