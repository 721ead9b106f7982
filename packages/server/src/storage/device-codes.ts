import type { Kysely, Selectable } from 'kysely';
import type { Database, DeviceCodeTable } from './schema.js';
import { decodeSessionClaims, encodeSessionClaims, type SessionClaims } from './session-claims.js';

export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'consumed';

export interface DeviceCode {
  readonly deviceCodeHash: string;
  readonly userCode: string;
  readonly environment: string;
  readonly clientId: string;
  readonly scope: readonly string[];
  readonly resource: string | null;
  readonly status: DeviceCodeStatus;
  readonly userId: string | null;
  readonly authTime: number | null;
  readonly intervalS: number;
  readonly lastPolledAt: number | null;
  readonly expiresAt: number;
  /** What the ID token says of the sign-in that approved it (sid, amr); set with the decision. */
  readonly sessionClaims?: SessionClaims;
  readonly createdAt: number;
}

export interface DeviceCodeStore {
  /** Returns false when the user code is taken (a collision): the caller draws another. */
  create(code: DeviceCode): Promise<boolean>;
  findByDeviceCode(environment: string, deviceCodeHash: string): Promise<DeviceCode | undefined>;
  /** A pending, unexpired code by the code the user typed. */
  findPendingByUserCode(
    environment: string,
    userCode: string,
    now: number,
  ): Promise<DeviceCode | undefined>;
  /** Records the user's decision on a pending code; false if it was no longer pending. */
  decide(
    environment: string,
    deviceCodeHash: string,
    decision: {
      approved: boolean;
      userId: string;
      authTime: number;
      sessionClaims?: SessionClaims;
    },
  ): Promise<boolean>;
  /** Notes a poll; returns the poll before it, for slow_down (RFC 8628 §3.5). */
  poll(environment: string, deviceCodeHash: string, now: number, slowDown: boolean): Promise<void>;
  /**
   * Approved → consumed, atomically: exactly one poll gets the tokens. Records `grantId`, the
   * grant the tokens carry, with the spend (what revoking the user's grants at the client reads).
   */
  consume(
    environment: string,
    deviceCodeHash: string,
    now: number,
    grantId: string,
  ): Promise<boolean>;
}

function toDeviceCode(row: Selectable<DeviceCodeTable>): DeviceCode {
  return {
    deviceCodeHash: row.device_code_hash,
    userCode: row.user_code,
    environment: row.environment,
    clientId: row.client_id,
    scope: row.scope.split(' ').filter((s) => s !== ''),
    resource: row.resource,
    status: row.status as DeviceCodeStatus,
    userId: row.user_id,
    authTime: row.auth_time,
    intervalS: row.interval_s,
    lastPolledAt: row.last_polled_at,
    expiresAt: row.expires_at,
    sessionClaims: decodeSessionClaims(row.session_claims),
    createdAt: row.created_at,
  };
}

export function deviceCodeStore(db: Kysely<Database>): DeviceCodeStore {
  return {
    async create(code) {
      // Expired codes free their user code for reuse.
      await db
        .deleteFrom('device_codes')
        .where('environment', '=', code.environment)
        .where('user_code', '=', code.userCode)
        .where('expires_at', '<=', code.createdAt)
        .execute();
      const result = await db
        .insertInto('device_codes')
        .values({
          device_code_hash: code.deviceCodeHash,
          user_code: code.userCode,
          environment: code.environment,
          client_id: code.clientId,
          scope: code.scope.join(' '),
          resource: code.resource,
          status: code.status,
          user_id: code.userId,
          auth_time: code.authTime,
          interval_s: code.intervalS,
          last_polled_at: code.lastPolledAt,
          expires_at: code.expiresAt,
          created_at: code.createdAt,
        })
        .onConflict((c) => c.columns(['environment', 'user_code']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async findByDeviceCode(environment, deviceCodeHash) {
      const row = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('environment', '=', environment)
        .where('device_code_hash', '=', deviceCodeHash)
        .executeTakeFirst();
      return row === undefined ? undefined : toDeviceCode(row);
    },
    async findPendingByUserCode(environment, userCode, now) {
      const row = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('environment', '=', environment)
        .where('user_code', '=', userCode)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row === undefined ? undefined : toDeviceCode(row);
    },
    async decide(environment, deviceCodeHash, decision) {
      const result = await db
        .updateTable('device_codes')
        .set({
          status: decision.approved ? 'approved' : 'denied',
          user_id: decision.userId,
          auth_time: decision.authTime,
          session_claims: encodeSessionClaims(decision.sessionClaims),
        })
        .where('environment', '=', environment)
        .where('device_code_hash', '=', deviceCodeHash)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async poll(environment, deviceCodeHash, now, slowDown) {
      await db
        .updateTable('device_codes')
        .set((eb) => ({
          last_polled_at: now,
          ...(slowDown ? { interval_s: eb('interval_s', '+', 5) } : {}),
        }))
        .where('environment', '=', environment)
        .where('device_code_hash', '=', deviceCodeHash)
        .execute();
    },
    async consume(environment, deviceCodeHash, now, grantId) {
      const result = await db
        .updateTable('device_codes')
        .set({ status: 'consumed', grant_id: grantId })
        .where('environment', '=', environment)
        .where('device_code_hash', '=', deviceCodeHash)
        .where('status', '=', 'approved')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
