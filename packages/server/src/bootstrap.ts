import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { auditKeys } from './crypto/audit-keys.js';
import { clientSecretHasher } from './crypto/client-secret-hash.js';
import { dpopNonces, type DpopNonces } from './crypto/dpop-nonces.js';
import { keyCipher, type KeyCipher } from './crypto/key-encryption.js';
import { loadOrCreateSecretFile } from './crypto/secret-file.js';
import { DatabaseAttemptLimiter } from './services/shared-attempt-limiter.js';
import { SignInLimits, type Pause } from './services/sign-in-limits.js';
import { listenForChanges, type ChangeFeed } from './storage/change-feed.js';
import { runHousekeeping } from './services/housekeeping.js';
import { AuditExporter, fileSink, stdoutSink } from './services/audit-export.js';
import { flushRepeatedAudit } from './services/repeated-audit.js';
import { RedirectUsage, type RedirectUsageOptions } from './services/redirect-usage.js';
import { closeJtiBlocks, jtiBlocks } from './services/jti-blocks.js';
import { REVOCATION_EVENT_TTL_MS } from './services/revocation.js';
import { MetadataDocumentClients } from './services/metadata-documents.js';
import { DocumentFetcher, type DocumentFetcherOptions } from './net/document-fetcher.js';
import { GuardedPoster } from './net/guarded-post.js';
import { LogoutDeliveryWorker, type LogoutDeliveryOptions } from './services/logout-deliveries.js';
import { ClientKeys, JWKS_MAX_BYTES } from './services/client-keys.js';
import type { FastifyInstance } from 'fastify';
import { createServer, type Server } from 'node:http';
import { countRefusals, createMetrics, type Metrics } from './http/metrics.js';
import { readinessProbe, schemaVersion } from './services/readiness.js';
import { auditWriterStats } from './storage/audit/group-commit.js';
import { createApp } from './app.js';
import { systemClock, type Clock } from './clock.js';
import type { ServerConfig } from './config.js';
import { issuerOf, type AppDeps } from './http/deps.js';
import { randomToken } from './crypto/random.js';
import { createClient } from './services/clients.js';
import type { ServiceContext } from './services/context.js';
import { ensureDefaultEnvironments } from './services/environments.js';
import { ensureKeysOfEveryAlg } from './services/keys.js';
import { createUser } from './services/users.js';
import {
  claimWriteLock,
  openDatabase,
  sqliteTarget,
  type DatabaseHandle,
  type DatabaseTarget,
  type OpenOptions,
} from './storage/database.js';
import { commitSyncOf } from './storage/commit-sync.js';
import { createStores, type StoreOptions, type Stores } from './storage/index.js';
import { Signer } from './tokens/signer.js';

export function databaseTarget(database: ServerConfig['database']): DatabaseTarget {
  return database.kind === 'sqlite'
    ? sqliteTarget(database.dataDir)
    : { kind: 'postgres', url: database.url };
}

/** The data layer alone, for admin commands that work on the same data as `serve`. */
export async function openGatehouse(
  database: ServerConfig['database'],
  secret?: ServerConfig['secret'],
  options: OpenOptions = {},
): Promise<{
  handle: DatabaseHandle;
  stores: Stores;
  cipher: KeyCipher | undefined;
  /** For stores over a transaction of this handle (`withTransaction`). */
  storeOptions: StoreOptions;
  /** DPoP nonces under a key derived from the secret; absent without one (admin commands). */
  dpopNonces: DpopNonces | undefined;
}> {
  const value =
    secret === undefined
      ? undefined
      : 'value' in secret
        ? secret.value
        : await loadOrCreateSecretFile(secret.file);
  const cipher = value === undefined ? undefined : keyCipher(value);
  const storeOptions: StoreOptions = {
    ...(cipher === undefined ? {} : { cipher }),
    ...(value === undefined ? {} : { auditKeys: auditKeys(value) }),
    clientSecrets: clientSecretHasher(value),
  };
  const handle = await openDatabase(databaseTarget(database), options);
  try {
    const stores = createStores(handle, storeOptions);
    // Keys stored before encryption are sealed the first time a secret is there to seal them.
    await stores.keys.sealPlaintextKeys();
    return {
      handle,
      stores,
      cipher,
      storeOptions,
      dpopNonces: value === undefined ? undefined : dpopNonces(value),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export interface DemoCredentials {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly email: string;
  readonly password: string;
}

/**
 * On first start: the three standard environments and, in development only, a demo native client
 * and user whose password is printed this once and never stored in clear or logged again.
 */
export async function firstStart(ctx: ServiceContext): Promise<DemoCredentials | undefined> {
  await ensureDefaultEnvironments(ctx);
  // Environments from before RS256 ID tokens (migration 0013) get their RSA key.
  await ensureKeysOfEveryAlg(ctx);
  // The demo is for a fresh install: once development has any client or user, it is not made.
  const development = await ctx.stores.environments.get('development');
  if (development === undefined || development.tier !== 'development') return undefined;
  if (
    (await ctx.stores.clients.count('development')) > 0 ||
    (await ctx.stores.users.count('development')) > 0
  )
    return undefined;
  const redirectUri = 'http://127.0.0.1/callback';
  const { client } = await createClient(ctx, {
    environment: 'development',
    type: 'native',
    name: 'Gatehouse demo CLI',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token'],
  });
  const password = randomToken(12);
  const user = await createUser(ctx, {
    environment: 'development',
    email: 'demo@example.com',
    password,
    name: 'Demo User',
  });
  return { clientId: client.clientId, redirectUri, email: user.email, password };
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly stores: Stores;
  readonly demo: DemoCredentials | undefined;
  /** `http://host:port/metrics` when --metrics-port is set. */
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

const HOUSEKEEPING_INTERVAL_MS = 30_000;
/** How often queued Back-Channel Logout deliveries are looked at. */
const LOGOUT_DELIVERY_INTERVAL_MS = 2_000;

export async function startServer(
  config: ServerConfig,
  options: {
    logger?: boolean;
    clock?: Clock;
    logStream?: { write(line: string): void };
    /** Limits and trust for fetching Client ID Metadata Documents. */
    documentFetcher?: DocumentFetcherOptions;
    /** How a sign-in past an account's ceiling is held back; the tests count instead of waiting. */
    pause?: Pause;
    /** Between housekeeping runs (default 30 s; the soak benchmark runs it more often). */
    housekeepingIntervalMs?: number;
    /** Back-Channel Logout deliveries: how often the queue is looked at, the retry delays. */
    logoutDeliveries?: LogoutDeliveryOptions & { readonly intervalMs?: number };
    /** Redirect URI usage counts: how often they are flushed (default 10 s), at how many keys. */
    redirectUsage?: Omit<RedirectUsageOptions, 'warn'>;
  } = {},
): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const { handle, stores, storeOptions, ...opened } = await openGatehouse(
    config.database,
    config.secret,
    { backgroundCheckpoints: true },
  );
  // `serve` always has a secret (config.ts); the fallback keeps a process's nonces its own.
  const nonces = opened.dpopNonces ?? dpopNonces(randomBytes(32).toString('base64url'));
  let feed: ChangeFeed | undefined;
  let exporter: AuditExporter | undefined;
  let metricsServer: Server | undefined;
  try {
    // Other processes announce key changes on PostgreSQL; this one listens (LISTEN/NOTIFY).
    feed = config.database.kind === 'postgres' ? listenForChanges(config.database.url) : undefined;
    if (feed !== undefined) handle.cache?.follow(feed);
    // Replicas starting together on an empty database must bootstrap it once, not race.
    const demo = await handle.db.transaction().execute(async (trx) => {
      if (handle.kind === 'postgres')
        await sql`select pg_advisory_xact_lock(7310202612)`.execute(trx);
      await claimWriteLock(trx, handle.kind);
      return firstStart({
        stores: createStores({ ...handle, db: trx }, storeOptions),
        clock,
        actor: 'system',
      });
    });
    handle.cache?.invalidate('*');
    await commitSyncOf(handle.db)?.();
    // Entries written before keyed chaining are closed by an audit.chain_keyed entry now, so a
    // chain of this version is never without a keyed entry (storage/audit/verify.ts).
    await stores.audit.ensureKeyed();
    // With --port 0 the base URL is known only once the port is: filled in after listen().
    const runtime = { baseUrl: config.baseUrl, secureCookies: config.secureCookies };
    const auditWriter = auditWriterStats(handle.db);
    const metrics: Metrics | undefined =
      config.metrics === undefined
        ? undefined
        : createMetrics({
            audit: auditWriter,
            ...(handle.cache === undefined ? {} : { cache: handle.cache }),
            ...(handle.pool === undefined ? {} : { pool: handle.pool }),
          });
    const signer = new Signer(stores.keys, clock, feed);
    // Told of a failed flush once the app (and its logger) exists; none can fail before.
    let usageWarn: (message: string, error: unknown) => void = () => undefined;
    const redirectUsage = new RedirectUsage(stores.redirectRegistrations, {
      ...options.redirectUsage,
      warn: (message, error) => {
        usageWarn(message, error);
      },
    });
    const deps: AppDeps = {
      stores,
      clock,
      signer,
      config: runtime,
      dpopNonces: nonces,
      // Five failures per (account, address) or twenty per address in fifteen minutes; past ten
      // per account from all addresses, slowed down (services/sign-in-limits.ts). In the
      // database, so the limits hold across every process behind a load balancer.
      signInLimits: countRefusals(
        new SignInLimits(stores.attempts, undefined, options.pause),
        metrics,
        'sign_in',
      ),
      deviceCodeLimiter: countRefusals(
        new DatabaseAttemptLimiter(stores.attempts, 10, 15 * 60_000),
        metrics,
        'device_user_code',
      ),
      // Twenty registrations per address an hour: enough for a developer, not for a flood.
      registrationLimiter: countRefusals(
        new DatabaseAttemptLimiter(stores.attempts, 20, 60 * 60_000),
        metrics,
        'registration',
      ),
      // A thousand access-token revocations per client for as long as an event is kept: far
      // more than logouts need, and a bound on what one client adds to every resource server.
      revocationLimiter: countRefusals(
        new DatabaseAttemptLimiter(stores.attempts, 1000, REVOCATION_EVENT_TTL_MS),
        metrics,
        'token_revocation',
      ),
      redirectUsage,
      ...(metrics === undefined ? {} : { metrics }),
      // Migrated to the code's latest by openDatabase just now: what the database must stay at.
      readiness: readinessProbe({
        db: handle.db,
        environments: stores.environments,
        signer,
        audit: auditWriter,
        schema: await schemaVersion(handle.db),
      }),
      documentClients: new MetadataDocumentClients(
        // An internal CA for documents is trusted with NODE_EXTRA_CA_CERTS, like any Node program.
        new DocumentFetcher(options.documentFetcher),
        stores,
        clock,
      ),
      // jwks_uri documents through the same guard, with room for a key set (16 KB).
      clientKeys: new ClientKeys(
        new DocumentFetcher({
          ...options.documentFetcher,
          limits: { ...options.documentFetcher?.limits, maxBytes: JWKS_MAX_BYTES },
        }),
        clock,
      ),
    };
    const app = await createApp(deps, {
      trustProxy: config.trustProxy,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.logStream === undefined ? {} : { logStream: options.logStream }),
    });
    usageWarn = (message, error) => {
      app.log.error({ err: error }, message);
    };
    redirectUsage.start();
    // Expired impersonations and redirect URIs stop working on their own; this records it.
    const housekeepingCtx = { stores, clock, actor: 'system' };
    let housekeepingRunning = false;
    const housekeeping = async () => {
      // A run that takes longer than the interval (a large backlog) is not started twice.
      if (housekeepingRunning) return;
      housekeepingRunning = true;
      try {
        await runHousekeeping(
          housekeepingCtx,
          config.auditRetention === undefined ? {} : { auditRetention: config.auditRetention },
        );
      } catch (error) {
        app.log.error({ err: error }, 'housekeeping failed');
      } finally {
        housekeepingRunning = false;
      }
    };
    await housekeeping();
    const timer = setInterval(
      () => void housekeeping(),
      options.housekeepingIntervalMs ?? HOUSEKEEPING_INTERVAL_MS,
    );
    timer.unref();
    app.addHook('onClose', (_instance, done) => {
      clearInterval(timer);
      done();
    });
    exporter = await startAuditExport(config, stores, storeOptions, clock, (message, error) => {
      app.log.error({ err: error }, message);
    });
    // Made before the first request, so a block that cannot be closed or reserved ahead is
    // logged (the audit then only over-counts: such a block reads "may have been issued").
    jtiBlocks(stores.audit, clock, (message, error) => {
      app.log.warn({ err: error }, message);
    });
    // Back-Channel Logout tokens queued by sign-outs, POSTed to the clients (services/logout-
    // deliveries.ts); every process runs it, each delivery attempt claimed by one.
    const logoutWorker = new LogoutDeliveryWorker(
      {
        stores,
        clock,
        signer,
        poster: new GuardedPoster(
          options.documentFetcher?.extraCa === undefined
            ? {}
            : { extraCa: options.documentFetcher.extraCa },
        ),
        issuerOf: (environment) => issuerOf(deps, environment),
      },
      options.logoutDeliveries,
    );
    const logoutTimer = setInterval(() => {
      logoutWorker.runOnce().catch((error: unknown) => {
        app.log.error({ err: error }, 'back-channel logout delivery failed');
      });
    }, options.logoutDeliveries?.intervalMs ?? LOGOUT_DELIVERY_INTERVAL_MS);
    logoutTimer.unref();
    app.addHook('onClose', async () => {
      clearInterval(logoutTimer);
      // A run under way finishes before the database closes.
      await logoutWorker.settled();
    });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    if (config.port === 0) runtime.baseUrl = config.baseUrl.replace(/:0$/, `:${port}`);
    const url = runtime.baseUrl;
    let metricsUrl: string | undefined;
    if (metrics !== undefined && config.metrics !== undefined) {
      metricsServer = await serveMetrics(metrics, config.metrics, (error) => {
        app.log.error({ err: error }, 'metrics scrape failed');
      });
      const bound = metricsServer.address();
      const host = config.metrics.host.includes(':')
        ? `[${config.metrics.host}]`
        : config.metrics.host;
      metricsUrl = `http://${host}:${typeof bound === 'object' && bound !== null ? bound.port : config.metrics.port}/metrics`;
    }
    const served = metricsServer;
    return {
      app,
      url,
      stores,
      demo,
      metricsUrl,
      async close() {
        await new Promise<void>((resolve) => {
          if (served === undefined) resolve();
          else {
            served.close(() => {
              resolve();
            });
            // A scraper's keep-alive connection must not hold the shutdown.
            served.closeAllConnections();
          }
        });
        await app.close();
        // After the last request: what this process counted is added to the inventory.
        await redirectUsage.close();
        // After the last token: each open jti block is closed with the count it used.
        await closeJtiBlocks(stores.audit);
        // Repeated refusals counted but not yet audited are written now.
        await flushRepeatedAudit(stores.audit);
        // After the last request: its entries are exported too, then a last checkpoint.
        await exporter?.close();
        await feed?.close();
        await handle.close();
      },
    };
  } catch (error) {
    metricsServer?.close();
    await exporter?.close(0);
    await feed?.close();
    await handle.close();
    throw error;
  }
}

/**
 * --metrics-port: `GET /metrics` in Prometheus's text format on a listener of its own, so that it
 * is never reachable through the public port and its proxy; everything else there is a 404.
 */
async function serveMetrics(
  metrics: Metrics,
  at: NonNullable<ServerConfig['metrics']>,
  warn: (error: unknown) => void,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        response
          .writeHead(200, {
            'content-type': metrics.registry.contentType,
            'cache-control': 'no-store',
          })
          .end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        warn(error);
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** --audit-export: the exporter, started, or undefined when none is configured. */
async function startAuditExport(
  config: ServerConfig,
  stores: Stores,
  storeOptions: StoreOptions,
  clock: Clock,
  warn: (message: string, error?: unknown) => void,
): Promise<AuditExporter | undefined> {
  if (config.auditExport === undefined) return undefined;
  const keys = storeOptions.auditKeys;
  if (keys === undefined) throw new Error('--audit-export needs the server secret');
  const { to, checkpointIntervalMs } = config.auditExport;
  const exporter = new AuditExporter({
    audit: stores.audit,
    sink: to === '-' ? stdoutSink(stores.audit, clock) : fileSink(to),
    keys,
    clock,
    checkpointIntervalMs,
    warn,
  });
  await exporter.start();
  return exporter;
}

export { issuerOf };
