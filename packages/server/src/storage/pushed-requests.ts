import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Pushed authorization requests (RFC 9126): the parameters a client pushed, kept under the hash of
 * the request_uri it was given, until /authorize takes them once or they expire.
 */
export interface PushedRequestStore {
  save(
    environment: string,
    requestUriHash: string,
    clientId: string,
    params: Readonly<Record<string, string>>,
    expiresAt: number,
    at: number,
  ): Promise<void>;
  /**
   * Spends the request and returns its parameters, only if it is this environment's, was pushed
   * by `clientId` (RFC 9126 §4: bound to the client), is unexpired and was never taken before
   * (§4: one-time use): one conditional UPDATE ... RETURNING, so of concurrent uses at most one
   * wins. Undefined otherwise, and nothing changes (another client cannot burn it).
   */
  take(
    environment: string,
    requestUriHash: string,
    clientId: string,
    now: number,
  ): Promise<Record<string, string> | undefined>;
}

export function pushedRequestStore(db: Kysely<Database>): PushedRequestStore {
  return {
    async save(environment, requestUriHash, clientId, params, expiresAt, at) {
      await db
        .insertInto('pushed_authorization_requests')
        .values({
          request_uri_hash: requestUriHash,
          environment,
          client_id: clientId,
          params: JSON.stringify(params),
          expires_at: expiresAt,
          consumed_at: null,
          created_at: at,
        })
        .execute();
    },
    async take(environment, requestUriHash, clientId, now) {
      const row = await db
        .updateTable('pushed_authorization_requests')
        .set({ consumed_at: now })
        .where('request_uri_hash', '=', requestUriHash)
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('params')
        .executeTakeFirst();
      return row === undefined ? undefined : (JSON.parse(row.params) as Record<string, string>);
    },
  };
}
