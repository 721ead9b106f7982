import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A redirect URI used at /authorize, or a post-logout URI used at end_session. */
export type RedirectKind = 'redirect' | 'post_logout';

/** How a URI came to be registered (issue #18's inventory). */
export type RegistrationChannel =
  | 'console'
  | 'cli'
  | 'declarative'
  | 'dynamic'
  | 'metadata_document'
  | 'promotion'
  | 'system'
  | 'unknown';

/** Who registered a URI (the audit actor) and through what. */
export interface Provenance {
  readonly actor: string;
  readonly channel: RegistrationChannel;
}

export interface RedirectRegistration {
  readonly environment: string;
  readonly clientId: string;
  readonly kind: RedirectKind;
  readonly uri: string;
  readonly registeredAt: number;
  /** Null for URIs registered before migration 0015. */
  readonly registeredBy: string | null;
  readonly channel: RegistrationChannel;
  readonly lastUsedAt: number | null;
  /** Successful authorizations (codes issued) or logout returns. */
  readonly useCount: number;
  /** Authorization requests that matched it. */
  readonly requestCount: number;
}

/** What one process counted for one registered URI since its last flush. */
export interface RedirectUsageDelta {
  readonly environment: string;
  readonly clientId: string;
  readonly kind: RedirectKind;
  /** The registered URI (for a loopback or wildcard match, the entry, not the request). */
  readonly uri: string;
  readonly requests: number;
  readonly uses: number;
  /** The latest use counted; null when only requests were. */
  readonly lastUsedAt: number | null;
}

export interface RedirectRegistrationStore {
  /**
   * Makes a client's rows of one kind follow its list: a URI new to it gets a row with this
   * provenance, one no longer listed loses its row (and its counts); the rest are untouched.
   */
  sync(
    environment: string,
    clientId: string,
    kind: RedirectKind,
    uris: readonly string[],
    provenance: Provenance,
    at: number,
  ): Promise<void>;
  forgetClient(environment: string, clientId: string): Promise<void>;
  /**
   * Adds counts: `count + n`, and the later of the two last-use times, so processes flushing
   * at once on one PostgreSQL each add their own. A URI removed meanwhile is skipped. One short
   * statement per delta, each committed on its own (no lock held across the batch); `added` is
   * told of each one committed, so that a caller whose batch fails part way retries only the rest.
   */
  addUsage(
    deltas: readonly RedirectUsageDelta[],
    added?: (delta: RedirectUsageDelta) => void,
  ): Promise<void>;
  list(environment: string): Promise<RedirectRegistration[]>;
  listClient(environment: string, clientId: string): Promise<RedirectRegistration[]>;
  /**
   * When Gatehouse began recording registrations and use: the time migration 0015 was applied.
   * Rows it backfilled (registeredBy null) have no record of use before then. Null when the
   * migration table does not say (a database migrated by other means).
   */
  countingSince(): Promise<number | null>;
}

/** The migration that created the inventory and backfilled what was already registered. */
export const INVENTORY_MIGRATION = '0015-redirect-governance';

type Row = Database['redirect_registrations'];

function toRegistration(row: {
  [K in keyof Row]: K extends 'use_count' | 'request_count' ? number | string : Row[K];
}): RedirectRegistration {
  return {
    environment: row.environment,
    clientId: row.client_id,
    kind: row.kind as RedirectKind,
    uri: row.uri,
    registeredAt: row.registered_at,
    registeredBy: row.registered_by,
    channel: row.channel as RegistrationChannel,
    lastUsedAt: row.last_used_at,
    useCount: Number(row.use_count),
    requestCount: Number(row.request_count),
  };
}

export function redirectRegistrationStore(db: Kysely<Database>): RedirectRegistrationStore {
  return {
    async sync(environment, clientId, kind, uris, provenance, at) {
      const wanted = [...new Set(uris)];
      let removal = db
        .deleteFrom('redirect_registrations')
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .where('kind', '=', kind);
      if (wanted.length > 0) removal = removal.where('uri', 'not in', wanted);
      await removal.execute();
      if (wanted.length === 0) return;
      await db
        .insertInto('redirect_registrations')
        .values(
          wanted.map((uri) => ({
            environment,
            client_id: clientId,
            kind,
            uri,
            registered_at: at,
            registered_by: provenance.actor,
            channel: provenance.channel,
            last_used_at: null,
          })),
        )
        .onConflict((c) => c.columns(['environment', 'client_id', 'kind', 'uri']).doNothing())
        .execute();
    },
    async forgetClient(environment, clientId) {
      await db
        .deleteFrom('redirect_registrations')
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .execute();
    },
    async addUsage(deltas, added) {
      for (const delta of deltas) {
        await db
          .updateTable('redirect_registrations')
          .set({
            use_count: sql`use_count + ${delta.uses}`,
            request_count: sql`request_count + ${delta.requests}`,
            ...(delta.lastUsedAt === null
              ? {}
              : {
                  last_used_at: sql`case when last_used_at is null or last_used_at < ${delta.lastUsedAt} then ${delta.lastUsedAt} else last_used_at end`,
                }),
          })
          .where('environment', '=', delta.environment)
          .where('client_id', '=', delta.clientId)
          .where('kind', '=', delta.kind)
          .where('uri', '=', delta.uri)
          .execute();
        added?.(delta);
      }
    },
    async list(environment) {
      const rows = await db
        .selectFrom('redirect_registrations')
        .selectAll()
        .where('environment', '=', environment)
        .orderBy('client_id')
        .orderBy('kind')
        .orderBy('uri')
        .execute();
      return rows.map(toRegistration);
    },
    async listClient(environment, clientId) {
      const rows = await db
        .selectFrom('redirect_registrations')
        .selectAll()
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .orderBy('kind')
        .orderBy('uri')
        .execute();
      return rows.map(toRegistration);
    },
    async countingSince() {
      // Kysely's migrator keeps the applied time as an ISO 8601 string in `timestamp`.
      const rows = await sql<{
        timestamp: string;
      }>`select timestamp from gatehouse_migrations where name = ${INVENTORY_MIGRATION}`.execute(
        db,
      );
      const at = Date.parse(rows.rows[0]?.timestamp ?? '');
      return Number.isNaN(at) ? null : at;
    },
  };
}
