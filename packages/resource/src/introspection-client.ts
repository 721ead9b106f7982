/**
 * Asks the authorization server whether a token is active (RFC 7662), for resources that prefer
 * asking to following the revocation feed. Answers are cached briefly per token, so a burst of
 * requests with one token costs one introspection, and a revocation still takes effect within the
 * cache's lifetime.
 */
import { createHash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import {
  AuthorizationServerUnavailable,
  readJson,
  refusal,
  requestWithCredentials,
  type ClientCredentials,
} from './client-credentials.js';
import { lazyEndpoint } from './discovery.js';

export interface IntrospectionClientOptions {
  readonly issuer: string;
  /** Skip discovery (`introspection_endpoint` in the issuer's RFC 8414 metadata). */
  readonly endpoint: string | undefined;
  readonly credentials: ClientCredentials;
  /** How long an answer is reused; 0 asks every time. */
  readonly cacheTtlMs: number;
  readonly timeoutMs: number;
  readonly clock: () => number;
}

/** Beyond this many cached answers, expired ones are dropped, then the oldest. */
const MAX_CACHED = 10_000;

interface CachedAnswer {
  readonly active: boolean;
  readonly until: number;
}

export class IntrospectionClient {
  private readonly cache = new Map<string, CachedAnswer>();
  /** Questions under way, so concurrent requests with one token share one introspection. */
  private readonly asking = new Map<string, Promise<boolean>>();
  private readonly abort = new AbortController();
  private readonly endpoint: () => Promise<string>;

  constructor(private readonly options: IntrospectionClientOptions) {
    this.endpoint = lazyEndpoint({
      issuer: options.issuer,
      field: 'introspection_endpoint',
      configured: options.endpoint,
      timeoutMs: options.timeoutMs,
      clock: options.clock,
    });
  }

  /**
   * Whether the server says the token is active (RFC 7662 §2.2). Call it for a token already
   * verified locally: a forged one must never cost a request. Throws when the server cannot say
   * (unreachable, refusing our credentials, a malformed answer): the caller answers 503.
   */
  async isActive(token: string, claims: JWTPayload): Promise<boolean> {
    if (this.abort.signal.aborted)
      throw new AuthorizationServerUnavailable('the introspection client is closed');
    const key = cacheKey(token, claims);
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.until > this.options.clock()) return cached.active;
    const underWay = this.asking.get(key);
    if (underWay !== undefined) return underWay;
    const question = this.ask(token).finally(() => {
      this.asking.delete(key);
    });
    this.asking.set(key, question);
    const active = await question;
    if (this.options.cacheTtlMs > 0) this.remember(key, active);
    return active;
  }

  /** Cached answers, for status reports. */
  get cachedAnswers(): number {
    return this.cache.size;
  }

  /** Aborts the questions under way; later ones throw. */
  close(): void {
    this.abort.abort();
    this.cache.clear();
  }

  private async ask(token: string): Promise<boolean> {
    const what = 'introspecting an access token';
    const endpoint = await this.endpoint();
    const signal = AbortSignal.any([
      this.abort.signal,
      AbortSignal.timeout(this.options.timeoutMs),
    ]);
    // RFC 7662 §2.1: the token in a form body, with the hint, and the caller authenticated.
    const response = await requestWithCredentials(
      what,
      endpoint,
      this.options.credentials,
      {
        method: 'POST',
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      },
      signal,
    );
    if (response.status !== 200) throw await refusal(what, endpoint, response);
    const body = await readJson(what, endpoint, response, signal);
    const active = (body as { active?: unknown } | null | undefined)?.active;
    // RFC 7662 §2.2: `active` is REQUIRED and a boolean; anything else is no answer.
    if (typeof active !== 'boolean')
      throw new AuthorizationServerUnavailable(
        `${what} failed: ${endpoint}: the answer has no boolean "active"`,
      );
    return active;
  }

  private remember(key: string, active: boolean): void {
    const now = this.options.clock();
    if (this.cache.size >= MAX_CACHED) {
      for (const [cachedKey, answer] of this.cache)
        if (answer.until <= now) this.cache.delete(cachedKey);
      // Still full: Map keeps insertion order, so the first key is the oldest.
      while (this.cache.size >= MAX_CACHED) {
        const oldest = this.cache.keys().next().value;
        if (oldest === undefined) break;
        this.cache.delete(oldest);
      }
    }
    this.cache.delete(key); // re-inserted last: the newest
    this.cache.set(key, { active, until: now + this.options.cacheTtlMs });
  }
}

/**
 * The `jti` the issuer gave the token (RFC 9068 §2.2: unique per token), or a hash of the token
 * for one without. A verified token's `jti` can only be the issuer's, so two tokens sharing it
 * (an ECDSA signature's malleable twin) are the same token.
 */
function cacheKey(token: string, claims: JWTPayload): string {
  if (typeof claims.jti === 'string' && claims.jti !== '') return `jti:${claims.jti}`;
  return `sha256:${createHash('sha256').update(token).digest('base64url')}`;
}
