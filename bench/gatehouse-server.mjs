// Starts one Gatehouse process for the benchmark and prints what the load generator needs as one
// JSON line. Run by server.bench.mjs as a child process.
//
//   node gatehouse-server.mjs [--database-url URL | --data-dir DIR] [--port N] [--base-url URL]
//                             [--setup N]
//                             [--module PATH/TO/dist/index.js]
//                             [--clock-speed N] [--housekeeping-ms N] [--audit-retention DAYS]
//
// --clock-speed N runs the server's clock N times faster than real time (the soak benchmark:
// ten-minute access tokens expire in ten seconds at 60, so housekeeping has work within minutes);
// --housekeeping-ms sets its interval; --audit-retention archives and removes older audit
// entries (to <data dir>/audit-archive; SQLite only).
// Without --database-url it uses SQLite: in DIR with --data-dir (a seeded database, kept), else in a
// throwaway directory. With --setup N it also creates
// the bench client, resource and user, and N signed-in sessions (the scenario is "a user who
// already has a session", so the sign-in itself is not measured). A second process on the same
// PostgreSQL database starts without --setup and shares the first one's data and base URL.
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    'data-dir': { type: 'string' },
    port: { type: 'string', default: '0' },
    'base-url': { type: 'string' },
    setup: { type: 'string' },
    // Another build of @gatehouse/server (its dist/index.js), to compare before and after a change.
    module: { type: 'string' },
    'clock-speed': { type: 'string' },
    'housekeeping-ms': { type: 'string' },
    'audit-retention': { type: 'string' },
  },
});
const { createClient, createUser, registerResource, resolveServerConfig, startServer } =
  await import(args.module ?? '@gatehouse/server');

// A throwaway directory is removed afterwards; a given one is kept.
const throwawayDir =
  args['database-url'] === undefined && args['data-dir'] === undefined
    ? mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
    : undefined;
const dataDir = args['data-dir'] ?? throwawayDir;
const config = resolveServerConfig(
  {
    port: args.port,
    ...(args['base-url'] === undefined ? {} : { baseUrl: args['base-url'] }),
    ...(dataDir === undefined ? { databaseUrl: args['database-url'] } : { dataDir }),
    secretKey: process.env.GATEHOUSE_SECRET_KEY,
    ...(args['audit-retention'] === undefined || dataDir === undefined
      ? {}
      : {
          auditRetention: args['audit-retention'],
          auditArchive: join(dataDir, 'audit-archive'),
        }),
  },
  process.cwd(),
);
const speed = Number(args['clock-speed'] ?? 1);
const started = Date.now();
const server = await startServer(config, {
  logger: false,
  ...(speed === 1 ? {} : { clock: () => started + (Date.now() - started) * speed }),
  ...(args['housekeeping-ms'] === undefined
    ? {}
    : { housekeepingIntervalMs: Number(args['housekeeping-ms']) }),
});
const environment = 'development';
const issuer = `${server.url}/e/${environment}`;
const info = { pid: process.pid, url: server.url, issuer, dataDir };
// A seeded database may hold the bench's client, resource and user from an earlier run: each run
// registers its own user, and the resource only once.
const runTag = randomBytes(4).toString('hex');

if (args.setup !== undefined) {
  const ctx = { stores: server.stores, clock: Date.now, actor: 'bench' };
  const resource = 'https://api.bench.test';
  const redirectUri = 'https://app.bench.test/callback';
  if ((await server.stores.resources.get(environment, resource)) === undefined)
    await registerResource(ctx, environment, {
      uri: resource,
      name: 'Bench API',
      scopes: ['reports:read'],
    });
  // A first-party confidential client: no consent page, as the peer's automated grant.
  const { client, clientSecret } = await createClient(ctx, {
    environment,
    type: 'web',
    name: 'Bench',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    skipConsent: true,
  });
  const user = await createUser(ctx, {
    environment,
    email: `bench-${runTag}@example.com`,
    name: 'Bench',
  });
  // Signed-in browsers: the session cookie holds a random id, the store only its hash.
  const sessionCookies = [];
  const now = Date.now();
  for (let i = 0; i < Number(args.setup); i++) {
    const id = randomBytes(32).toString('base64url');
    await server.stores.sessions.create({
      idHash: createHash('sha256').update(id).digest('base64url'),
      environment,
      userId: user.id,
      authTime: now,
      expiresAt: now + 8 * 3600 * 1000 * speed,
      createdAt: now,
    });
    sessionCookies.push(`gh_session=${id}`);
  }
  Object.assign(info, {
    clientId: client.clientId,
    clientSecret,
    redirectUri,
    resource,
    scope: 'reports:read',
    sessionCookies,
  });
}

process.stdout.write(`${JSON.stringify(info)}\n`);
const stop = () =>
  void server.close().then(() => {
    if (throwawayDir !== undefined) rmSync(throwawayDir, { recursive: true, force: true });
    process.exit(0);
  });
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
