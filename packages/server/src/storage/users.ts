import type { Kysely, Selectable } from 'kysely';
import type { Database, UserTable } from './schema.js';

export interface User {
  readonly id: string;
  readonly environment: string;
  readonly email: string;
  readonly name: string | null;
  readonly passwordHash: string | null;
  readonly disabled: boolean;
  /**
   * Whether the email address is known to belong to the user (OIDC Core §5.1 `email_verified`):
   * set by operators, the declarative file and import. Absent: false.
   */
  readonly emailVerified?: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface UserStore {
  get(environment: string, id: string): Promise<User | undefined>;
  findByEmail(environment: string, email: string): Promise<User | undefined>;
  list(environment: string): Promise<User[]>;
  /** How many there are, counted by the database (an installation may have millions). */
  count(environment: string): Promise<number>;
  /** Returns false when the email is taken in this environment. */
  create(user: User): Promise<boolean>;
  setDisabled(environment: string, id: string, disabled: boolean, at: number): Promise<boolean>;
  /** Records whether the user's email is verified (OIDC Core §5.1 `email_verified`). */
  setEmailVerified(
    environment: string,
    id: string,
    verified: boolean,
    at: number,
  ): Promise<boolean>;
  delete(environment: string, id: string): Promise<boolean>;
}

/** Emails compare case-insensitively for sign-in; the address is kept as written. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

function toUser(row: Selectable<UserTable>): User {
  return {
    id: row.id,
    environment: row.environment,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    disabled: row.disabled === 1,
    emailVerified: row.email_verified === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function userStore(db: Kysely<Database>): UserStore {
  return {
    async get(environment, id) {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('environment', '=', environment)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? undefined : toUser(row);
    },
    async findByEmail(environment, email) {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('environment', '=', environment)
        .where('email_key', '=', emailKey(email))
        .executeTakeFirst();
      return row === undefined ? undefined : toUser(row);
    },
    async list(environment) {
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .where('environment', '=', environment)
        .orderBy('created_at')
        .execute();
      return rows.map(toUser);
    },
    async count(environment) {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('environment', '=', environment)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async create(user) {
      const result = await db
        .insertInto('users')
        .values({
          id: user.id,
          environment: user.environment,
          email: user.email,
          email_key: emailKey(user.email),
          name: user.name,
          password_hash: user.passwordHash,
          disabled: user.disabled ? 1 : 0,
          email_verified: user.emailVerified === true ? 1 : 0,
          created_at: user.createdAt,
          updated_at: user.updatedAt,
        })
        .onConflict((c) => c.columns(['environment', 'email_key']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async setDisabled(environment, id, disabled, at) {
      const result = await db
        .updateTable('users')
        .set({ disabled: disabled ? 1 : 0, updated_at: at })
        .where('environment', '=', environment)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setEmailVerified(environment, id, verified, at) {
      const result = await db
        .updateTable('users')
        .set({ email_verified: verified ? 1 : 0, updated_at: at })
        .where('environment', '=', environment)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async delete(environment, id) {
      const result = await db
        .deleteFrom('users')
        .where('environment', '=', environment)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}
