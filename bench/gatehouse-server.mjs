// Starts Gatehouse (SQLite, a throwaway data directory) for the benchmark and prints what the
// load generator needs as one JSON line. Run by server.bench.mjs as a child process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, resolveServerConfig, startServer } from '@gatehouse/server';

const databaseUrl = process.argv[2];
const config = resolveServerConfig(
  databaseUrl
    ? { port: 0, databaseUrl }
    : { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'gatehouse-bench-')) },
  process.cwd(),
);
const server = await startServer(config, { logger: false });
const ctx = { stores: server.stores, clock: Date.now, actor: 'bench' };
const { client, clientSecret } = await createClient(ctx, {
  environment: 'development',
  type: 'web',
  name: 'Bench',
  redirectUris: [],
  grantTypes: ['client_credentials'],
});
process.stdout.write(
  `${JSON.stringify({ issuer: `${server.url}/e/development`, clientId: client.clientId, clientSecret, metadata: `${server.url}/e/development/.well-known/openid-configuration`, jwks: `${server.url}/e/development/jwks`, token: `${server.url}/e/development/token` })}\n`,
);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
