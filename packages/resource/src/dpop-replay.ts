/**
 * Remembering DPoP proof `jti`s, so a proof is used once (RFC 9449 §11.1). The default is a
 * bounded in-memory cache per process; several processes behind one address each have their own,
 * so a proof replayed to another process is accepted there unless routing is sticky or a shared
 * store is given (`dpop.replayStore`).
 */

/** Where used proof identifiers are remembered. */
export interface DpopReplayStore {
  /**
   * Records `key` until `expiresAt` (milliseconds since the epoch) and returns true, or returns
   * false when `key` is already recorded and has not expired: a replay. It must be atomic: of
   * two concurrent calls with one key, one gets false.
   */
  useOnce(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/**
 * A `Map` in insertion order: a proof's entry lives until the last moment its `iat` could still
 * be accepted, so expired entries are found at the front. When `maxEntries` unexpired entries
 * are held, the oldest is dropped: memory stays bounded whatever arrives, at the cost that a
 * flood of fresh proofs could push out a proof recorded within the window, making its replay
 * possible again until its `iat` is too old. The default (100 000) is far above what one
 * process verifies in a proof's lifetime.
 */
export class MemoryReplayCache implements DpopReplayStore {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly clock: () => number,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new TypeError('dpop.replayCacheSize must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  useOnce(key: string, expiresAt: number): boolean {
    const now = this.clock();
    this.prune(now);
    const known = this.entries.get(key);
    if (known !== undefined && known > now) return false;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, expiresAt);
    return true;
  }

  /** Drops expired entries from the front; entries expire roughly in insertion order. */
  private prune(now: number): void {
    for (const [key, expiresAt] of this.entries) {
      if (expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}
