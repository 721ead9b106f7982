import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** RFC 7591 §3: initial access tokens that let a client register where registration is protected. */
export interface InitialAccessTokenStore {
  create(environment: string, tokenHash: string, expiresAt: number, at: number): Promise<void>;
  /** Whether a live token with this hash exists in the environment. */
  isValid(environment: string, tokenHash: string, now: number): Promise<boolean>;
  /** Revokes every initial access token of an environment; returns how many there were. */
  revokeAll(environment: string): Promise<number>;
}

export function initialAccessTokenStore(db: Kysely<Database>): InitialAccessTokenStore {
  return {
    async create(environment, tokenHash, expiresAt, at) {
      await db
        .insertInto('initial_access_tokens')
        .values({ token_hash: tokenHash, environment, expires_at: expiresAt, created_at: at })
        .execute();
    },
    async isValid(environment, tokenHash, now) {
      const row = await db
        .selectFrom('initial_access_tokens')
        .select('token_hash')
        .where('environment', '=', environment)
        .where('token_hash', '=', tokenHash)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row !== undefined;
    },
    async revokeAll(environment) {
      const result = await db
        .deleteFrom('initial_access_tokens')
        .where('environment', '=', environment)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
