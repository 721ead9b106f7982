/**
 * Follows the authorization server's revocation feed in the background and answers, from memory,
 * whether a verified token is covered by a revocation event.
 *
 * The feed (`GET <revocation_feed_endpoint>?after=<cursor>`, read with the resource's own client
 * credentials) returns events in `seq` order, which the server makes its commit order, so a
 * reader that keeps its cursor never skips one. Reading starts from cursor 0 every time the
 * process starts: events older than the server's retention only covered tokens that have expired.
 * An event is kept until its `expires_at`, after which no token it covers can still be valid.
 */
import type { JWTPayload } from 'jose';
import {
  AuthorizationServerUnavailable,
  readJson,
  refusal,
  requestWithCredentials,
  type ClientCredentials,
} from './client-credentials.js';
import { lazyEndpoint } from './discovery.js';

export interface RevocationFeedOptions {
  readonly issuer: string;
  /** Skip discovery (`revocation_feed_endpoint` in the issuer's RFC 8414 metadata). */
  readonly feedUrl: string | undefined;
  readonly credentials: ClientCredentials;
  readonly pollIntervalMs: number;
  readonly maxStalenessMs: number;
  readonly timeoutMs: number;
  /**
   * How long past its `expires_at` an event is still kept: the leeway this resource gives `exp`
   * (clockToleranceSeconds). A covered token is accepted that long after its `exp`, so an event
   * dropped at `expires_at` would let it back in.
   */
  readonly keepAfterExpiryMs: number;
  readonly clock: () => number;
}

/** The claim each kind of event is matched against (design of issue #15). */
const CLAIM_OF_KIND: Readonly<Record<string, string>> = {
  token: 'jti',
  grant: 'grant_id',
  // Gatehouse writes user events for users; a client's `sub` is its client_id, which is never a
  // user id, so matching every token's `sub` refuses nothing more than it should.
  user: 'sub',
  client: 'client_id',
  impersonation: 'impersonation_id',
};

/**
 * Kinds matched against two claims at once: `user_client` (Gatehouse 0.x, issue #17: a user
 * revoked one application or agent on their account page) covers every token whose `sub` and
 * `client_id`, joined by one space, equal its key. A reader from before it skips the kind (below:
 * "a kind this version cannot match"), so it refuses such tokens only by the `grant` events the
 * server sends with it, not an agent's token from a token exchange: upgrade to refuse those too.
 */
const CLAIMS_OF_PAIR_KIND: Readonly<Record<string, readonly [string, string]>> = {
  user_client: ['sub', 'client_id'],
};

const knownKind = (kind: string) =>
  Object.hasOwn(CLAIM_OF_KIND, kind) || Object.hasOwn(CLAIMS_OF_PAIR_KIND, kind);

/** One event, as kept: both times in seconds (NumericDate), as the feed sends them. */
interface KeptEvent {
  readonly issuedBefore: number;
  readonly expiresAt: number;
}

export interface RevocationFeedStatus {
  /** At least one complete read has succeeded. */
  readonly synced: boolean;
  /** When the last complete read began (the data is at least this fresh), by the clock. */
  readonly lastSyncAt: number | undefined;
  /** The cursor the next read starts after. */
  readonly cursor: number;
  /** Events kept in memory. */
  readonly events: number;
  /** Failed reads since the last success. */
  readonly failures: number;
  /** What went wrong last time, if the last read failed (never a credential). */
  readonly lastError: string | undefined;
  /** The delay before the next read: the poll interval, or the back-off after failures. */
  readonly nextReadInMs: number | undefined;
  readonly closed: boolean;
}

export type Freshness =
  | { readonly fresh: true }
  | { readonly fresh: false; readonly description: string; readonly cause: Error };

/** A failing feed is retried after pollIntervalMs, doubling per failure, up to this (or the interval). */
const MAX_BACKOFF_MS = 15_000;

/** The feed returns at most 10 000 events per page; this many pages in one read is a loop. */
const MAX_PAGES_PER_READ = 10_000;

export class RevocationFeed {
  /** Key `<kind>:<key>` (a kind never holds `:`), events in arrival order. */
  private readonly index = new Map<string, KeptEvent[]>();
  private count = 0;
  private cursor = 0;
  private lastSyncAt: number | undefined;
  private failures = 0;
  private lastError: Error | undefined;
  private nextDelay: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly feedUrl: () => Promise<string>;
  /** Cycles begun, and the callers waiting for a cycle begun after they asked. */
  private cyclesBegun = 0;
  private waiters: { after: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  private constructor(private readonly options: RevocationFeedOptions) {
    this.feedUrl = lazyEndpoint({
      issuer: options.issuer,
      field: 'revocation_feed_endpoint',
      configured: options.feedUrl,
      timeoutMs: options.timeoutMs,
      clock: options.clock,
    });
  }

  /** Starts following at once; the first read happens on the next turn of the event loop. */
  static start(options: RevocationFeedOptions): RevocationFeed {
    const feed = new RevocationFeed(options);
    feed.schedule(0);
    return feed;
  }

  /**
   * Whether an event covers the token: its claim for the event's kind equals the key and it was
   * issued no later than `issued_before` (both in seconds, so a token issued in the second of the
   * revocation is refused too: fail safe). A token without a numeric `iat` is covered by any
   * event on its claims. A `token` event covers its `jti` whatever the `iat`: a jti names one
   * token, and its `iat` comes from the clock of the process that signed it, which may be ahead
   * of the clock of the process that revoked it (`issued_before`). A claim present but not a
   * string (keys are strings) cannot be matched, so it is taken as revoked: fail closed. A pair
   * kind (`user_client`) matches two claims joined by a space.
   */
  isRevoked(claims: JWTPayload): boolean {
    const iat = typeof claims.iat === 'number' ? claims.iat : Number.NEGATIVE_INFINITY;
    for (const [kind, claim] of Object.entries(CLAIM_OF_KIND)) {
      const value = claims[claim];
      if (value === undefined) continue;
      if (typeof value !== 'string') return true;
      const events = this.index.get(`${kind}:${value}`);
      if (events === undefined) continue;
      if (kind === 'token' || events.some((event) => iat <= event.issuedBefore)) return true;
    }
    for (const [kind, [first, second]] of Object.entries(CLAIMS_OF_PAIR_KIND)) {
      const a = claims[first];
      const b = claims[second];
      if (a === undefined || b === undefined) continue;
      if (typeof a !== 'string' || typeof b !== 'string') return true;
      const events = this.index.get(`${kind}:${a} ${b}`);
      if (events?.some((event) => iat <= event.issuedBefore) === true) return true;
    }
    return false;
  }

  /**
   * Fresh: a complete read began within maxStalenessMs. Not fresh before the first one, after a
   * run of failures that long, and once closed.
   */
  freshness(): Freshness {
    if (this.closed) return stale('the revocation feed is no longer followed', new Error('closed'));
    if (this.lastSyncAt === undefined)
      return stale(
        'the revocation feed has not been read yet',
        this.lastError ?? new Error('the first read of the revocation feed is under way'),
      );
    const age = this.options.clock() - this.lastSyncAt;
    if (age > this.options.maxStalenessMs)
      return stale(
        'the revocation feed has not been read recently',
        this.lastError ?? new Error(`the revocation feed was last read ${Math.round(age)} ms ago`),
      );
    return { fresh: true };
  }

  status(): RevocationFeedStatus {
    return {
      synced: this.lastSyncAt !== undefined,
      lastSyncAt: this.lastSyncAt,
      cursor: this.cursor,
      events: this.count,
      failures: this.failures,
      lastError: this.lastError?.message,
      nextReadInMs: this.nextDelay,
      closed: this.closed,
    };
  }

  /**
   * Resolves after the next complete read that begins after this call: whatever was revoked
   * before the call is then known. Rejects if the feed is closed first.
   */
  nextSync(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the revocation feed is closed'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ after: this.cyclesBegun, resolve, reject });
    });
  }

  /** Stops following: no further read, the one under way aborted and waited for. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextDelay = undefined;
    this.abort.abort();
    for (const waiter of this.waiters.splice(0))
      waiter.reject(new Error('the revocation feed is closed'));
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.nextDelay = delayMs;
    // A single timer, set only when no read is under way: reads never overlap. Unref'd, so the
    // follower alone never keeps a process alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.cycle().finally(() => {
        this.running = undefined;
      });
    }, delayMs);
    this.timer.unref();
  }

  private async cycle(): Promise<void> {
    const begun = ++this.cyclesBegun;
    const startedAt = this.options.clock();
    this.nextDelay = undefined;
    try {
      await this.readAll();
    } catch (error) {
      if (this.closed) return;
      this.failures++;
      this.lastError =
        error instanceof Error ? error : new AuthorizationServerUnavailable(String(error));
      this.schedule(retryDelayMs(this.options.pollIntervalMs, this.failures));
      return;
    }
    // Everything committed before startedAt has been read, so this is how fresh the data is.
    this.lastSyncAt = startedAt;
    this.failures = 0;
    this.lastError = undefined;
    this.prune();
    const ready = this.waiters.filter((waiter) => waiter.after < begun);
    this.waiters = this.waiters.filter((waiter) => waiter.after >= begun);
    for (const waiter of ready) waiter.resolve();
    this.schedule(this.options.pollIntervalMs);
  }

  /** Reads pages until the feed says there are no more. */
  private async readAll(): Promise<void> {
    const feedUrl = await this.feedUrl();
    for (let page = 0; page < MAX_PAGES_PER_READ; page++) {
      const { more } = await this.readPage(feedUrl);
      if (!more) return;
    }
    throw new AuthorizationServerUnavailable(
      `reading the revocation feed failed: ${feedUrl}: more than ${MAX_PAGES_PER_READ} pages`,
    );
  }

  private async readPage(feedUrl: string): Promise<{ more: boolean }> {
    const what = 'reading the revocation feed';
    const url = new URL(feedUrl);
    url.searchParams.set('after', String(this.cursor));
    const signal = AbortSignal.any([
      this.abort.signal,
      AbortSignal.timeout(this.options.timeoutMs),
    ]);
    const response = await requestWithCredentials(
      what,
      url.href,
      this.options.credentials,
      { method: 'GET' },
      signal,
    );
    if (response.status !== 200) throw await refusal(what, url.href, response);
    const body = await readJson(what, url.href, response, signal);
    const page = parsePage(body, this.cursor);
    if (typeof page === 'string')
      throw new AuthorizationServerUnavailable(`${what} failed: ${url.href}: ${page}`);
    const now = this.options.clock();
    for (const event of page.events) {
      if (event.seq <= this.cursor) continue; // already kept
      if (!knownKind(event.kind)) continue; // a kind this version cannot match
      if (this.expired(event, now)) continue; // covers no token that is still accepted
      const key = `${event.kind}:${event.key}`;
      const kept = this.index.get(key);
      const entry = { issuedBefore: event.issuedBefore, expiresAt: event.expiresAt };
      if (kept === undefined) this.index.set(key, [entry]);
      else kept.push(entry);
      this.count++;
    }
    this.cursor = page.next;
    return { more: page.more };
  }

  /**
   * Past its expires_at and this resource's leeway for `exp`: every token the event covers has
   * expired, and is refused here without it.
   */
  private expired(event: KeptEvent, now: number): boolean {
    return event.expiresAt * 1000 + this.options.keepAfterExpiryMs <= now;
  }

  /** Drops the expired events (`expired`). */
  private prune(): void {
    const now = this.options.clock();
    for (const [key, events] of this.index) {
      const live = events.filter((event) => !this.expired(event, now));
      this.count -= events.length - live.length;
      if (live.length === 0) this.index.delete(key);
      else if (live.length !== events.length) this.index.set(key, live);
    }
  }
}

/**
 * The delay before the next read after `failures` consecutive failures: the poll interval,
 * doubled per failure after the first, capped at max(15 s, pollIntervalMs), so a failing server
 * is not hammered and a recovered one is read again soon.
 */
export function retryDelayMs(pollIntervalMs: number, failures: number): number {
  const cap = Math.max(MAX_BACKOFF_MS, pollIntervalMs);
  return Math.min(cap, pollIntervalMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

function stale(description: string, cause: Error): Freshness {
  return { fresh: false, description, cause };
}

interface FeedEvent {
  readonly seq: number;
  readonly kind: string;
  readonly key: string;
  readonly issuedBefore: number;
  readonly expiresAt: number;
}

interface FeedPage {
  readonly events: readonly FeedEvent[];
  readonly next: number;
  readonly more: boolean;
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * A page of the feed, checked whole before any of it is used; or what is wrong with it. The
 * cursor must never go back, and must move when the server says there is more (or the reader
 * would loop).
 */
function parsePage(body: unknown, after: number): FeedPage | string {
  if (typeof body !== 'object' || body === null) return 'the answer is not a JSON object';
  const { events, next, more } = body as Record<string, unknown>;
  if (!Array.isArray(events)) return 'events is not an array';
  if (!isCount(next)) return 'next is not a cursor';
  if (typeof more !== 'boolean') return 'more is not a boolean';
  if (next < after) return `the cursor went back from ${after} to ${next}`;
  if (more && next === after) return 'more is true but the cursor did not move';
  const parsed: FeedEvent[] = [];
  for (const event of events as unknown[]) {
    if (typeof event !== 'object' || event === null) return 'an event is not an object';
    const { seq, kind, key, issued_before, expires_at } = event as Record<string, unknown>;
    if (
      !isCount(seq) ||
      typeof kind !== 'string' ||
      typeof key !== 'string' ||
      typeof issued_before !== 'number' ||
      !Number.isFinite(issued_before) ||
      typeof expires_at !== 'number' ||
      !Number.isFinite(expires_at)
    )
      return 'an event lacks seq, kind, key, issued_before or expires_at';
    if (seq > next) return `event ${seq} is beyond the cursor ${next}`;
    parsed.push({ seq, kind, key, issuedBefore: issued_before, expiresAt: expires_at });
  }
  return { events: parsed, next, more };
}
