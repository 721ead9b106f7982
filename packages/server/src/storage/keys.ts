import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface SigningKeyRecord {
  readonly kid: string;
  readonly environment: string;
  readonly alg: string;
  readonly privateJwk: string;
  readonly publicJwk: string;
  readonly status: 'active' | 'published' | 'retired';
  readonly createdAt: number;
}

export interface KeyStore {
  /** Keys that are active or published, newest first. */
  listPublished(environment: string): Promise<SigningKeyRecord[]>;
  add(key: SigningKeyRecord): Promise<void>;
}

export function keyStore(db: Kysely<Database>): KeyStore {
  return {
    async listPublished(environment) {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where('environment', '=', environment)
        .where('status', 'in', ['active', 'published'])
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map((row) => ({
        kid: row.kid,
        environment: row.environment,
        alg: row.alg,
        privateJwk: row.private_jwk,
        publicJwk: row.public_jwk,
        status: row.status as SigningKeyRecord['status'],
        createdAt: row.created_at,
      }));
    },
    async add(key) {
      await db
        .insertInto('signing_keys')
        .values({
          kid: key.kid,
          environment: key.environment,
          alg: key.alg,
          private_jwk: key.privateJwk,
          public_jwk: key.publicJwk,
          status: key.status,
          created_at: key.createdAt,
        })
        .execute();
    },
  };
}
