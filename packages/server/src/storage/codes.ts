import {
  CompiledQuery,
  PostgresAdapter,
  sql,
  type Insertable,
  type Kysely,
  type Selectable,
  type UpdateQueryBuilder,
} from 'kysely';
import { appendAudit, type AuditEntry, type AuditRecord } from './audit.js';
import type { AuthorizationCodeTable, Database } from './schema.js';
import { decodeSessionClaims, encodeSessionClaims, type SessionClaims } from './session-claims.js';
import {
  firstRefusal,
  spendConditions,
  type SpendCondition,
  type SpendRule,
} from './spend-rules.js';

export interface AuthorizationCode {
  readonly codeHash: string;
  readonly environment: string;
  readonly clientId: string;
  readonly userId: string;
  readonly redirectUri: string;
  /** Whether the authorization request carried redirect_uri (it may be omitted: OAuth 2.1 §2.3.2). */
  readonly redirectUriSent: boolean;
  /** The S256 code_challenge; NO_CODE_CHALLENGE for a code issued under the legacy exception. */
  readonly codeChallenge: string;
  readonly scope: readonly string[];
  readonly nonce: string | null;
  readonly resource: string | null;
  readonly authTime: number;
  readonly expiresAt: number;
  /** Set when an operator's impersonation produced the code. */
  readonly impersonationId: string | null;
  /** The grant the code was spent on: null until it is spent. */
  readonly grantId: string | null;
  /** What its ID tokens say of the sign-in (sid, amr, acr); absent: nothing. */
  readonly sessionClaims?: SessionClaims;
  /**
   * RFC 9449 §10: the thumbprint of the DPoP key the code is bound to (`dpop_jkt` at /authorize,
   * or the key of the PAR request's proof, §10.1); null or absent: not bound.
   */
  readonly dpopJkt?: string | null;
  readonly createdAt: number;
}

/**
 * The code_challenge of a code issued without PKCE: only a confidential OIDC client with the
 * legacy exception (pkce_exempt_with_nonce, OAuth 2.1 §7.5.1) that sent a nonce gets one
 * (endpoints/authorize/steps/check-pkce.ts). Never the S256 of any verifier (those are 43
 * characters), so the one rule below binds both ways: such a code is redeemed only without a
 * code_verifier, and a code with a challenge only with the matching one.
 */
export const NO_CODE_CHALLENGE = '';

/** A code to store: not yet spent, so on no grant. */
export type NewAuthorizationCode = Omit<AuthorizationCode, 'grantId'>;

export interface ConsumeResult {
  /**
   * `replayed`: the code existed and had been redeemed before (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
   * `unknown`: no such code, or it expired unused. Callers read the code with `find` first.
   */
  readonly status: 'consumed' | 'replayed' | 'unknown';
  /** With `replayed`: the grant the code was spent on (null for a code spent before 0012). */
  readonly grantId?: string | null;
}

export interface CodeStore {
  /**
   * Stores an issued code and the audit entry that records its issue in one transaction
   * (group-committed with other appends): both are committed before this resolves, or neither
   * is written, so no code can be redeemed that the audit log does not show issued. Resolves at
   * the commit, before the disk has it: see RESOLVES_AT_COMMIT for why that is safe.
   */
  issue(code: NewAuthorizationCode, audit: AuditRecord): Promise<AuditEntry>;
  /** Reads a code without using it, so a request can be checked before the code is spent. */
  find(environment: string, codeHash: string): Promise<AuthorizationCode | undefined>;
  /**
   * Marks the code used, atomically: of any number of concurrent calls for one code exactly one
   * gets `consumed`, and the code records `grantId` as the grant it was spent on. Never a read
   * followed by a delete.
   */
  consume(
    environment: string,
    codeHash: string,
    grantId: string,
    now: number,
  ): Promise<ConsumeResult>;
  /**
   * Spends the code in one step, only if it is unspent, unexpired and breaks none of `codeRules`
   * for what the token request presents; undefined otherwise, and nothing is spent (then `find`,
   * `codeRefusal` and `consume` tell why). The common case is one statement instead of a read and
   * a write. The code records `grantId` as the grant it was spent on.
   */
  redeem(
    environment: string,
    codeHash: string,
    presented: CodePresentation,
    grantId: string,
    now: number,
  ): Promise<AuthorizationCode | undefined>;
  /** The client a code was issued to, by the grant it was spent on (while the code is kept). */
  grantClient(environment: string, grantId: string): Promise<string | undefined>;
}

/** What a token request presents to spend a code. */
export interface CodePresentation {
  readonly clientId: string;
  /** S256 of the code_verifier; NO_CODE_CHALLENGE when the request sent none. */
  readonly codeChallenge: string;
  readonly redirectUri?: string;
  readonly resource?: string;
  /** The thumbprint of the key of the request's DPoP proof, when it carried one. */
  readonly dpopJkt?: string;
}

/** Which of `codeRules` a token request breaks. */
export type CodeRefusal =
  'client' | 'redirect_uri' | 'redirect_uri_missing' | 'code_verifier' | 'resource' | 'dpop_jkt';

/**
 * What a token request must match to spend a code, in the order refusals are reported: the only
 * statement of these rules, read by `redeem`'s UPDATE and by `codeRefusal` (spend-rules.ts).
 */
export const codeRules: readonly SpendRule<
  AuthorizationCode,
  CodePresentation,
  CodeRefusal,
  keyof AuthorizationCodeTable
>[] = [
  // RFC 6749 §4.1.3: the client authenticated is the one the code was issued to.
  {
    reason: 'client',
    kind: 'same',
    column: 'client_id',
    stored: (code) => code.clientId,
    presented: (request) => request.clientId,
  },
  // RFC 6749 §4.1.3: when sent, identical to the value in the authorization request.
  {
    reason: 'redirect_uri',
    kind: 'same',
    column: 'redirect_uri',
    stored: (code) => code.redirectUri,
    presented: (request) => request.redirectUri,
  },
  // RFC 6749 §4.1.3: "REQUIRED, if the redirect_uri parameter was included in the authorization
  // request".
  {
    reason: 'redirect_uri_missing',
    kind: 'required',
    column: 'redirect_uri_sent',
    stored: (code) => code.redirectUriSent,
    presented: (request) => request.redirectUri !== undefined,
  },
  // RFC 7636 §4.6, OAuth 2.1 §4.1.3: S256(code_verifier) equals the code_challenge. A request
  // without a code_verifier presents NO_CODE_CHALLENGE, which only a code issued without one
  // holds: a code_verifier sent for such a code (a PKCE downgrade, OAuth 2.1 §7.5.1) or none
  // sent for a code with a challenge is refused alike.
  {
    reason: 'code_verifier',
    kind: 'same',
    column: 'code_challenge',
    stored: (code) => code.codeChallenge,
    presented: (request) => request.codeChallenge,
  },
  // RFC 8707 §2.2: when sent, the resource the code was authorized for.
  {
    reason: 'resource',
    kind: 'same',
    column: 'resource',
    stored: (code) => code.resource,
    presented: (request) => request.resource,
  },
  // RFC 9449 §10: a code bound to a DPoP key is redeemed only with a proof of that key; a code
  // bound to none takes a proof of any key, or none.
  {
    reason: 'dpop_jkt',
    kind: 'bound',
    column: 'dpop_jkt',
    stored: (code) => code.dpopJkt ?? null,
    presented: (request) => request.dpopJkt,
  },
];

/** The first of `codeRules` the request breaks, or undefined: a pure check of a stored code. */
export function codeRefusal(
  code: AuthorizationCode,
  presented: CodePresentation,
): CodeRefusal | undefined {
  return firstRefusal(codeRules, code, presented);
}

function toCode(row: Selectable<AuthorizationCodeTable>): AuthorizationCode {
  return {
    codeHash: row.code_hash,
    environment: row.environment,
    clientId: row.client_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    redirectUriSent: row.redirect_uri_sent === 1,
    codeChallenge: row.code_challenge,
    scope: row.scope.split(' ').filter((s) => s !== ''),
    nonce: row.nonce,
    resource: row.resource,
    authTime: row.auth_time,
    expiresAt: row.expires_at,
    impersonationId: row.impersonation_id,
    grantId: row.grant_id,
    sessionClaims: decodeSessionClaims(row.session_claims),
    dpopJkt: row.dpop_jkt,
    createdAt: row.created_at,
  };
}

function codeRow(code: NewAuthorizationCode): Insertable<AuthorizationCodeTable> {
  return {
    code_hash: code.codeHash,
    environment: code.environment,
    client_id: code.clientId,
    user_id: code.userId,
    redirect_uri: code.redirectUri,
    redirect_uri_sent: code.redirectUriSent ? 1 : 0,
    code_challenge: code.codeChallenge,
    scope: code.scope.join(' '),
    nonce: code.nonce,
    resource: code.resource,
    auth_time: code.authTime,
    expires_at: code.expiresAt,
    consumed_at: null,
    impersonation_id: code.impersonationId,
    grant_id: null,
    session_claims: encodeSessionClaims(code.sessionClaims),
    dpop_jkt: code.dpopJkt ?? null,
    created_at: code.createdAt,
  };
}

/**
 * PostgreSQL: the spending statement commits without waiting for its WAL to reach the disk
 * (`synchronous_commit` off for its own transaction only: `set_config(..., true)` in the statement
 * makes it local to the statement's implicit transaction). One disk flush fewer per token request.
 *
 * Safe because nothing is handed out on the strength of the spend alone: the token request then
 * writes its audit entry (the grant's own write) with a synchronous commit before answering, and
 * PostgreSQL flushes its WAL in order, so that flush makes the earlier spend durable too (and a
 * synchronous standby has it too). A crash between the two can lose the spend, but then no token
 * from the code left the server: the code is as if never presented, still bound to its client,
 * PKCE verifier and one-minute lifetime.
 */
const WITHOUT_WAITING_FOR_FLUSH = sql<boolean>`set_config('synchronous_commit', 'off', true) is not null`;

/**
 * The issue of a code (its row and its `code.issued` entry) resolves at its commit, without
 * waiting for the disk (AppendOptions in storage/audit/group-commit.ts): one disk flush fewer per
 * authorization response.
 *
 * Safe because a code accounts for no token yet. A crash that takes the write back before it is
 * on disk leaves a code that cannot be redeemed (the token request gets invalid_grant, RFC 6749
 * §5.2) from which nothing was issued, and the audit chain loses only a suffix. A token is issued
 * from the code only after the token request's own entry (`code.redeemed`) was appended durably,
 * later, on any process and connection: the database writes its log in order, so that entry's
 * flush (PostgreSQL's WAL flush, SQLite's fdatasync of the WAL) makes the code's issue durable
 * too. Readers that carry entries out of the database wait for them to be on disk (`after` in
 * storage/audit.ts).
 *
 * Not for the code's spend nor for anything that precedes handing out a token or a secret.
 */
const RESOLVES_AT_COMMIT = { durable: false } as const;

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** One rule's condition added to a spending UPDATE's WHERE (spend-rules.ts). */
function withCondition<
  U extends UpdateQueryBuilder<Database, 'authorization_codes', 'authorization_codes', object>,
>(update: U, condition: SpendCondition<keyof AuthorizationCodeTable>): U {
  const { column } = condition;
  if (condition.is === 'equal') return update.where(column, '=', condition.value) as U;
  if (condition.is === 'unbound') return update.where(column, 'is', null) as U;
  const { value } = condition;
  return update.where((eb) => eb.or([eb(column, 'is', null), eb(column, '=', value)])) as U;
}

export function codeStore(db: Kysely<Database>): CodeStore {
  /**
   * Marks an unspent, unexpired code spent: the atomic guard, the same for both ways of spending
   * (of concurrent spends, the database lets one flip consumed_at). The caller adds the rules.
   */
  const spend = (environment: string, codeHash: string, grantId: string, now: number) =>
    db
      .updateTable('authorization_codes')
      .set({ consumed_at: now, grant_id: grantId })
      .where('environment', '=', environment)
      .where('code_hash', '=', codeHash)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now);
  /**
   * The spending statement's SQL by the rules that apply (with or without redirect_uri, resource):
   * a handful of shapes, each built and compiled by Kysely once rather than on every token request.
   */
  const spendTexts = new Map<string, string>();
  // Outside a transaction only: inside one, the setting would reach the caller's other writes.
  const commitsWithoutWaiting =
    !db.isTransaction && db.getExecutor().adapter instanceof PostgresAdapter;
  return {
    issue(code, audit) {
      return appendAudit(
        db,
        audit.event,
        audit.at,
        [{ table: 'authorization_codes', row: codeRow(code) }],
        RESOLVES_AT_COMMIT,
      );
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
    async redeem(environment, codeHash, presented, grantId, now) {
      const conditions = spendConditions(codeRules, presented);
      // A rule that applies but is not written in SQL: spend after reading instead.
      if (conditions === undefined) return undefined;
      // In the order the statement below takes them: SET, the guard, then the rules.
      const parameters = [
        now,
        grantId,
        environment,
        codeHash,
        now,
        ...conditions.flatMap((c) => (c.is === 'unbound' ? [] : [c.value])),
      ];
      const shape = conditions.map((c) => `${c.column}:${c.is}`).join(' ');
      let text = spendTexts.get(shape);
      if (text === undefined) {
        let update = spend(environment, codeHash, grantId, now);
        for (const condition of conditions) update = withCondition(update, condition);
        if (commitsWithoutWaiting) update = update.where(WITHOUT_WAITING_FOR_FLUSH);
        const compiled = update.returningAll().compile();
        // Kept only if the statement takes exactly these parameters in this order; otherwise
        // the statement just built is run as it is (correct, only not reused).
        if (!sameList(compiled.parameters, parameters)) {
          const row = (await db.executeQuery(compiled)).rows[0];
          return row === undefined ? undefined : toCode(row);
        }
        text = compiled.sql;
        spendTexts.set(shape, text);
      }
      const { rows } = await db.executeQuery<Selectable<AuthorizationCodeTable>>(
        CompiledQuery.raw(text, parameters),
      );
      const row = rows[0];
      return row === undefined ? undefined : toCode(row);
    },
    async consume(environment, codeHash, grantId, now) {
      // The conditional UPDATE is the atomic step: the database lets one writer flip consumed_at.
      const updated = await spend(environment, codeHash, grantId, now).executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 1) return { status: 'consumed' };
      // Not updated: used before (a replay), or expired unused, or unknown.
      const row = await db
        .selectFrom('authorization_codes')
        .select(['consumed_at', 'grant_id'])
        .where('environment', '=', environment)
        .where('code_hash', '=', codeHash)
        .executeTakeFirst();
      // The winner set grant_id with consumed_at, in the same statement.
      return row?.consumed_at == null
        ? { status: 'unknown' }
        : { status: 'replayed', grantId: row.grant_id };
    },
    async grantClient(environment, grantId) {
      const row = await db
        .selectFrom('authorization_codes')
        .select('client_id')
        .where('grant_id', '=', grantId)
        .where('environment', '=', environment)
        .executeTakeFirst();
      return row?.client_id;
    },
  };
}
