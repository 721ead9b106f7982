// The first start of a server whose environments are all from before RS256 keys (migration
// 0013): each gets its RSA key at start-up (services/keys.ts ensureKeysOfEveryAlg). Seeds a
// SQLite data directory once with BENCH_ENVIRONMENTS environments holding only their EC key,
// then starts the built server (packages/server/dist) on a fresh copy BENCH_RUNS times and
// prints how long each start took and the longest the event loop was held. Figures only.
//
//   npm run bench:startup-keys
//
// Settings (environment): BENCH_ENVIRONMENTS (default 200), BENCH_RUNS (default 3),
// BENCH_SERVER_DIST (another build of packages/server/dist, to compare two versions).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const ENVIRONMENTS = Number(process.env.BENCH_ENVIRONMENTS ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dist =
  process.env.BENCH_SERVER_DIST === undefined
    ? new URL('../packages/server/dist/', import.meta.url)
    : pathToFileURL(`${process.env.BENCH_SERVER_DIST.replace(/\/$/, '')}/`);
const { openGatehouse, startServer, resolveServerConfig } = await import(
  new URL('index.js', dist).href
);
const { generateSigningKey } = await import(new URL('crypto/signing-keys.js', dist).href);
const SECRET = 'gatehouse-bench-secret-key-0123456789abcdef';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-startup-keys-'));
const seed = join(root, 'seed');
try {
  // Before 0013: an environment had one ES256 key and no RSA key.
  const { handle, stores } = await openGatehouse(
    { kind: 'sqlite', dataDir: seed },
    { value: SECRET },
  );
  const names = ['development', 'staging', 'production'];
  for (let i = names.length; i < ENVIRONMENTS; i++) names.push(`env-${i}`);
  const now = Date.now() - 3_600_000;
  for (const [i, name] of names.slice(0, ENVIRONMENTS).entries()) {
    const tier = i === 0 ? 'development' : i === 1 ? 'staging' : 'production';
    await stores.environments.create({
      name,
      tier,
      impersonationEnabled: false,
      registration: 'token',
      allowLoopbackDocuments: false,
      requirePar: false,
      metadataDocuments: false,
      createdAt: now,
    });
    const key = await generateSigningKey('ES256');
    await stores.keys.add({
      ...key,
      environment: name,
      alg: 'ES256',
      status: 'active',
      activatesAt: null,
      retiredAt: null,
      createdAt: now,
    });
  }
  await handle.close();

  for (let run = 1; run <= RUNS; run++) {
    const dataDir = join(root, `run-${run}`);
    cpSync(seed, dataDir, { recursive: true });
    const config = resolveServerConfig({ port: 0, dataDir, secretKey: SECRET }, process.cwd());
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const server = await startServer(config, { logger: false });
    const ms = performance.now() - started;
    delay.disable();
    const rsa = (
      await Promise.all(
        (await server.stores.environments.list()).map(async (e) =>
          (await server.stores.keys.listAll(e.name)).filter((k) => k.alg === 'RS256'),
        ),
      )
    ).flat().length;
    await server.close();
    console.log(
      `run ${run}: ${ENVIRONMENTS} environments from before 0013: first start ${(ms / 1000).toFixed(1)} s, ` +
        `${rsa} RSA keys made, event loop held at most ${(delay.max / 1e6).toFixed(0)} ms at a time`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
