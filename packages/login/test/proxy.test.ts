/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY for the calls to the authorization server. A forward proxy
 * on loopback counts what passes through it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { discover, useProxyFromEnvironment } from '../src/index.js';

describe('proxies from the environment', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let proxy: Server;
  let proxyUrl: string;
  const seen: string[] = [];
  const tunnels: Socket[] = [];

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    // A forward proxy that tunnels with CONNECT, as undici's proxy agent asks it to.
    proxy = createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      seen.push(`CONNECT ${req.url ?? ''}`);
      const [host = '', port = '0'] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      tunnels.push(upstream, client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of tunnels) socket.destroy();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await t.close();
    await db.drop();
  });

  it('sends server calls through HTTP_PROXY', async () => {
    const restore = useProxyFromEnvironment({ HTTP_PROXY: proxyUrl });
    try {
      const as = await discover(t.issuer('development'), { allowHttpLoopbackIssuer: true });
      expect(as.issuer).toBe(t.issuer('development'));
      expect(seen).toContain(`CONNECT ${new URL(t.url).host}`);
    } finally {
      restore();
    }
  });

  it('bypasses the proxy for hosts in NO_PROXY, and does nothing without proxy variables', async () => {
    seen.length = 0;
    const restore = useProxyFromEnvironment({ HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' });
    try {
      await discover(t.issuer('development'), { allowHttpLoopbackIssuer: true });
    } finally {
      restore();
    }
    const noop = useProxyFromEnvironment({});
    await discover(t.issuer('development'), { allowHttpLoopbackIssuer: true });
    noop();
    expect(seen).toEqual([]);
  });
});
