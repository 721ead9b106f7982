import type { AttemptStore } from '../storage/attempts.js';

/** An attempt counted before the check it pays for; `granted` false means: refuse, check nothing. */
export interface Reservation {
  readonly granted: boolean;
  /** Attempts in the window, this one included. */
  readonly count: number;
  /** Milliseconds until the window closes (at least 1). */
  readonly retryAfterMs: number;
  /** Takes the attempt back: it turned out not to count (a right password, a real code). */
  release(): Promise<void>;
}

/** Counts attempts per key in a window; the same API whatever keeps the count. */
export interface SharedLimiter {
  /**
   * Counts one attempt against `key` before it is checked, atomically: of any number of
   * concurrent attempts, at most `limit` are granted. A refused one is taken back already.
   */
  reserve(key: string, now: number): Promise<Reservation>;
  /** Milliseconds until `key` may try again, or 0 when it may now (reads; reserves nothing). */
  retryAfter(key: string, now: number): Promise<number>;
  /** Counts one attempt that has already been made. */
  fail(key: string, now: number): Promise<void>;
  reset(key: string): Promise<void>;
}

/**
 * Limits kept in the database, so attempts spread over any number of processes behind a load
 * balancer are counted once (issue #7), and reserved before the check, so attempts fired in
 * parallel are counted before any of them is checked (issue #13). A window opens with the first
 * attempt against a key and closes `windowMs` later; until then at most `limit` are granted.
 */
export class DatabaseAttemptLimiter implements SharedLimiter {
  constructor(
    private readonly store: AttemptStore,
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  async reserve(key: string, now: number): Promise<Reservation> {
    const counted = await this.store.reserve(key, now, this.windowMs);
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await this.store.release(key, counted.openedAt);
    };
    const granted = counted.count <= this.limit;
    // A refused attempt is not a failed one: it was never checked, so it does not count.
    if (!granted) await release();
    return {
      granted,
      count: counted.count,
      retryAfterMs: Math.max(1, counted.expiresAt - now),
      release,
    };
  }

  async retryAfter(key: string, now: number): Promise<number> {
    const counted = await this.store.current(key, now);
    if (counted === undefined || counted.count < this.limit) return 0;
    return Math.max(1, counted.expiresAt - now);
  }

  async fail(key: string, now: number): Promise<void> {
    await this.store.reserve(key, now, this.windowMs);
  }

  async reset(key: string): Promise<void> {
    await this.store.clear(key);
  }
}
