import {
  sql,
  type ExpressionBuilder,
  type Insertable,
  type Kysely,
  type RawBuilder,
  type Selectable,
  type SqlBool,
} from 'kysely';
import { appendAudit, type AuditedInsert, type AuditEntry, type AuditRecord } from './audit.js';
import type { Database, RefreshTokenTable } from './schema.js';
import { decodeSessionClaims, encodeSessionClaims, type SessionClaims } from './session-claims.js';
import {
  firstRefusal,
  spendConditions,
  type SpendCondition,
  type SpendRule,
} from './spend-rules.js';

export interface RefreshToken {
  readonly tokenHash: string;
  readonly familyId: string;
  readonly environment: string;
  readonly clientId: string;
  readonly userId: string;
  readonly scope: readonly string[];
  readonly resource: string | null;
  readonly authTime: number;
  readonly codeHash: string | null;
  readonly expiresAt: number;
  /** Set when the grant came from an operator's impersonation; ending it revokes the token. */
  readonly impersonationId: string | null;
  /** What the grant's ID tokens say of the sign-in (sid, amr, acr), carried on each rotation. */
  readonly sessionClaims?: SessionClaims;
  /** RFC 9449 §5: the thumbprint of the DPoP key a rotation must prove; null when not bound. */
  readonly dpopJkt?: string | null;
  readonly createdAt: number;
}

export type RotateResult =
  | { readonly status: 'rotated'; readonly token: RefreshToken }
  /** Presented again after it was rotated: RFC 9700 §4.14.2 says revoke the whole family. */
  | { readonly status: 'reused'; readonly token: RefreshToken }
  | { readonly status: 'unknown' };

/**
 * Tokens issued by one grant that have rows: stored together with the audit entry that records
 * the grant. An access token has no row (issue #15): the entry names its `jti`, and revocation
 * events (revocation-events.ts) revoke it.
 */
export interface IssuedTokens {
  readonly refresh?: RefreshToken;
}

export interface TokenStore {
  /**
   * Stores issued tokens and the audit entry that records their issue in one transaction: both
   * are durable before this resolves, or neither is written. Group-committed with other appends.
   */
  saveIssued(tokens: IssuedTokens, audit: AuditRecord): Promise<AuditEntry>;
  saveRefresh(token: RefreshToken): Promise<void>;
  /** Marks a refresh token used, atomically: of concurrent calls exactly one gets `rotated`. */
  rotateRefresh(environment: string, tokenHash: string, now: number): Promise<RotateResult>;
  /**
   * Rotates in one step, only a usable token that breaks none of `refreshRules` for what the
   * request presents; undefined otherwise, and nothing is spent (then `findActiveRefresh`,
   * `refreshRefusal` and `rotateRefresh` tell why). A request with a rule the statement cannot
   * check (a scope) gets undefined without a statement.
   */
  rotateRefreshOf(
    environment: string,
    tokenHash: string,
    presented: RefreshPresentation,
    now: number,
  ): Promise<RefreshToken | undefined>;
  /**
   * The grace window (grants/refresh-grace.ts): counts one more successor for a token rotated at
   * or after `window.rotatedSince`, in one conditional UPDATE, while it has had fewer than
   * `window.cap` and is neither revoked (by row, family, code or impersonation) nor expired, and
   * only for a request that breaks none of `refreshRules` written in SQL (its client, its DPoP
   * key; a scope is the caller's check). Returns the token as stored, or undefined and nothing
   * counted. Of concurrent calls at most `cap` in all ever get a token.
   */
  countGraceSuccessor(
    environment: string,
    tokenHash: string,
    presented: RefreshPresentation,
    window: { readonly rotatedSince: number; readonly cap: number },
    now: number,
  ): Promise<RefreshToken | undefined>;
  /** A refresh token that is neither rotated, revoked nor expired. */
  findActiveRefresh(
    environment: string,
    tokenHash: string,
    now: number,
  ): Promise<RefreshToken | undefined>;
  /** Revokes every refresh token of a family, including ones stored after this call. */
  revokeFamily(environment: string, familyId: string, now: number): Promise<void>;
  /** The client a refresh-token family was issued to. */
  familyClient(environment: string, familyId: string): Promise<string | undefined>;
  /**
   * Revokes every refresh token issued from one authorization code, including ones stored after
   * this call.
   */
  revokeIssuedFromCode(environment: string, codeHash: string, now: number): Promise<void>;
  /** Revokes every refresh token a client holds (the client is being deleted). */
  revokeForClient(environment: string, clientId: string, now: number): Promise<void>;
  /**
   * Revokes every refresh token issued during an impersonation, including ones stored after this
   * call.
   */
  revokeImpersonation(environment: string, impersonationId: string, now: number): Promise<void>;
  /**
   * Whether an access token issued before migration 0012 (it has a row, and no `grant_id` claim)
   * is revoked by its row or by its family, code or impersonation revoked since: grant and
   * impersonation events match `grant_id` and `impersonation_id`, which such a token lacks.
   */
  legacyAccessRevoked(environment: string, jti: string): Promise<boolean>;
}

/** What a refresh request presents to rotate a token. */
export interface RefreshPresentation {
  readonly clientId: string;
  /** RFC 7638 thumbprint of the key of the request's DPoP proof, when it carries one. */
  readonly dpopJkt?: string;
  /** The scope asked for this access token, when the request names one. */
  readonly scope?: readonly string[];
  readonly resource?: string;
}

/** Which of `refreshRules` a refresh request breaks. */
export type RefreshRefusal = 'client' | 'dpop' | 'scope' | 'resource';

/**
 * What a refresh request must match to rotate a token, in the order refusals are reported: the
 * only statement of these rules, read by `rotateRefreshOf`'s UPDATE and by `refreshRefusal`
 * (spend-rules.ts). Whether the token is still usable is `usableRefresh`, the rotation's guard.
 */
export const refreshRules: readonly SpendRule<
  RefreshToken,
  RefreshPresentation,
  RefreshRefusal,
  keyof RefreshTokenTable
>[] = [
  // RFC 6749 §6, OAuth 2.1 §4.3.1: the token is bound to the client it was issued to.
  {
    reason: 'client',
    kind: 'same',
    column: 'client_id',
    stored: (token) => token.clientId,
    presented: (request) => request.clientId,
  },
  // RFC 9449 §5: a refresh token bound to a DPoP key (a public client's, issued to a request
  // with a proof) rotates only with a proof of that key; an unbound one with or without a proof.
  {
    reason: 'dpop',
    kind: 'bound',
    column: 'dpop_jkt',
    stored: (token) => token.dpopJkt ?? null,
    presented: (request) => request.dpopJkt,
  },
  // RFC 6749 §6: no scope not originally granted.
  {
    reason: 'scope',
    kind: 'within',
    stored: (token) => token.scope,
    presented: (request) => request.scope,
  },
  // RFC 8707 §2.2: when sent, the resource the grant was authorized for.
  {
    reason: 'resource',
    kind: 'same',
    column: 'resource',
    stored: (token) => token.resource,
    presented: (request) => request.resource,
  },
];

/** The first of `refreshRules` the request breaks, or undefined: a pure check of a stored token. */
export function refreshRefusal(
  token: RefreshToken,
  presented: RefreshPresentation,
): RefreshRefusal | undefined {
  return firstRefusal(refreshRules, token, presented);
}

function toRefresh(row: Selectable<RefreshTokenTable>): RefreshToken {
  return {
    tokenHash: row.token_hash,
    familyId: row.family_id,
    environment: row.environment,
    clientId: row.client_id,
    userId: row.user_id,
    scope: row.scope.split(' ').filter((s) => s !== ''),
    resource: row.resource,
    authTime: row.auth_time,
    codeHash: row.code_hash,
    expiresAt: row.expires_at,
    impersonationId: row.impersonation_id,
    sessionClaims: decodeSessionClaims(row.session_claims),
    dpopJkt: row.dpop_jkt,
    createdAt: row.created_at,
  };
}

function refreshRow(token: RefreshToken): Insertable<RefreshTokenTable> {
  return {
    token_hash: token.tokenHash,
    family_id: token.familyId,
    environment: token.environment,
    client_id: token.clientId,
    user_id: token.userId,
    scope: token.scope.join(' '),
    resource: token.resource,
    auth_time: token.authTime,
    code_hash: token.codeHash,
    expires_at: token.expiresAt,
    rotated_at: null,
    revoked_at: null,
    impersonation_id: token.impersonationId,
    session_claims: encodeSessionClaims(token.sessionClaims),
    dpop_jkt: token.dpopJkt ?? null,
    created_at: token.createdAt,
  };
}

/**
 * No revocation recorded for the row's family, its code or the impersonation it came from: a
 * refresh token stored after its grant was revoked (a concurrent rotation or redemption) is dead.
 */
function notRevoked(
  table: 'refresh_tokens' | 'access_tokens' = 'refresh_tokens',
): RawBuilder<SqlBool> {
  return sql<SqlBool>`not exists (select 1 from revocations r where (r.kind = 'family' and r.key = ${sql.ref(`${table}.family_id`)}) or (r.kind = 'code' and r.key = ${sql.ref(`${table}.code_hash`)}) or (r.kind = 'impersonation' and r.key = ${sql.ref(`${table}.impersonation_id`)}))`;
}

/** A spending statement's WHERE for one of `refreshRules` (spend-rules.ts). */
function meets(condition: SpendCondition<keyof RefreshTokenTable>) {
  return (eb: ExpressionBuilder<Database, 'refresh_tokens'>) => {
    const { column } = condition;
    if (condition.is === 'equal') return eb(column, '=', condition.value);
    if (condition.is === 'unbound') return eb(column, 'is', null);
    return eb.or([eb(column, 'is', null), eb(column, '=', condition.value)]);
  };
}

export function tokenStore(db: Kysely<Database>): TokenStore {
  const remember = async (
    kind: 'family' | 'code' | 'impersonation',
    key: string,
    environment: string,
    now: number,
  ): Promise<void> => {
    await db
      .insertInto('revocations')
      .values({ kind, key, environment, revoked_at: now })
      .onConflict((c) => c.columns(['kind', 'key']).doNothing())
      .execute();
  };
  /** Marks every refresh token matching a column as revoked. */
  const markRevoked = async (
    environment: string,
    column: 'family_id' | 'code_hash' | 'client_id' | 'impersonation_id',
    value: string,
    now: number,
  ): Promise<void> => {
    await db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('environment', '=', environment)
      .where(column, '=', value)
      .where('revoked_at', 'is', null)
      .execute();
  };
  const revokeFamily = async (
    environment: string,
    familyId: string,
    now: number,
  ): Promise<void> => {
    await remember('family', familyId, environment, now);
    await markRevoked(environment, 'family_id', familyId, now);
  };
  /**
   * Neither rotated nor revoked (by row, family or code) nor expired: the guard of every way of
   * rotating (of concurrent rotations, the database lets one set rotated_at) and of reading an
   * active token.
   */
  const usableRefresh = (now: number) => (eb: ExpressionBuilder<Database, 'refresh_tokens'>) =>
    eb.and([
      eb('rotated_at', 'is', null),
      eb('revoked_at', 'is', null),
      eb('expires_at', '>', now),
      notRevoked(),
    ]);
  /** Rotates a usable token: the guard of both ways of rotating. The caller adds the rules. */
  const rotate = (environment: string, tokenHash: string, now: number) =>
    db
      .updateTable('refresh_tokens')
      .set({ rotated_at: now })
      .where('environment', '=', environment)
      .where('token_hash', '=', tokenHash)
      .where(usableRefresh(now));
  return {
    async saveIssued(tokens, audit) {
      const rows: AuditedInsert[] = [];
      if (tokens.refresh !== undefined)
        rows.push({ table: 'refresh_tokens', row: refreshRow(tokens.refresh) });
      return appendAudit(db, audit.event, audit.at, rows);
    },
    async saveRefresh(token) {
      await db.insertInto('refresh_tokens').values(refreshRow(token)).execute();
    },
    async rotateRefresh(environment, tokenHash, now) {
      // The row as rotated comes back with the update itself; only a refusal needs a second look.
      const rotated = await rotate(environment, tokenHash, now).returningAll().executeTakeFirst();
      if (rotated !== undefined) return { status: 'rotated', token: toRefresh(rotated) };
      const row = await db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('environment', '=', environment)
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (row === undefined) return { status: 'unknown' };
      return row.rotated_at !== null
        ? { status: 'reused', token: toRefresh(row) }
        : { status: 'unknown' };
    },
    async rotateRefreshOf(environment, tokenHash, presented, now) {
      const conditions = spendConditions(refreshRules, presented);
      // A rule that applies is not written in SQL (a scope): rotate after reading instead.
      if (conditions === undefined) return undefined;
      let update = rotate(environment, tokenHash, now);
      for (const condition of conditions) update = update.where(meets(condition));
      const rotated = await update.returningAll().executeTakeFirst();
      return rotated === undefined ? undefined : toRefresh(rotated);
    },
    async countGraceSuccessor(environment, tokenHash, presented, window, now) {
      // The scope is compared by the caller on the stored token; the rest is written here.
      const { clientId, dpopJkt, resource } = presented;
      const conditions = spendConditions(refreshRules, {
        clientId,
        ...(dpopJkt === undefined ? {} : { dpopJkt }),
        ...(resource === undefined ? {} : { resource }),
      });
      if (conditions === undefined) return undefined;
      let update = db
        .updateTable('refresh_tokens')
        .set((eb) => ({ grace_successors: eb('grace_successors', '+', 1) }))
        .where('environment', '=', environment)
        .where('token_hash', '=', tokenHash)
        .where('rotated_at', '>=', window.rotatedSince)
        .where('grace_successors', '<', window.cap)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where(notRevoked());
      for (const condition of conditions) update = update.where(meets(condition));
      const counted = await update.returningAll().executeTakeFirst();
      return counted === undefined ? undefined : toRefresh(counted);
    },
    async findActiveRefresh(environment, tokenHash, now) {
      const row = await db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('environment', '=', environment)
        .where('token_hash', '=', tokenHash)
        .where(usableRefresh(now))
        .executeTakeFirst();
      return row === undefined ? undefined : toRefresh(row);
    },
    revokeFamily,
    async familyClient(environment, familyId) {
      const row = await db
        .selectFrom('refresh_tokens')
        .select('client_id')
        .where('environment', '=', environment)
        .where('family_id', '=', familyId)
        .limit(1)
        .executeTakeFirst();
      return row?.client_id;
    },
    async revokeIssuedFromCode(environment, codeHash, now) {
      // Every token of the grant carries the code it came from, rotated ones included.
      await remember('code', codeHash, environment, now);
      await markRevoked(environment, 'code_hash', codeHash, now);
    },
    async legacyAccessRevoked(environment, jti) {
      const row = await db
        .selectFrom('access_tokens')
        .select('jti')
        .where('environment', '=', environment)
        .where('jti', '=', jti)
        .where((eb) =>
          eb.or([eb('revoked_at', 'is not', null), eb.not(notRevoked('access_tokens'))]),
        )
        .executeTakeFirst();
      return row !== undefined;
    },
    async revokeForClient(environment, clientId, now) {
      await markRevoked(environment, 'client_id', clientId, now);
    },
    async revokeImpersonation(environment, impersonationId, now) {
      await remember('impersonation', impersonationId, environment, now);
      await markRevoked(environment, 'impersonation_id', impersonationId, now);
    },
  };
}
