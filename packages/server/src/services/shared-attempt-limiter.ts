import type { AttemptStore } from '../storage/attempts.js';

/** Counts failed attempts per key in a sliding window; the same API whatever keeps the count. */
export interface SharedLimiter {
  /** Milliseconds until `key` may try again, or 0 when it may now. */
  retryAfter(key: string, now: number): Promise<number>;
  fail(key: string, now: number): Promise<void>;
  reset(key: string): Promise<void>;
}

/**
 * Sign-in limits kept in the database, so five failures spread over any number of processes
 * behind a load balancer are still five (issue #7).
 */
export class DatabaseAttemptLimiter implements SharedLimiter {
  constructor(
    private readonly store: AttemptStore,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  async retryAfter(key: string, now: number): Promise<number> {
    const { count, earliest } = await this.store.recent(key, now - this.windowMs);
    if (count < this.limit) return 0;
    return Math.max(1, (earliest ?? now) + this.windowMs - now);
  }

  async fail(key: string, now: number): Promise<void> {
    await this.store.record(key, now, now - this.windowMs);
  }

  async reset(key: string): Promise<void> {
    await this.store.clear(key);
  }
}
