import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { DatabaseKind } from './database.js';
import type { Database } from './schema.js';

/** The PostgreSQL channel on which processes tell each other that cached data changed. */
export const CHANGES_CHANNEL = 'gatehouse_changes';

/**
 * Tells every process on this database that something it may cache changed (`keys:<env>`). On
 * PostgreSQL a NOTIFY, delivered when the surrounding transaction commits; on SQLite nothing
 * (one machine: caches there are short enough).
 */
export async function announceChange(
  db: Kysely<Database>,
  kind: DatabaseKind,
  topic: string,
): Promise<void> {
  if (kind === 'postgres') await sql`select pg_notify(${CHANGES_CHANNEL}, ${topic})`.execute(db);
}

/** What this process hears of other processes' changes. */
export interface ChangeFeed {
  /** Whether the feed is listening now; while it is not, caches must not trust it. */
  readonly live: boolean;
  onChange(listener: (topic: string) => void): void;
  close(): Promise<void>;
}

/**
 * LISTENs on a connection of its own, reconnecting after a failure. While it is down `live` is
 * false and every listener hears `*` once it is back, since changes may have been missed.
 */
export function listenForChanges(
  url: string,
  onError: (error: unknown) => void = () => undefined,
): ChangeFeed {
  const listeners: ((topic: string) => void)[] = [];
  let client: pg.Client | undefined;
  let live = false;
  let closed = false;
  let retryMs = 250;
  const emit = (topic: string) => {
    for (const listener of listeners) listener(topic);
  };
  const connect = async (): Promise<void> => {
    if (closed) return;
    // Keep-alive, so a connection cut without a word (a NAT, a firewall) ends and reconnects.
    const next = new pg.Client({ connectionString: url, keepAlive: true });
    next.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload !== undefined)
        emit(message.payload);
    });
    next.on('error', (error) => {
      onError(error);
      reconnect(next);
    });
    next.on('end', () => {
      reconnect(next);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGES_CHANNEL}`);
      client = next;
      live = true;
      retryMs = 250;
      // Anything may have changed while nobody was listening.
      emit('*');
    } catch (error) {
      onError(error);
      reconnect(next);
    }
  };
  const reconnect = (failed: pg.Client) => {
    if (closed || (client !== undefined && client !== failed)) return;
    live = false;
    client = undefined;
    void failed.end().catch(() => undefined);
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, 10_000);
    setTimeout(() => void connect(), wait).unref();
  };
  void connect();
  return {
    get live() {
      return live;
    },
    onChange(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      live = false;
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
