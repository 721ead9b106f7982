import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface ConsentStore {
  /** The scopes this user has granted this client, or undefined. */
  get(
    environment: string,
    userId: string,
    clientId: string,
  ): Promise<readonly string[] | undefined>;
  /** Records the union of what was granted before and now. */
  grant(
    environment: string,
    userId: string,
    clientId: string,
    scopes: readonly string[],
    at: number,
  ): Promise<void>;
}

export function consentStore(db: Kysely<Database>): ConsentStore {
  const get = async (
    environment: string,
    userId: string,
    clientId: string,
  ): Promise<readonly string[] | undefined> => {
    const row = await db
      .selectFrom('consents')
      .select('scope')
      .where('environment', '=', environment)
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return row === undefined ? undefined : row.scope.split(' ').filter((s) => s !== '');
  };
  return {
    get,
    async grant(environment, userId, clientId, scopes, at) {
      const union = [...new Set([...((await get(environment, userId, clientId)) ?? []), ...scopes])]
        .sort()
        .join(' ');
      await db
        .insertInto('consents')
        .values({ environment, user_id: userId, client_id: clientId, scope: union, created_at: at })
        .onConflict((c) =>
          c
            .columns(['environment', 'user_id', 'client_id'])
            .doUpdateSet({ scope: union, created_at: at }),
        )
        .execute();
    },
  };
}
