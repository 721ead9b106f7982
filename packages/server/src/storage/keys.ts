import type { Kysely, Selectable } from 'kysely';
import { isSealed, type KeyCipher } from '../crypto/key-encryption.js';
import { announceChange } from './change-feed.js';
import type { DatabaseKind } from './database.js';
import type { Database, SigningKeyTable } from './schema.js';

export interface SigningKeyRecord {
  readonly kid: string;
  readonly environment: string;
  readonly alg: string;
  /** The private JWK as JSON, opened (the store seals and opens it). */
  readonly privateJwk: string;
  readonly publicJwk: string;
  readonly status: 'active' | 'published' | 'retired';
  /** When it starts signing; null: from creation. */
  readonly activatesAt: number | null;
  readonly retiredAt: number | null;
  readonly createdAt: number;
}

export interface KeyStore {
  /** Keys in the JWKS (not retired), newest first. */
  listPublished(environment: string): Promise<SigningKeyRecord[]>;
  /** Every key, retired ones too, newest first (private keys not opened). */
  listAll(environment: string): Promise<Omit<SigningKeyRecord, 'privateJwk'>[]>;
  add(key: SigningKeyRecord): Promise<void>;
  /** Returns whether the key was published and is now retired. */
  retire(environment: string, kid: string, at: number): Promise<boolean>;
  /** Seals private keys stored before encryption; returns how many. */
  sealPlaintextKeys(): Promise<number>;
}

/**
 * Signing keys, with private keys sealed at rest when a cipher is configured (issue #7). Without
 * one, sealed keys cannot be read and new keys are stored as plain JSON (SQLite without a secret
 * only; PostgreSQL refuses to start without one).
 */
export function keyStore(
  db: Kysely<Database>,
  cipher?: KeyCipher,
  kind: DatabaseKind = 'sqlite',
): KeyStore {
  const open = (row: Selectable<SigningKeyTable>): string => {
    if (!isSealed(row.private_jwk)) return row.private_jwk;
    if (cipher === undefined)
      throw new Error(
        `signing key ${row.kid} is encrypted: set GATEHOUSE_SECRET_KEY (or GATEHOUSE_SECRET_KEY_FILE) to the secret it was sealed with`,
      );
    return cipher.open(row.private_jwk, row.kid);
  };
  const summary = (row: Selectable<SigningKeyTable>) => ({
    kid: row.kid,
    environment: row.environment,
    alg: row.alg,
    publicJwk: row.public_jwk,
    status: row.status as SigningKeyRecord['status'],
    activatesAt: row.activates_at,
    retiredAt: row.retired_at,
    createdAt: row.created_at,
  });
  return {
    async listPublished(environment) {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where('environment', '=', environment)
        .where('status', 'in', ['active', 'published'])
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map((row) => ({ ...summary(row), privateJwk: open(row) }));
    },
    async listAll(environment) {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where('environment', '=', environment)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(summary);
    },
    async add(key) {
      await db
        .insertInto('signing_keys')
        .values({
          kid: key.kid,
          environment: key.environment,
          alg: key.alg,
          private_jwk: cipher === undefined ? key.privateJwk : cipher.seal(key.privateJwk, key.kid),
          public_jwk: key.publicJwk,
          status: key.status,
          activates_at: key.activatesAt,
          retired_at: key.retiredAt,
          created_at: key.createdAt,
        })
        .execute();
      await announceChange(db, kind, `keys:${key.environment}`);
    },
    async retire(environment, kid, at) {
      const result = await db
        .updateTable('signing_keys')
        .set({ status: 'retired', retired_at: at })
        .where('environment', '=', environment)
        .where('kid', '=', kid)
        .where('status', '!=', 'retired')
        .executeTakeFirst();
      const retired = Number(result.numUpdatedRows) === 1;
      if (retired) await announceChange(db, kind, `keys:${environment}`);
      return retired;
    },
    async sealPlaintextKeys() {
      if (cipher === undefined) return 0;
      const rows = await db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
      let sealed = 0;
      for (const row of rows) {
        if (isSealed(row.private_jwk)) continue;
        // Conditional on the old value, so two processes sealing at once do not seal twice.
        const result = await db
          .updateTable('signing_keys')
          .set({ private_jwk: cipher.seal(row.private_jwk, row.kid) })
          .where('kid', '=', row.kid)
          .where('private_jwk', '=', row.private_jwk)
          .executeTakeFirst();
        sealed += Number(result.numUpdatedRows);
      }
      return sealed;
    },
  };
}
