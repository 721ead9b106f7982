import type { ChangeFeed } from './change-feed.js';

/**
 * What every request reads and little writes (environments, clients, users, resources, sessions),
 * kept in memory for one second at most: that bound alone meets the issue's "in force on every
 * process within one second", whatever happens to a notification (a listening connection dropped
 * silently, a process killed between its write and its NOTIFY, a migration, an older version
 * during an upgrade). Within the second, invalidation makes changes visible at once:
 * - this process's own writes invalidate immediately (the cached stores do it);
 * - on PostgreSQL, other processes' writes arrive as NOTIFY on the change feed;
 * - on SQLite, `PRAGMA data_version` tells whether any other connection committed since the
 *   last look (another `gatehouse serve`, or a CLI command), and if so everything is dropped.
 * Reloading each row once a second costs nothing next to reading it on every request.
 *
 * Times come from a monotonic clock: a wall clock stepped back (NTP, a resumed VM) must not make
 * entries live longer.
 */
export class ReadCache {
  private readonly topics = new Map<string, Map<string, { value: unknown; loadedAt: number }>>();
  /** Bumped by every invalidation: a load that overlapped one is not kept, as it may be stale. */
  private generation = 0;
  private lastVersion: number | undefined;
  private lastChecked = Number.NEGATIVE_INFINITY;
  static readonly VERSION_CHECK_MS = 5;
  private readonly maxPerTopic = 5_000;
  static readonly TTL_MS = 1_000;
  /** Reads answered from memory, and reads that went to the database, by topic (the metrics). */
  readonly hits = new Map<string, number>();
  readonly misses = new Map<string, number>();

  constructor(
    /** Milliseconds from a monotonic clock (performance.now). */
    private readonly clock: () => number = () => performance.now(),
    /** SQLite: a number that changes when another connection commits. */
    private readonly externalVersion?: () => number,
  ) {}

  /** Listens to another process's announcements (PostgreSQL LISTEN/NOTIFY). */
  follow(feed: ChangeFeed): void {
    feed.onChange((topic) => {
      this.invalidate(topic);
    });
  }

  /** Whether an entry loaded at `loadedAt` is still fresh at `now` (never after a step back). */
  private static fresh(loadedAt: number, now: number): boolean {
    const age = now - loadedAt;
    return age >= 0 && age < ReadCache.TTL_MS;
  }

  private checkExternalWrites(): void {
    if (this.externalVersion === undefined) return;
    // Each look costs a few microseconds (SQLite reads the WAL index); under load once every
    // few milliseconds is enough, and far inside the second a change may take to spread.
    const now = this.clock();
    const since = now - this.lastChecked;
    if (since >= 0 && since < ReadCache.VERSION_CHECK_MS) return;
    this.lastChecked = now;
    const version = this.externalVersion();
    if (this.lastVersion !== undefined && version !== this.lastVersion) this.invalidate('*');
    this.lastVersion = version;
  }

  /** The cached value of `key` under `topic`, or `load()`'s; undefined results are not kept. */
  async read<T>(topic: string, key: string, load: () => Promise<T>): Promise<T> {
    this.checkExternalWrites();
    const now = this.clock();
    const entry = this.topics.get(topic)?.get(key);
    if (entry !== undefined && ReadCache.fresh(entry.loadedAt, now)) {
      this.hits.set(topic, (this.hits.get(topic) ?? 0) + 1);
      return entry.value as T;
    }
    this.misses.set(topic, (this.misses.get(topic) ?? 0) + 1);
    const generation = this.generation;
    const value = await load();
    if (value !== undefined && generation === this.generation) {
      let entries = this.topics.get(topic);
      if (entries === undefined) {
        entries = new Map<string, { value: unknown; loadedAt: number }>();
        this.topics.set(topic, entries);
      }
      // A bound, not an eviction policy: these tables are small, and a full topic starts over.
      if (entries.size >= this.maxPerTopic) entries.clear();
      entries.set(key, { value, loadedAt: now });
    }
    return value;
  }

  /** Forgets a topic, or everything with `*`. */
  invalidate(topic: string): void {
    this.generation++;
    if (topic === '*') this.topics.clear();
    else this.topics.delete(topic);
  }
}
