import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { GRANT_TYPES } from '../protocol.js';
import type { AuditWriterStats } from '../storage/audit/group-commit.js';

/**
 * What the handlers count (`deps.metrics`, absent when metrics are off). Counters only, labelled
 * with values from short fixed sets (route templates, grant types, environment names), never with
 * anything a request sent as is.
 */
export interface Metrics {
  readonly registry: Registry;
  /** One answered request: its route template (never the URL), method, status and duration. */
  request(route: string, method: string, status: number, seconds: number): void;
  tokenIssued(grant: string, environment: string): void;
  /** A redirect URI refused at /authorize (recorded by the authorize error boundary). */
  redirectRefused(environment: string): void;
  /** A wrong password or unknown account; `environment` is `admin` for operators. */
  signInFailed(environment: string): void;
  /** An attempt a limiter refused before checking it (sign-in, device user code, registration). */
  limiterRefused(limiter: string): void;
}

/** What the metrics read when scraped, beside what is counted as it happens. */
export interface MetricSources {
  readonly audit?: AuditWriterStats;
  /** The read cache's reads by topic (storage/read-cache.ts). */
  readonly cache?: {
    readonly hits: ReadonlyMap<string, number>;
    readonly misses: ReadonlyMap<string, number>;
  };
  /** PostgreSQL's connection pool. */
  readonly pool?: {
    readonly totalCount: number;
    readonly idleCount: number;
    readonly waitingCount: number;
  };
}

const KNOWN_GRANTS = new Set<string>(GRANT_TYPES);

/** Seconds: from a cached read (1 ms) to a slow password hash or a stuck database. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** `clients:development` → `clients`: one series per kind of cached row, not per environment. */
function byKind(counts: ReadonlyMap<string, number>): Map<string, number> {
  const kinds = new Map<string, number>();
  for (const [topic, n] of counts) {
    const kind = topic.split(':', 1)[0] ?? topic;
    kinds.set(kind, (kinds.get(kind) ?? 0) + n);
  }
  return kinds;
}

/**
 * A registry of its own per process (per app in the tests: nothing leaks between them), with
 * Node's process metrics (`collectDefaultMetrics`) and Gatehouse's, all named `gatehouse_*`.
 */
export function createMetrics(sources: MetricSources = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'gatehouse_tokens_issued_total',
    help: 'Successful token responses, by grant type and environment',
    labelNames: ['grant', 'environment'] as const,
    registers: [registry],
  });
  const refusedRedirects = new Counter({
    name: 'gatehouse_redirect_uris_refused_total',
    help: 'Authorization requests whose redirect URI was refused, by environment',
    labelNames: ['environment'] as const,
    registers: [registry],
  });
  const signInFailures = new Counter({
    name: 'gatehouse_sign_in_failures_total',
    help: 'Sign-ins refused for a wrong password, an unknown or a disabled account (environment "admin": operators)',
    labelNames: ['environment'] as const,
    registers: [registry],
  });
  const limiterRefusals = new Counter({
    name: 'gatehouse_limiter_refusals_total',
    help: 'Attempts refused by a limiter before they were checked, by limiter',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });
  const { audit, cache, pool } = sources;
  if (audit !== undefined) {
    new Gauge({
      name: 'gatehouse_audit_queue_depth',
      help: 'Audit appends not yet committed (queued or in the batch being written)',
      registers: [registry],
      collect() {
        this.set(audit.pending());
      },
    });
    new Gauge({
      name: 'gatehouse_audit_oldest_pending_seconds',
      help: 'Age of the oldest audit append not yet committed (0 when none)',
      registers: [registry],
      collect() {
        const since = audit.oldestPendingSince();
        this.set(since === undefined ? 0 : (performance.now() - since) / 1000);
      },
    });
    const commits = new Histogram({
      name: 'gatehouse_audit_commit_duration_seconds',
      help: 'Time to commit (and on SQLite fdatasync) one batch of audit appends',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    const batchSize = new Counter({
      name: 'gatehouse_audit_appends_committed_total',
      help: 'Audit appends committed by the group-commit writer',
      registers: [registry],
    });
    audit.onCommit = (size, seconds) => {
      commits.observe(seconds);
      batchSize.inc(size);
    };
  }
  if (cache !== undefined) {
    // Read from the cache's own tallies when scraped: nothing more on the hot path than a Map.set.
    for (const [name, counts, help] of [
      ['gatehouse_read_cache_hits_total', cache.hits, 'Reads answered by the read cache'],
      [
        'gatehouse_read_cache_misses_total',
        cache.misses,
        'Reads the read cache sent to the database',
      ],
    ] as const)
      new Counter({
        name,
        help: `${help}, by kind (environments, clients, users, resources, sessions)`,
        labelNames: ['kind'] as const,
        registers: [registry],
        collect() {
          this.reset();
          for (const [kind, n] of byKind(counts)) this.inc({ kind }, n);
        },
      });
  }
  if (pool !== undefined) {
    for (const [state, read] of [
      ['total', () => pool.totalCount],
      ['idle', () => pool.idleCount],
      ['waiting', () => pool.waitingCount],
    ] as const)
      new Gauge({
        name: `gatehouse_db_pool_${state === 'waiting' ? 'waiting_clients' : `${state}_connections`}`,
        help:
          state === 'waiting'
            ? 'Queries waiting for a PostgreSQL connection'
            : `PostgreSQL connections in the pool (${state})`,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
  }
  return {
    registry,
    request(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
    tokenIssued(grant, environment) {
      tokens.inc({ grant: KNOWN_GRANTS.has(grant) ? grant : 'other', environment });
    },
    redirectRefused(environment) {
      refusedRedirects.inc({ environment });
    },
    signInFailed(environment) {
      signInFailures.inc({ environment });
    },
    limiterRefused(limiter) {
      limiterRefusals.inc({ limiter });
    },
  };
}

/**
 * Counts the refusals of a limiter built at start-up (sign-in, device user codes, registration)
 * without the callers knowing: its `reserve` is wrapped on this one instance.
 */
export function countRefusals<
  L extends { reserve(...args: never[]): Promise<{ readonly granted: boolean }> },
>(limiter: L, metrics: Metrics | undefined, name: string): L {
  if (metrics === undefined) return limiter;
  const reserve = limiter.reserve.bind(limiter) as (
    ...args: unknown[]
  ) => Promise<{ readonly granted: boolean }>;
  Object.defineProperty(limiter, 'reserve', {
    value: async (...args: unknown[]) => {
      const reservation = await reserve(...args);
      if (!reservation.granted) metrics.limiterRefused(name);
      return reservation;
    },
  });
  return limiter;
}
