/**
 * Counts failed attempts per key (an account, a client address) in a sliding window. In memory,
 * per process: issue #7 moves it to the shared database for several processes.
 */
export class AttemptLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds until `key` may try again, or 0 when it may now. */
  retryAfter(key: string, now: number): number {
    const recent = this.recent(key, now);
    if (recent.length < this.limit) return 0;
    return (recent[0] ?? now) + this.windowMs - now;
  }

  fail(key: string, now: number): void {
    const recent = this.recent(key, now);
    recent.push(now);
    this.failures.set(key, recent);
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const kept = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    // Bound memory under a spray of distinct keys: forget the oldest keys past a ceiling.
    if (this.failures.size > 100_000)
      this.failures.delete(this.failures.keys().next().value as string);
    return kept;
  }
}
