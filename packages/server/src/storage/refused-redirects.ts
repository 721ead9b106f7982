import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * A redirect URI that real authorization requests used and the policy refused, counted; or, in
 * the post-logout store, a post_logout_redirect_uri that sign-out requests used.
 */
export interface RefusedRedirect {
  readonly environment: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly policyCode: string;
  readonly count: number;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
}

/**
 * Distinct URIs kept per client. Anyone can send refused requests for a public client ID, so
 * the table must not grow without bound; past the cap new URIs are dropped, known ones still count.
 */
export const REFUSED_REDIRECTS_PER_CLIENT = 200;

export interface RefusedRedirectStore {
  record(
    environment: string,
    clientId: string,
    redirectUri: string,
    policyCode: string,
    at: number,
  ): Promise<void>;
  list(environment: string, clientId: string): Promise<RefusedRedirect[]>;
  /** Every client's, in one read (the redirect inventory of a whole environment). */
  listEnvironment(environment: string): Promise<RefusedRedirect[]>;
  /** Forgets a URI once it is registered, so the list shows only what is still refused. */
  forget(environment: string, clientId: string, redirectUri: string): Promise<void>;
  forgetClient(environment: string, clientId: string): Promise<void>;
}

/** The two tables of refusals; the same columns. */
export type RefusedRedirectTableName = 'refused_redirects' | 'refused_post_logout_redirects';

function toRefused(row: Database['refused_redirects']): RefusedRedirect {
  return {
    environment: row.environment,
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    policyCode: row.policy_code,
    count: row.count,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
  };
}

export function refusedRedirectStore(
  database: Kysely<Database>,
  tableName: RefusedRedirectTableName = 'refused_redirects',
): RefusedRedirectStore {
  // Both tables have the columns of `refused_redirects`: the queries are typed against it and
  // run against the table named.
  const db = database as unknown as Kysely<Pick<Database, 'refused_redirects'>>;
  const table = tableName as 'refused_redirects';
  return {
    async record(environment, clientId, redirectUri, policyCode, at) {
      const bumped = await db
        .updateTable(table)
        .set({ count: sql`count + 1`, last_seen_at: at, policy_code: policyCode })
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .where('redirect_uri', '=', redirectUri)
        .executeTakeFirst();
      if (Number(bumped.numUpdatedRows) === 1) return;
      const known = await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .executeTakeFirstOrThrow();
      if (Number(known.n) >= REFUSED_REDIRECTS_PER_CLIENT) return;
      await db
        .insertInto(table)
        .values({
          environment,
          client_id: clientId,
          redirect_uri: redirectUri,
          policy_code: policyCode,
          count: 1,
          first_seen_at: at,
          last_seen_at: at,
        })
        .onConflict((c) =>
          c
            .columns(['environment', 'client_id', 'redirect_uri'])
            .doUpdateSet({ count: sql`${sql.ref(`${tableName}.count`)} + 1`, last_seen_at: at }),
        )
        .execute();
    },
    async list(environment, clientId) {
      const rows = await db
        .selectFrom(table)
        .selectAll()
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .orderBy('last_seen_at', 'desc')
        .execute();
      return rows.map(toRefused);
    },
    async listEnvironment(environment) {
      const rows = await db
        .selectFrom(table)
        .selectAll()
        .where('environment', '=', environment)
        .orderBy('client_id')
        .orderBy('last_seen_at', 'desc')
        .execute();
      return rows.map(toRefused);
    },
    async forget(environment, clientId, redirectUri) {
      await db
        .deleteFrom(table)
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .where('redirect_uri', '=', redirectUri)
        .execute();
    },
    async forgetClient(environment, clientId) {
      await db
        .deleteFrom(table)
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .execute();
    },
  };
}
