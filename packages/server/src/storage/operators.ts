import type { Kysely, Selectable } from 'kysely';
import type { Database, OperatorTable } from './schema.js';

export type OperatorRole = 'admin' | 'support' | 'viewer';
export const OPERATOR_ROLES: readonly OperatorRole[] = ['admin', 'support', 'viewer'];

/** A person who runs Gatehouse. Never an end user of any environment. */
export interface Operator {
  readonly id: string;
  readonly email: string;
  readonly role: OperatorRole;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface OperatorSession {
  readonly idHash: string;
  readonly operatorId: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
  readonly createdAt: number;
}

export interface OperatorStore {
  /** Returns false when an operator with that email exists already. */
  create(operator: Operator): Promise<boolean>;
  get(id: string): Promise<Operator | undefined>;
  findByEmail(email: string): Promise<Operator | undefined>;
  list(): Promise<Operator[]>;
  setDisabled(id: string, disabled: boolean, at: number): Promise<Operator | undefined>;
  createSession(session: OperatorSession): Promise<void>;
  findSession(idHash: string, now: number): Promise<OperatorSession | undefined>;
  deleteSession(idHash: string): Promise<void>;
  deleteSessionsOf(operatorId: string): Promise<void>;
}

function toOperator(row: Selectable<OperatorTable>): Operator {
  return {
    id: row.id,
    email: row.email,
    role: row.role as OperatorRole,
    passwordHash: row.password_hash,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function operatorStore(db: Kysely<Database>): OperatorStore {
  const get = async (id: string): Promise<Operator | undefined> => {
    const row = await db
      .selectFrom('operators')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toOperator(row);
  };
  return {
    async create(operator) {
      const result = await db
        .insertInto('operators')
        .values({
          id: operator.id,
          email: operator.email,
          email_key: operator.email.toLowerCase(),
          role: operator.role,
          password_hash: operator.passwordHash,
          disabled: operator.disabled ? 1 : 0,
          created_at: operator.createdAt,
          updated_at: operator.updatedAt,
        })
        .onConflict((c) => c.column('email_key').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    get,
    async findByEmail(email) {
      const row = await db
        .selectFrom('operators')
        .selectAll()
        .where('email_key', '=', email.toLowerCase())
        .executeTakeFirst();
      return row === undefined ? undefined : toOperator(row);
    },
    async list() {
      const rows = await db.selectFrom('operators').selectAll().orderBy('created_at').execute();
      return rows.map(toOperator);
    },
    async setDisabled(id, disabled, at) {
      await db
        .updateTable('operators')
        .set({ disabled: disabled ? 1 : 0, updated_at: at })
        .where('id', '=', id)
        .execute();
      return get(id);
    },
    async createSession(session) {
      await db
        .insertInto('operator_sessions')
        .values({
          id_hash: session.idHash,
          operator_id: session.operatorId,
          csrf_token: session.csrfToken,
          expires_at: session.expiresAt,
          created_at: session.createdAt,
        })
        .execute();
    },
    async findSession(idHash, now) {
      const row = await db
        .selectFrom('operator_sessions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row === undefined
        ? undefined
        : {
            idHash: row.id_hash,
            operatorId: row.operator_id,
            csrfToken: row.csrf_token,
            expiresAt: row.expires_at,
            createdAt: row.created_at,
          };
    },
    async deleteSession(idHash) {
      await db.deleteFrom('operator_sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteSessionsOf(operatorId) {
      await db.deleteFrom('operator_sessions').where('operator_id', '=', operatorId).execute();
    },
  };
}
