import type { Clock } from '../clock.js';
import type { ChangeFeed } from './change-feed.js';

/**
 * What every request reads and little writes (environments, clients, users, resources, sessions),
 * kept in memory. Correctness rests on invalidation, not on the lifetime:
 * - this process's own writes invalidate at once (the cached stores do it);
 * - on PostgreSQL, other processes' writes arrive as NOTIFY on the change feed;
 * - on SQLite, `PRAGMA data_version` tells whether any other connection committed since the
 *   last look (another `gatehouse serve`, or a CLI command), and if so everything is dropped.
 * The lifetime only bounds what a missed notification could cost: one second whenever no feed
 * is live (a PostgreSQL CLI, or the feed reconnecting), as the issue's "within one second" asks.
 */
export class ReadCache {
  private readonly topics = new Map<string, Map<string, { value: unknown; loadedAt: number }>>();
  /** Bumped by every invalidation: a load that overlapped one is not kept, as it may be stale. */
  private generation = 0;
  private lastVersion: number | undefined;
  private lastChecked = Number.NEGATIVE_INFINITY;
  static readonly VERSION_CHECK_MS = 5;
  private feed: ChangeFeed | undefined;
  private readonly maxPerTopic = 5_000;
  static readonly UNFED_TTL_MS = 1_000;
  static readonly FED_TTL_MS = 30_000;

  constructor(
    private readonly clock: Clock,
    /** SQLite: a number that changes when another connection commits. */
    private readonly externalVersion?: () => number,
  ) {}

  /** Listens to another process's announcements (PostgreSQL LISTEN/NOTIFY). */
  follow(feed: ChangeFeed): void {
    this.feed = feed;
    feed.onChange((topic) => {
      this.invalidate(topic);
    });
  }

  private ttl(): number {
    // SQLite's data_version sees every other writer, so it is as good as a live feed.
    return this.externalVersion !== undefined || this.feed?.live === true
      ? ReadCache.FED_TTL_MS
      : ReadCache.UNFED_TTL_MS;
  }

  private checkExternalWrites(): void {
    if (this.externalVersion === undefined) return;
    // Each look costs a few microseconds (SQLite reads the WAL index); under load once every
    // few milliseconds is enough, and far inside the second a change may take to spread.
    const now = Date.now();
    if (now - this.lastChecked < ReadCache.VERSION_CHECK_MS) return;
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
    if (entry !== undefined && now - entry.loadedAt < this.ttl()) return entry.value as T;
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
