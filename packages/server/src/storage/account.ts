/**
 * What one user's account page reads and ends of their own: their live sessions, the grants
 * (refresh-token families, spent codes) clients hold for them, and the codes not yet spent. Every
 * query names the user: nothing here reaches another user's rows.
 */
import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Database } from './schema.js';
import { liveSessions, toSession, type Session } from './sessions.js';

/** A grant a client holds for the user: a refresh-token family, or a code spent on tokens. */
export interface HeldGrant {
  readonly clientId: string;
  /** The `grant_id` its access tokens carry: the family id, or the code's grant. */
  readonly grantId: string;
  /** The newest token's (or the code's) scope. */
  readonly scope: readonly string[];
  readonly resource: string | null;
  /** When it last issued tokens (ms): the newest refresh token, or the code spent. */
  readonly lastUsedAt: number;
  /** RFC 9449: its refresh token is bound to a device key (refresh_tokens.dpop_jkt). */
  readonly deviceBound: boolean;
}

export interface AccountStore {
  /** The user's sessions that have not expired, newest first. */
  sessions(environment: string, userId: string, now: number): Promise<Session[]>;
  /**
   * The refresh-token families of the user that can still be used (the newest token of each is
   * neither rotated, revoked nor expired, and no family, code or impersonation revocation covers
   * it), one entry per family.
   */
  refreshGrants(environment: string, userId: string, now: number): Promise<HeldGrant[]>;
  /**
   * Codes of the user spent at or after `since` (ms) and not revoked since: the access tokens
   * they gave may still be valid even without a refresh token. One entry per code.
   */
  spentCodeGrants(environment: string, userId: string, since: number): Promise<HeldGrant[]>;
  /**
   * Every refresh-token family of the user at one client that is not revoked and has a token not
   * yet expired, rotated tokens included: a family in the middle of a rotation (its token just
   * rotated, the successor not stored yet) has no usable token to list, yet its successor is
   * about to be. What a revocation must end, where `refreshGrants` is what the page shows.
   */
  clientFamilies(
    environment: string,
    userId: string,
    clientId: string,
    now: number,
  ): Promise<string[]>;
  /**
   * The grants of the user's device codes for a client that were spent (and are still kept) and
   * not revoked since: a poll's tokens may be stored a moment after it was spent.
   */
  spentDeviceGrants(environment: string, userId: string, clientId: string): Promise<string[]>;
  /**
   * Deletes the user's codes for a client that were issued and not yet spent: the client cannot
   * redeem them any more. Returns how many.
   */
  deleteUnspentCodes(environment: string, userId: string, clientId: string): Promise<number>;
  /**
   * Turns the user's device codes for a client that were approved and not yet picked up into
   * denied ones (RFC 8628 §3.5: the device's next poll gets `access_denied`). Returns how many.
   */
  denyApprovedDeviceCodes(environment: string, userId: string, clientId: string): Promise<number>;
}

const scopeOf = (scope: string) => scope.split(' ').filter((s) => s !== '');

export function accountStore(db: Kysely<Database>): AccountStore {
  return {
    async sessions(environment, userId, now) {
      const rows = await liveSessions(db, environment, now)
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id_hash')
        .execute();
      return rows.map(toSession);
    },
    async refreshGrants(environment, userId, now) {
      const rows = await db
        .selectFrom('refresh_tokens as t')
        .select([
          't.client_id',
          't.family_id',
          't.scope',
          't.resource',
          't.created_at',
          't.dpop_jkt',
        ])
        .where('t.environment', '=', environment)
        .where('t.user_id', '=', userId)
        .where('t.rotated_at', 'is', null)
        .where('t.revoked_at', 'is', null)
        .where('t.expires_at', '>', now)
        .where(
          sql<SqlBool>`not exists (select 1 from revocations r where (r.kind = 'family' and r.key = t.family_id) or (r.kind = 'code' and r.key = t.code_hash) or (r.kind = 'impersonation' and r.key = t.impersonation_id))`,
        )
        .orderBy('t.created_at', 'desc')
        .orderBy('t.token_hash')
        .execute();
      // A family has one usable token at a time; inside a refresh grace window it may briefly
      // have two: the newest speaks for it.
      const families = new Map<string, HeldGrant>();
      for (const row of rows) {
        if (families.has(row.family_id)) continue;
        families.set(row.family_id, {
          clientId: row.client_id,
          grantId: row.family_id,
          scope: scopeOf(row.scope),
          resource: row.resource,
          lastUsedAt: row.created_at,
          deviceBound: row.dpop_jkt !== null,
        });
      }
      return [...families.values()];
    },
    async spentCodeGrants(environment, userId, since) {
      const rows = await db
        .selectFrom('authorization_codes')
        .select(['client_id', 'grant_id', 'scope', 'resource', 'consumed_at', 'dpop_jkt'])
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .where('consumed_at', '>=', since)
        .where('grant_id', 'is not', null)
        // Revoked since (a replay, or the account page: services/account.ts records a family
        // revocation under every grant id it ends): its tokens are dead, it holds nothing.
        .where(
          sql<SqlBool>`not exists (select 1 from revocations r where (r.kind = 'family' and r.key = authorization_codes.grant_id) or (r.kind = 'code' and r.key = authorization_codes.code_hash))`,
        )
        .orderBy('consumed_at', 'desc')
        .execute();
      return rows.map((row) => ({
        clientId: row.client_id,
        grantId: row.grant_id ?? '',
        scope: scopeOf(row.scope),
        resource: row.resource,
        lastUsedAt: row.consumed_at ?? 0,
        deviceBound: row.dpop_jkt !== null,
      }));
    },
    async clientFamilies(environment, userId, clientId, now) {
      const rows = await db
        .selectFrom('refresh_tokens')
        .select('family_id')
        .distinct()
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        // A token stored after its family was revoked (a rotation that lost the race) is dead
        // already: its family is not the user's any more.
        .where(
          sql<SqlBool>`not exists (select 1 from revocations r where (r.kind = 'family' and r.key = refresh_tokens.family_id) or (r.kind = 'code' and r.key = refresh_tokens.code_hash) or (r.kind = 'impersonation' and r.key = refresh_tokens.impersonation_id))`,
        )
        .orderBy('family_id')
        .execute();
      return rows.map((row) => row.family_id);
    },
    async spentDeviceGrants(environment, userId, clientId) {
      const rows = await db
        .selectFrom('device_codes')
        .select('grant_id')
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .where('status', '=', 'consumed')
        .where('grant_id', 'is not', null)
        .where(
          sql<SqlBool>`not exists (select 1 from revocations r where r.kind = 'family' and r.key = device_codes.grant_id)`,
        )
        .execute();
      return rows.flatMap((row) => (row.grant_id === null ? [] : [row.grant_id]));
    },
    async deleteUnspentCodes(environment, userId, clientId) {
      const result = await db
        .deleteFrom('authorization_codes')
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .where('consumed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async denyApprovedDeviceCodes(environment, userId, clientId) {
      const result = await db
        .updateTable('device_codes')
        .set({ status: 'denied' })
        .where('environment', '=', environment)
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .where('status', '=', 'approved')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
