import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { useOnce } from './used-once.js';

/**
 * The `jti`s of DPoP proofs already accepted (RFC 9449 §11.1: a proof is used once; §4.3 item
 * 12 of the checklist leaves replay detection to the server), one row per (environment, key
 * thumbprint, jti) until the proof's `iat` has left the accepted window, in the database so every
 * process sees the same set (migration 0014). Per key: a jti is the client's choice, and one
 * client's must not collide with another's. Housekeeping removes expired rows (storage/expired.ts).
 */
export interface DpopProofJtiStore {
  /**
   * Records `jti` of the key `jkt` as used until `expiresAt`: true when this call is the first
   * use, false when it was used before (a replay). One statement: of two concurrent uses on any
   * processes, exactly one gets true (the primary key decides). A row left over from an expired
   * proof that housekeeping has not removed yet does not count as a use.
   */
  use(
    environment: string,
    jkt: string,
    jti: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean>;
}

export function dpopProofJtiStore(db: Kysely<Database>): DpopProofJtiStore {
  return {
    use: (environment, jkt, jti, expiresAt, now) =>
      useOnce(
        db,
        { table: 'dpop_proof_jtis', scopeColumn: 'jkt' },
        environment,
        jkt,
        jti,
        expiresAt,
        now,
      ),
  };
}
