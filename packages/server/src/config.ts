import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { MIN_SECRET_LENGTH } from './crypto/key-encryption.js';

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Public base URL, no trailing slash: issuers are `<baseUrl>/e/<environment>`. */
  readonly baseUrl: string;
  readonly database:
    | { readonly kind: 'sqlite'; readonly dataDir: string }
    | { readonly kind: 'postgres'; readonly url: string };
  /** Whether cookies get the Secure attribute (an https base URL). */
  readonly secureCookies: boolean;
  /**
   * What seals private signing keys at rest: the configured secret, or (SQLite only, when none is
   * configured) a random secret kept in a file beside the database.
   */
  readonly secret: { readonly value: string } | { readonly file: string };
  /**
   * Whose X-Forwarded-For to believe (--trust-proxy): `false` (the default) believes no one and
   * takes the socket's address; a number trusts that many proxy hops in front of Gatehouse; a
   * list trusts those proxy addresses, CIDR ranges or proxy-addr names (loopback, linklocal,
   * uniquelocal). Passed as is to Fastify's `trustProxy`; `request.ip` is then the client's.
   */
  readonly trustProxy: false | number | readonly string[];
  /**
   * --audit-export: every audit entry as JSON lines, with signed checkpoints every
   * `checkpointIntervalMs`, to an absolute file path or `-` (standard output).
   */
  readonly auditExport?: { readonly to: string; readonly checkpointIntervalMs: number };
  /**
   * --audit-retention / --audit-archive: entries older than `ms` are written to an archive file in
   * `directory` and then removed by housekeeping (services/audit-retention.ts). Off: kept forever.
   */
  readonly auditRetention?: { readonly ms: number; readonly directory: string };
  /**
   * --metrics-port / --metrics-host: Prometheus metrics at `http://host:port/metrics`, on a
   * listener of their own (never the public one). Off unless a port is given.
   */
  readonly metrics?: { readonly host: string; readonly port: number };
}

export interface ServerConfigInput {
  readonly host?: string | undefined;
  readonly port?: string | number | undefined;
  readonly dataDir?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly baseUrl?: string | undefined;
  /** GATEHOUSE_SECRET_KEY: at least 32 characters. */
  readonly secretKey?: string | undefined;
  /** GATEHOUSE_SECRET_KEY_FILE: a file holding the secret. */
  readonly secretKeyFile?: string | undefined;
  /** --trust-proxy (GATEHOUSE_TRUST_PROXY): a hop count or a comma-separated list of proxies. */
  readonly trustProxy?: string | undefined;
  /** --audit-export: a file, or `-` for standard output. */
  readonly auditExport?: string | undefined;
  /** --audit-checkpoint-interval: seconds between checkpoints (default 60). */
  readonly auditCheckpointInterval?: string | undefined;
  /** --audit-retention: days the audit log keeps an entry (default: forever). */
  readonly auditRetention?: string | undefined;
  /** --audit-archive: the directory removed entries are archived to first. */
  readonly auditArchive?: string | undefined;
  /** --metrics-port (GATEHOUSE_METRICS_PORT): serve Prometheus metrics on this port. */
  readonly metricsPort?: string | number | undefined;
  /** --metrics-host (GATEHOUSE_METRICS_HOST): the interface for metrics (default 127.0.0.1). */
  readonly metricsHost?: string | undefined;
}

/** A configuration mistake: one line that says what to change. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Resolves and checks the configuration once, at start-up; the result is frozen. */
export function resolveServerConfig(input: ServerConfigInput, cwd: string): ServerConfig {
  const host = input.host ?? '127.0.0.1';
  const port = parsePort(input.port ?? 4000);
  const displayHost = host.includes(':') ? `[${host}]` : host;
  const baseUrl = parseBaseUrl(
    input.baseUrl ?? `http://${displayHost === '0.0.0.0' ? '127.0.0.1' : displayHost}:${port}`,
  );
  const database = parseDatabase(input, cwd);
  return Object.freeze({
    host,
    port,
    baseUrl,
    database,
    secureCookies: baseUrl.startsWith('https:'),
    secret: parseSecret(input, cwd, database),
    trustProxy: parseTrustProxy(input.trustProxy),
    ...parseAuditExport(input, cwd),
    ...parseAuditRetention(input, cwd),
    ...parseMetrics(input, port),
  });
}

function parseMetrics(
  input: ServerConfigInput,
  port: number,
): { metrics?: NonNullable<ServerConfig['metrics']> } {
  if (input.metricsPort === undefined || input.metricsPort === '') {
    if (input.metricsHost !== undefined && input.metricsHost !== '')
      throw new ConfigError('--metrics-host needs --metrics-port');
    return {};
  }
  const metricsPort = parsePort(input.metricsPort, '--metrics-port');
  if (metricsPort !== 0 && metricsPort === port)
    throw new ConfigError(
      `--metrics-port must differ from --port (${port}): metrics have a listener of their own`,
    );
  const host =
    input.metricsHost === undefined || input.metricsHost === '' ? '127.0.0.1' : input.metricsHost;
  return { metrics: { host, port: metricsPort } };
}

function parseAuditExport(
  input: ServerConfigInput,
  cwd: string,
): { auditExport?: NonNullable<ServerConfig['auditExport']> } {
  const interval = input.auditCheckpointInterval ?? '60';
  if (!/^\d{1,6}$/.test(interval) || Number(interval) < 1)
    throw new ConfigError(
      `--audit-checkpoint-interval must be a number of seconds from 1 to 999999, not "${interval}"`,
    );
  if (input.auditExport === undefined || input.auditExport === '') {
    if (input.auditCheckpointInterval !== undefined)
      throw new ConfigError('--audit-checkpoint-interval needs --audit-export');
    return {};
  }
  const to = input.auditExport === '-' ? '-' : resolve(cwd, input.auditExport);
  return { auditExport: { to, checkpointIntervalMs: Number(interval) * 1000 } };
}

function parseAuditRetention(
  input: ServerConfigInput,
  cwd: string,
): { auditRetention?: NonNullable<ServerConfig['auditRetention']> } {
  const days = input.auditRetention;
  const archive = input.auditArchive;
  if (days === undefined || days === '') {
    if (archive !== undefined && archive !== '')
      throw new ConfigError('--audit-archive needs --audit-retention');
    return {};
  }
  if (!/^\d{1,6}(\.\d{1,6})?$/.test(days) || Number(days) <= 0)
    throw new ConfigError(`--audit-retention must be a number of days above 0, not "${days}"`);
  if (archive === undefined || archive === '')
    throw new ConfigError(
      '--audit-retention needs --audit-archive DIR: entries are archived there before they are removed',
    );
  return {
    auditRetention: { ms: Math.round(Number(days) * 86_400_000), directory: resolve(cwd, archive) },
  };
}

/** The names proxy-addr (Fastify's trustProxy) knows for address ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustProxyError(value: string, why: string): ConfigError {
  return new ConfigError(
    `--trust-proxy must be a number of proxy hops (1, 2, ...) or a comma-separated list of proxy addresses or CIDR ranges (10.0.0.0/8,2001:db8::/32); "${value}" ${why}`,
  );
}

/**
 * Off unless given: with it on, any client could claim any address in X-Forwarded-For, and the
 * limits would be theirs to dodge. `true` (trust every hop) is refused for the same reason.
 */
export function parseTrustProxy(value: string | undefined): ServerConfig['trustProxy'] {
  if (value === undefined || value.trim() === '') return false;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops < 1 || hops > 16) throw trustProxyError(value, 'is not a hop count from 1 to 16');
    return hops;
  }
  const entries = text.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (entry === '') throw trustProxyError(value, 'has an empty entry');
    if (PROXY_RANGE_NAMES.has(entry)) continue;
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined)
      throw trustProxyError(value, `has "${entry}", which is not an address or a CIDR range`);
    if (
      prefix !== undefined &&
      (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128))
    )
      throw trustProxyError(value, `has "${entry}", whose prefix length is out of range`);
  }
  return Object.freeze(entries);
}

function parsePort(value: string | number, option = '--port'): number {
  const port = typeof value === 'number' ? value : /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`${option} must be a number from 0 to 65535, not "${String(value)}"`);
  return port;
}

function parseBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `--base-url must be an absolute URL such as https://auth.example.com, not "${value}"`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError('--base-url must use https (or http on a loopback host)');
  // The issuer is what tokens and redirects are bound to: plain http would let anyone on the path read codes.
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new ConfigError(
      `--base-url may use plain http only on a loopback host (127.0.0.1, [::1], localhost); use https://${url.host}${url.pathname}`,
    );
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError('--base-url must not have a query, a fragment or user information');
  }
  return url.href.replace(/\/+$/, '');
}

function parseDatabase(input: ServerConfigInput, cwd: string): ServerConfig['database'] {
  if (input.databaseUrl !== undefined && input.databaseUrl !== '') {
    if (!/^postgres(?:ql)?:\/\//.test(input.databaseUrl)) {
      throw new ConfigError('--database-url (GATEHOUSE_DATABASE_URL) must be a postgres:// URL');
    }
    return { kind: 'postgres', url: input.databaseUrl };
  }
  const dir = input.dataDir ?? '.gatehouse';
  return { kind: 'sqlite', dataDir: isAbsolute(dir) ? dir : resolve(cwd, dir) };
}

function parseSecret(
  input: ServerConfigInput,
  cwd: string,
  database: ServerConfig['database'],
): ServerConfig['secret'] {
  let value = input.secretKey === '' ? undefined : input.secretKey;
  if (value === undefined && input.secretKeyFile !== undefined && input.secretKeyFile !== '') {
    const file = isAbsolute(input.secretKeyFile)
      ? input.secretKeyFile
      : resolve(cwd, input.secretKeyFile);
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch {
      throw new ConfigError(`GATEHOUSE_SECRET_KEY_FILE ${file} cannot be read`);
    }
  }
  if (value !== undefined) {
    if (value.length < MIN_SECRET_LENGTH)
      throw new ConfigError(
        `GATEHOUSE_SECRET_KEY must have at least ${MIN_SECRET_LENGTH} characters (for example: openssl rand -base64 32)`,
      );
    return { value };
  }
  // Several processes share a PostgreSQL database: the secret must come from their configuration.
  if (database.kind === 'postgres')
    throw new ConfigError(
      'PostgreSQL needs GATEHOUSE_SECRET_KEY (or GATEHOUSE_SECRET_KEY_FILE): signing keys are stored encrypted with it',
    );
  return { file: join(database.dataDir, 'secret.key') };
}
