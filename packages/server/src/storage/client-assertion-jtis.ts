import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { useOnce } from './used-once.js';

/**
 * The `jti`s of client assertions already accepted (RFC 7523 §3 item 7: the server may ensure a
 * JWT is used once; OIDC Core §9 asks it of `private_key_jwt`), one row per (environment,
 * client, jti) until the assertion's own expiry, in the database so every process sees the same
 * set (migration 0013). Housekeeping removes expired rows (storage/expired.ts).
 */
export interface ClientAssertionJtiStore {
  /**
   * Records `jti` as used until `expiresAt`: true when this call is the first use, false when it
   * was used before (a replay). One statement: of two concurrent uses on any processes, exactly
   * one gets true (the primary key decides). A row left over from an expired assertion that
   * housekeeping has not removed yet does not count as a use.
   */
  use(
    environment: string,
    clientId: string,
    jti: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean>;
}

export function clientAssertionJtiStore(db: Kysely<Database>): ClientAssertionJtiStore {
  return {
    use: (environment, clientId, jti, expiresAt, now) =>
      useOnce(
        db,
        { table: 'client_assertion_jtis', scopeColumn: 'client_id' },
        environment,
        clientId,
        jti,
        expiresAt,
        now,
      ),
  };
}
