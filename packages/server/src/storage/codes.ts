import type { Kysely, Selectable } from 'kysely';
import type { AuthorizationCodeTable, Database } from './schema.js';

export interface AuthorizationCode {
  readonly codeHash: string;
  readonly environment: string;
  readonly clientId: string;
  readonly userId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly scope: readonly string[];
  readonly nonce: string | null;
  readonly resource: string | null;
  readonly authTime: number;
  readonly expiresAt: number;
  /** Set when an operator's impersonation produced the code. */
  readonly impersonationId: string | null;
  readonly createdAt: number;
}

export interface ConsumeResult {
  /**
   * `replayed`: the code existed and had been redeemed before (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
   * `unknown`: no such code, or it expired unused. Callers read the code with `find` first.
   */
  readonly status: 'consumed' | 'replayed' | 'unknown';
}

export interface CodeStore {
  save(code: AuthorizationCode): Promise<void>;
  /** Reads a code without using it, so a request can be checked before the code is spent. */
  find(environment: string, codeHash: string): Promise<AuthorizationCode | undefined>;
  /**
   * Marks the code used, atomically: of any number of concurrent calls for one code exactly one
   * gets `consumed`. Never a read followed by a delete.
   */
  consume(environment: string, codeHash: string, now: number): Promise<ConsumeResult>;
  /**
   * Spends the code in one step, only if it is unspent, unexpired and matches everything the
   * token request presents; undefined otherwise (then `find` and `consume` tell why). The common
   * case is one statement instead of a read and a write.
   */
  redeem(
    environment: string,
    codeHash: string,
    presented: CodePresentation,
    now: number,
  ): Promise<AuthorizationCode | undefined>;
}

/** What a token request must match to spend a code. */
export interface CodePresentation {
  readonly clientId: string;
  /** S256 of the code_verifier. */
  readonly codeChallenge: string;
  /** When the request sends one, it must be identical (RFC 6749 §4.1.3). */
  readonly redirectUri?: string;
  /** When the request sends one, it must be the one authorized. */
  readonly resource?: string;
}

function toCode(row: Selectable<AuthorizationCodeTable>): AuthorizationCode {
  return {
    codeHash: row.code_hash,
    environment: row.environment,
    clientId: row.client_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    codeChallenge: row.code_challenge,
    scope: row.scope.split(' ').filter((s) => s !== ''),
    nonce: row.nonce,
    resource: row.resource,
    authTime: row.auth_time,
    expiresAt: row.expires_at,
    impersonationId: row.impersonation_id,
    createdAt: row.created_at,
  };
}

export function codeStore(db: Kysely<Database>): CodeStore {
  /** Marks an unspent, unexpired code spent; the caller adds its own conditions. */
  const spend = (environment: string, codeHash: string, now: number) =>
    db
      .updateTable('authorization_codes')
      .set({ consumed_at: now })
      .where('environment', '=', environment)
      .where('code_hash', '=', codeHash)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now);
  return {
    async save(code) {
      await db
        .insertInto('authorization_codes')
        .values({
          code_hash: code.codeHash,
          environment: code.environment,
          client_id: code.clientId,
          user_id: code.userId,
          redirect_uri: code.redirectUri,
          code_challenge: code.codeChallenge,
          scope: code.scope.join(' '),
          nonce: code.nonce,
          resource: code.resource,
          auth_time: code.authTime,
          expires_at: code.expiresAt,
          consumed_at: null,
          impersonation_id: code.impersonationId,
          created_at: code.createdAt,
        })
        .execute();
    },
    async find(environment, codeHash) {
      const row = await db
        .selectFrom('authorization_codes')
        .selectAll()
        .where('environment', '=', environment)
        .where('code_hash', '=', codeHash)
        .executeTakeFirst();
      return row === undefined ? undefined : toCode(row);
    },
    async redeem(environment, codeHash, presented, now) {
      let update = spend(environment, codeHash, now)
        .where('client_id', '=', presented.clientId)
        .where('code_challenge', '=', presented.codeChallenge);
      if (presented.redirectUri !== undefined)
        update = update.where('redirect_uri', '=', presented.redirectUri);
      if (presented.resource !== undefined)
        update = update.where('resource', '=', presented.resource);
      const row = await update.returningAll().executeTakeFirst();
      return row === undefined ? undefined : toCode(row);
    },
    async consume(environment, codeHash, now) {
      // The conditional UPDATE is the atomic step: the database lets one writer flip consumed_at.
      const updated = await spend(environment, codeHash, now).executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 1) return { status: 'consumed' };
      // Not updated: used before (a replay), or expired unused, or unknown.
      const row = await db
        .selectFrom('authorization_codes')
        .select('consumed_at')
        .where('environment', '=', environment)
        .where('code_hash', '=', codeHash)
        .executeTakeFirst();
      return { status: row?.consumed_at == null ? 'unknown' : 'replayed' };
    },
  };
}
