import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

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
    async use(environment, clientId, jti, expiresAt, now) {
      // Inserted, or an expired row taken over; a live row leaves the statement without a row.
      const { rows } = await sql<{ jti: string }>`
        insert into client_assertion_jtis (environment, client_id, jti, expires_at)
        values (${environment}, ${clientId}, ${jti}, ${expiresAt})
        on conflict (environment, client_id, jti) do update set expires_at = excluded.expires_at
          where client_assertion_jtis.expires_at <= ${now}
        returning jti`.execute(db);
      return rows.length === 1;
    },
  };
}
