import { shownText } from '../pages/shown-text.js';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A protected resource (RFC 8707 / RFC 9728) registered in an environment, with its scopes. */
export interface Resource {
  readonly environment: string;
  readonly uri: string;
  readonly name: string;
  readonly scopes: readonly string[];
  /**
   * The client that acts for this resource: it may introspect tokens whose audience is the
   * resource (RFC 7662 §2.1) and read the environment's revocation feed. Null: none.
   */
  readonly clientId: string | null;
  /** What its access tokens are signed with: RS256 if it asks (migration 0013); null: ES256. */
  readonly accessTokenAlg: AccessTokenAlg | null;
  readonly createdAt: number;
}

/** The algorithms a resource may ask for its access tokens (ES256 is the default). */
export type AccessTokenAlg = 'ES256' | 'RS256';
export const ACCESS_TOKEN_ALGS: readonly AccessTokenAlg[] = ['ES256', 'RS256'];

/** A resource to register; without `clientId`, no client acts for it. */
export type NewResource = Omit<Resource, 'clientId' | 'accessTokenAlg'> & {
  readonly clientId?: string | null;
  readonly accessTokenAlg?: AccessTokenAlg | null;
};

export interface ResourceStore {
  list(environment: string): Promise<Resource[]>;
  get(environment: string, uri: string): Promise<Resource | undefined>;
  /** Returns false when the resource exists already. */
  create(resource: NewResource): Promise<boolean>;
  /** Links the client that acts for the resource (null: none). False when there is no such resource. */
  setClientId(environment: string, uri: string, clientId: string | null): Promise<boolean>;
  /** Sets the algorithm of its access tokens (null: ES256). False when there is no such resource. */
  setAccessTokenAlg(environment: string, uri: string, alg: AccessTokenAlg | null): Promise<boolean>;
  delete(environment: string, uri: string): Promise<boolean>;
}

export function resourceStore(db: Kysely<Database>): ResourceStore {
  const toResource = (row: {
    environment: string;
    uri: string;
    name: string;
    scopes: string;
    client_id: string | null;
    access_token_alg: string | null;
    created_at: number;
  }): Resource => ({
    environment: row.environment,
    uri: row.uri,
    // A name stored before names were checked may still hold a bidirectional override.
    name: shownText(row.name),
    scopes: JSON.parse(row.scopes) as string[],
    clientId: row.client_id,
    accessTokenAlg: ACCESS_TOKEN_ALGS.includes(row.access_token_alg as AccessTokenAlg)
      ? (row.access_token_alg as AccessTokenAlg)
      : null,
    createdAt: row.created_at,
  });
  return {
    async list(environment) {
      const rows = await db
        .selectFrom('resources')
        .selectAll()
        .where('environment', '=', environment)
        .orderBy('created_at')
        .execute();
      return rows.map(toResource);
    },
    async get(environment, uri) {
      const row = await db
        .selectFrom('resources')
        .selectAll()
        .where('environment', '=', environment)
        .where('uri', '=', uri)
        .executeTakeFirst();
      return row === undefined ? undefined : toResource(row);
    },
    async create(resource) {
      const result = await db
        .insertInto('resources')
        .values({
          environment: resource.environment,
          uri: resource.uri,
          name: resource.name,
          scopes: JSON.stringify(resource.scopes),
          client_id: resource.clientId ?? null,
          access_token_alg: resource.accessTokenAlg ?? null,
          created_at: resource.createdAt,
        })
        .onConflict((c) => c.columns(['environment', 'uri']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async setClientId(environment, uri, clientId) {
      const result = await db
        .updateTable('resources')
        .set({ client_id: clientId })
        .where('environment', '=', environment)
        .where('uri', '=', uri)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setAccessTokenAlg(environment, uri, alg) {
      const result = await db
        .updateTable('resources')
        .set({ access_token_alg: alg })
        .where('environment', '=', environment)
        .where('uri', '=', uri)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async delete(environment, uri) {
      const result = await db
        .deleteFrom('resources')
        .where('environment', '=', environment)
        .where('uri', '=', uri)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}
