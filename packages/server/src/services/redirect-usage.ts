import type {
  RedirectKind,
  RedirectRegistrationStore,
  RedirectUsageDelta,
} from '../storage/redirect-registrations.js';

/**
 * When each registered redirect URI (and post-logout URI) was last used and how many requests it
 * served (issue #18's inventory), without a database write per request: each process counts in
 * memory, keyed by the registered entry, and adds its counts to `redirect_registrations` in one
 * batch on an interval, when it holds many keys, and when the server stops. The store adds
 * (`count + n`, the later last use), so processes flushing at once on one PostgreSQL each add
 * their own and none overwrites another's.
 *
 * Only registered entries are counted (a match at /authorize or end_session, never the request's
 * text), so the map is bounded by the registrations however many requests arrive. A flush that
 * fails keeps its counts for the next one; a request never waits for a flush nor fails with one.
 * What a process had not flushed when it was killed (SIGKILL, a crash) is lost: the figures are
 * for review, not for billing.
 */
export interface RedirectUsageOptions {
  /** Between flushes (default 10 s). */
  readonly intervalMs?: number;
  /** A flush starts at once when this many entries are held (default 1000). */
  readonly maxKeys?: number;
  /** Told of a failed flush; the error, never a URI or a secret, is what it logs. */
  readonly warn?: (message: string, error: unknown) => void;
}

export const REDIRECT_USAGE_FLUSH_INTERVAL_MS = 10_000;
export const REDIRECT_USAGE_MAX_KEYS = 1000;

/** Which registered entry a request or a use is counted against. */
export interface RegisteredEntry {
  readonly environment: string;
  readonly clientId: string;
  readonly kind: RedirectKind;
  /** The registered URI (for a loopback or wildcard match, the entry, not the request's URI). */
  readonly uri: string;
}

interface Tally {
  readonly entry: RegisteredEntry;
  requests: number;
  uses: number;
  lastUsedAt: number | null;
}

export class RedirectUsage {
  private tallies = new Map<string, Tally>();
  private timer: NodeJS.Timeout | undefined;
  /** The flush under way, if any: flushes run one after the other, never side by side. */
  private flushing: Promise<void> = Promise.resolve();
  private readonly maxKeys: number;
  /** A flush for size is queued: one at a time, however many requests arrive meanwhile. */
  private sizeFlushQueued = false;
  /** The last flush failed: flushes for size wait for the timer's to succeed (no retry storm). */
  private failing = false;

  constructor(
    private readonly store: Pick<RedirectRegistrationStore, 'addUsage'>,
    private readonly options: RedirectUsageOptions = {},
  ) {
    this.maxKeys = options.maxKeys ?? REDIRECT_USAGE_MAX_KEYS;
  }

  /** Starts the periodic flush; the timer does not keep the process alive. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      void this.flush();
    }, this.options.intervalMs ?? REDIRECT_USAGE_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** An authorization (or logout) request that matched `entry`. */
  countRequest(entry: RegisteredEntry): void {
    this.tally(entry).requests++;
    this.flushIfLarge();
  }

  /** A successful use at `at`: a code issued to `entry`, or a return to a post-logout URI. */
  countUse(entry: RegisteredEntry, at: number): void {
    const tally = this.tally(entry);
    tally.uses++;
    if (tally.lastUsedAt === null || at > tally.lastUsedAt) tally.lastUsedAt = at;
    this.flushIfLarge();
  }

  /** How many entries are waiting for the next flush. */
  get pending(): number {
    return this.tallies.size;
  }

  /**
   * Adds what was counted to the store in one batch. Never rejects: on failure the counts go back
   * into the map (added to anything counted meanwhile) for the next flush.
   */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce());
    return this.flushing;
  }

  /** Stops the timer and flushes what is left (server shutdown, after the last request). */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async flushOnce(): Promise<void> {
    if (this.tallies.size === 0) return;
    const batch = this.tallies;
    this.tallies = new Map();
    // In key order, so that processes flushing together update rows in the same order.
    const deltas: RedirectUsageDelta[] = [...batch.keys()].sort().map((key) => {
      const { entry, requests, uses, lastUsedAt } = batch.get(key) as Tally;
      return { ...entry, requests, uses, lastUsedAt };
    });
    // What the store has committed; a batch failing part way keeps only the rest (each count once).
    const added = new Set<RedirectUsageDelta>();
    try {
      await this.store.addUsage(deltas, (delta) => added.add(delta));
      this.failing = false;
    } catch (error) {
      this.failing = true;
      for (const delta of deltas) {
        if (added.has(delta)) continue;
        const key = keyOf(delta);
        const kept = batch.get(key) as Tally;
        const tally = this.tally(kept.entry, key);
        tally.requests += kept.requests;
        tally.uses += kept.uses;
        if (
          kept.lastUsedAt !== null &&
          (tally.lastUsedAt === null || kept.lastUsedAt > tally.lastUsedAt)
        )
          tally.lastUsedAt = kept.lastUsedAt;
      }
      this.options.warn?.(
        'redirect usage flush failed; the counts are kept for the next one',
        error,
      );
    }
  }

  private flushIfLarge(): void {
    if (this.tallies.size < this.maxKeys || this.sizeFlushQueued || this.failing) return;
    this.sizeFlushQueued = true;
    void this.flush().finally(() => {
      this.sizeFlushQueued = false;
    });
  }

  private tally(entry: RegisteredEntry, key = keyOf(entry)): Tally {
    let tally = this.tallies.get(key);
    if (tally === undefined) {
      tally = {
        entry: {
          environment: entry.environment,
          clientId: entry.clientId,
          kind: entry.kind,
          uri: entry.uri,
        },
        requests: 0,
        uses: 0,
        lastUsedAt: null,
      };
      this.tallies.set(key, tally);
    }
    return tally;
  }
}

function keyOf(entry: RegisteredEntry): string {
  return `${entry.environment}\0${entry.clientId}\0${entry.kind}\0${entry.uri}`;
}
