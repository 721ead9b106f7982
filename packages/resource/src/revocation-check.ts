/**
 * The check after verification: is a valid token still good? Either by following the revocation
 * feed, or by introspection, or not at all. The options of both modes are checked here, once, at
 * start-up: a mistake is a `TypeError` naming the option (never showing the secret).
 */
import type { JWTPayload } from 'jose';
import { checkClientCredentials, checkEndpointUrl } from './client-credentials.js';
import { IntrospectionClient } from './introspection-client.js';
import { RevocationFeed, type RevocationFeedStatus } from './revocation-feed.js';

export interface RevocationOptions {
  /** The client linked to this resource on the authorization server (a confidential client). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Time between reads of the feed. Default 2 000 ms. */
  readonly pollIntervalMs?: number;
  /**
   * When the last complete read began longer ago than this (or none has succeeded yet), the feed
   * is stale. Default 30 000 ms; it must be longer than `pollIntervalMs`.
   */
  readonly maxStalenessMs?: number;
  /**
   * While the feed is stale: `'fail-closed'` (default) answers every request 503; `'fail-open'`
   * accepts tokens on what is known, so a revocation may go unnoticed until the feed is back.
   */
  readonly onStale?: 'fail-closed' | 'fail-open';
  /** Default: `revocation_feed_endpoint` from the issuer's RFC 8414 metadata. */
  readonly feedUrl?: string;
}

export interface IntrospectionOptions {
  /** The client linked to this resource on the authorization server (a confidential client). */
  readonly clientId: string;
  readonly clientSecret: string;
  /**
   * How long an answer is reused for the same token. Default 2 000 ms, at most 5 000 unless
   * `allowLongCache` is set: the cache is how late a revocation can take effect.
   */
  readonly cacheTtlMs?: number;
  /** Allow `cacheTtlMs` above 5 000 ms, accepting that revocation is that much later. */
  readonly allowLongCache?: boolean;
  /** Default: `introspection_endpoint` from the issuer's RFC 8414 metadata. */
  readonly endpoint?: string;
}

export type RevocationStatus =
  | { readonly mode: 'none' }
  | ({ readonly mode: 'feed'; readonly fresh: boolean } & RevocationFeedStatus)
  | { readonly mode: 'introspection'; readonly cachedAnswers: number };

export type RevocationOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'invalid_token'; readonly description: string }
  | {
      readonly ok: false;
      readonly reason: 'unavailable';
      readonly description: string;
      readonly cause: unknown;
    };

export interface RevocationCheck {
  check(token: string, claims: JWTPayload): Promise<RevocationOutcome>;
  status(): RevocationStatus;
  close(): Promise<void>;
}

interface Shared {
  readonly issuer: string;
  readonly timeoutMs: number;
  /** The leeway verification gives `exp`: a revocation event is kept that much longer. */
  readonly clockToleranceSeconds: number;
  readonly clock: () => number;
}

const REVOKED = 'the access token has been revoked';
const NOT_ACTIVE = 'the access token is not active';
const MAX_SHORT_CACHE_MS = 5_000;
/**
 * Gatehouse keeps a revocation event until 60 s past the expiry of every token it covers, then
 * deletes it (REVOCATION_CLOCK_TOLERANCE_MS on the server). A resource that accepts a token longer
 * past its `exp` than that, and reads the feed after the event is gone (it started late), would
 * accept the revoked token again.
 */
const MAX_FEED_CLOCK_TOLERANCE_S = 60;

const OK: RevocationOutcome = Object.freeze({ ok: true });

const REVOCATION_KEYS = new Set([
  'clientId',
  'clientSecret',
  'pollIntervalMs',
  'maxStalenessMs',
  'onStale',
  'feedUrl',
]);
const INTROSPECTION_KEYS = new Set([
  'clientId',
  'clientSecret',
  'cacheTtlMs',
  'allowLongCache',
  'endpoint',
]);

export function revocationCheck(
  options: {
    readonly revocation?: RevocationOptions;
    readonly introspection?: IntrospectionOptions;
  },
  shared: Shared,
): RevocationCheck {
  const { revocation, introspection } = options;
  if (revocation !== undefined && introspection !== undefined)
    throw new TypeError('revocation and introspection are exclusive: configure one of them');
  if (revocation !== undefined) return feedCheck(revocation, shared);
  if (introspection !== undefined) return introspectionCheck(introspection, shared);
  return {
    check: () => Promise.resolve(OK),
    status: () => ({ mode: 'none' }),
    close: () => Promise.resolve(),
  };
}

function checkKeys(value: unknown, known: ReadonlySet<string>, option: string): void {
  if (typeof value !== 'object' || value === null)
    throw new TypeError(`${option} must be an object`);
  // A misspelt option would otherwise be ignored, and a default (or no revocation) used silently.
  for (const key of Object.keys(value))
    if (!known.has(key)) throw new TypeError(`${option}.${key} is not an option`);
}

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new TypeError(`${option} must be a positive number`);
  return value;
}

function feedCheck(options: RevocationOptions, shared: Shared): RevocationCheck {
  checkKeys(options, REVOCATION_KEYS, 'revocation');
  const credentials = checkClientCredentials(options, 'revocation');
  if (shared.clockToleranceSeconds > MAX_FEED_CLOCK_TOLERANCE_S)
    throw new TypeError(
      `clockToleranceSeconds above ${MAX_FEED_CLOCK_TOLERANCE_S} cannot be used with revocation: the authorization server drops a revocation event ${MAX_FEED_CLOCK_TOLERANCE_S} s after the tokens it covers expire, so a revoked token would be accepted again`,
    );
  const pollIntervalMs = positive(options.pollIntervalMs, 2_000, 'revocation.pollIntervalMs');
  const maxStalenessMs = positive(options.maxStalenessMs, 30_000, 'revocation.maxStalenessMs');
  if (maxStalenessMs <= pollIntervalMs)
    throw new TypeError(
      'revocation.maxStalenessMs must be longer than revocation.pollIntervalMs (or every pause between reads would make the feed stale)',
    );
  // Typed, but a JavaScript caller or a config file can pass anything.
  const onStale: unknown = options.onStale ?? 'fail-closed';
  if (onStale !== 'fail-closed' && onStale !== 'fail-open')
    throw new TypeError("revocation.onStale must be 'fail-closed' or 'fail-open'");
  const feedUrl =
    options.feedUrl === undefined
      ? undefined
      : checkEndpointUrl(options.feedUrl, 'revocation.feedUrl');

  const feed = RevocationFeed.start({
    issuer: shared.issuer,
    feedUrl,
    credentials,
    pollIntervalMs,
    maxStalenessMs,
    timeoutMs: shared.timeoutMs,
    keepAfterExpiryMs: shared.clockToleranceSeconds * 1000,
    clock: shared.clock,
  });
  return {
    check(_token, claims) {
      const freshness = feed.freshness();
      if (!freshness.fresh && onStale === 'fail-closed')
        return Promise.resolve({
          ok: false,
          reason: 'unavailable',
          description: freshness.description,
          cause: freshness.cause,
        });
      // Fresh, or stale and the operator chose to fail open: what is known still refuses.
      return Promise.resolve(
        feed.isRevoked(claims) ? { ok: false, reason: 'invalid_token', description: REVOKED } : OK,
      );
    },
    status: () => ({ mode: 'feed', fresh: feed.freshness().fresh, ...feed.status() }),
    close: () => feed.close(),
  };
}

function introspectionCheck(options: IntrospectionOptions, shared: Shared): RevocationCheck {
  checkKeys(options, INTROSPECTION_KEYS, 'introspection');
  const credentials = checkClientCredentials(options, 'introspection');
  const cacheTtlMs = options.cacheTtlMs ?? 2_000;
  if (typeof cacheTtlMs !== 'number' || !Number.isFinite(cacheTtlMs) || cacheTtlMs < 0)
    throw new TypeError('introspection.cacheTtlMs must be a non-negative number');
  if (options.allowLongCache !== undefined && typeof options.allowLongCache !== 'boolean')
    throw new TypeError('introspection.allowLongCache must be a boolean');
  if (cacheTtlMs > MAX_SHORT_CACHE_MS && options.allowLongCache !== true)
    throw new TypeError(
      `introspection.cacheTtlMs above ${MAX_SHORT_CACHE_MS} ms delays revocation that long: set introspection.allowLongCache to accept it`,
    );
  const endpoint =
    options.endpoint === undefined
      ? undefined
      : checkEndpointUrl(options.endpoint, 'introspection.endpoint');
  const client = new IntrospectionClient({
    issuer: shared.issuer,
    endpoint,
    credentials,
    cacheTtlMs,
    timeoutMs: shared.timeoutMs,
    clock: shared.clock,
  });
  return {
    async check(token, claims) {
      try {
        return (await client.isActive(token, claims))
          ? OK
          : { ok: false, reason: 'invalid_token', description: NOT_ACTIVE };
      } catch (error) {
        return {
          ok: false,
          reason: 'unavailable',
          description: 'the authorization server could not say whether the access token is active',
          cause: error,
        };
      }
    },
    status: () => ({ mode: 'introspection', cachedAnswers: client.cachedAnswers }),
    close: () => {
      client.close();
      return Promise.resolve();
    },
  };
}
