import { randomUUID } from 'node:crypto';
import { argon2HashProblem } from '../crypto/passwords.js';
import { emailKey, type User } from '../storage/users.js';
import type { ServiceContext } from './context.js';
import { normaliseEmail } from './email.js';
import { requireEnvironment } from './environments.js';
import { InputError } from './input-error.js';

/** One user of an import file (JSON, or JSON Lines), as another system exported it. */
export interface ImportedUser {
  readonly email: string;
  readonly name?: string | null;
  /** OIDC Core §5.1 `email_verified`: whether the other system had verified the address. */
  readonly emailVerified?: boolean;
  /**
   * An argon2 hash in PHC form (`$argon2id$v=19$m=…`), so users keep their passwords; absent: the
   * user cannot sign in until a password is set. Other schemes are refused, never re-hashed.
   */
  readonly passwordHash?: string;
}

export interface ImportResult {
  readonly created: number;
  /** Existing users whose email_verified the file changed. */
  readonly updated: number;
  /** Existing users the file changes nothing about (a re-import is harmless). */
  readonly unchanged: number;
}

/** At most this many users per run: an import is read whole before anything is written. */
export const MAX_IMPORTED_USERS = 100_000;

function fail(where: string, message: string): never {
  throw new InputError(`${where}: ${message}`, 'invalid_file');
}

/**
 * Reads an import file's text: a JSON array of users, or JSON Lines (one user object per line).
 * Field names as in Gatehouse's own JSON output: email, name, email_verified, password_hash.
 */
export function parseUserImport(text: string): ImportedUser[] {
  const trimmed = text.trim();
  let values: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      values = JSON.parse(trimmed) as unknown[];
    } catch (error) {
      fail('file', `not valid JSON (${(error as Error).message})`);
    }
  } else {
    values = trimmed
      .split('\n')
      .map((line, i) => [line.trim(), i] as const)
      .filter(([line]) => line !== '')
      .map(([line, i]) => {
        try {
          return JSON.parse(line) as unknown;
        } catch {
          fail(`line ${i + 1}`, 'not a JSON object');
        }
      });
  }
  if (values.length > MAX_IMPORTED_USERS)
    fail('file', `at most ${MAX_IMPORTED_USERS} users per import; split the file`);
  return values.map((value, i) => {
    const where = `user ${i + 1}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      fail(where, 'a user is an object with "email"');
    const record = value as Record<string, unknown>;
    const extra = Object.keys(record).filter(
      (k) => !['email', 'name', 'email_verified', 'password_hash'].includes(k),
    );
    if (extra.length > 0)
      fail(
        where,
        `unknown field "${extra[0] ?? ''}" (allowed: email, name, email_verified, password_hash)`,
      );
    if (typeof record.email !== 'string') fail(where, '"email" must be a string');
    if (record.name !== undefined && record.name !== null && typeof record.name !== 'string')
      fail(where, '"name" must be a string');
    // As the admin API's limit on a user's name.
    if (typeof record.name === 'string' && record.name.length > 200)
      fail(where, '"name" must have at most 200 characters');
    if (record.email_verified !== undefined && typeof record.email_verified !== 'boolean')
      fail(where, '"email_verified" must be true or false');
    if (record.password_hash !== undefined && typeof record.password_hash !== 'string')
      fail(where, '"password_hash" must be a string');
    return {
      email: record.email,
      ...(typeof record.name === 'string' ? { name: record.name } : {}),
      ...(typeof record.email_verified === 'boolean'
        ? { emailVerified: record.email_verified }
        : {}),
      ...(typeof record.password_hash === 'string' ? { passwordHash: record.password_hash } : {}),
    };
  });
}

/**
 * Imports users into an environment. Everything is checked before anything is written (emails,
 * duplicates, password hashes), so a refused file changes nothing. A user who exists already
 * (same email, case-insensitively) is not replaced: only its email_verified follows the file
 * where the file says it, so importing the same file again changes nothing. Each created or
 * changed user is audited.
 */
export async function importUsers(
  ctx: ServiceContext,
  environment: string,
  users: readonly ImportedUser[],
): Promise<ImportResult> {
  await requireEnvironment(ctx, environment);
  const seen = new Map<string, number>();
  const checked = users.map((user, i) => {
    const where = `user ${i + 1}`;
    let email: string;
    try {
      email = normaliseEmail(user.email);
    } catch (error) {
      fail(where, (error as Error).message);
    }
    const key = emailKey(email);
    const first = seen.get(key);
    if (first !== undefined) fail(where, `${email} is also user ${first}`);
    seen.set(key, i + 1);
    // Only a hash this server can verify (anything else would lock the user out silently), at a
    // cost a sign-in may take: the hash's own parameters decide what verifying it costs.
    const hashProblem =
      user.passwordHash === undefined ? undefined : argon2HashProblem(user.passwordHash);
    if (hashProblem !== undefined) fail(where, `password_hash ${hashProblem}`);
    return { ...user, email };
  });
  let created = 0;
  let updated = 0;
  let unchanged = 0;
  for (const user of checked) {
    const now = ctx.clock();
    const existing = await ctx.stores.users.findByEmail(environment, user.email);
    if (existing !== undefined) {
      if (
        user.emailVerified === undefined ||
        (existing.emailVerified === true) === user.emailVerified
      ) {
        unchanged++;
        continue;
      }
      await ctx.stores.users.setEmailVerified(environment, existing.id, user.emailVerified, now);
      await ctx.stores.audit.append(
        {
          environment,
          type: user.emailVerified ? 'user.email_verified' : 'user.email_unverified',
          actor: ctx.actor,
          userId: existing.id,
          data: { email: existing.email, imported: true },
        },
        now,
      );
      updated++;
      continue;
    }
    const record: User = {
      id: randomUUID(),
      environment,
      email: user.email,
      name: user.name?.trim() || null,
      passwordHash: user.passwordHash ?? null,
      disabled: false,
      emailVerified: user.emailVerified === true,
      createdAt: now,
      updatedAt: now,
    };
    // Created meanwhile by someone else: left as it is, like an existing one.
    if (!(await ctx.stores.users.create(record))) {
      unchanged++;
      continue;
    }
    await ctx.stores.audit.append(
      {
        environment,
        type: 'user.created',
        actor: ctx.actor,
        userId: record.id,
        data: {
          email: record.email,
          emailVerified: record.emailVerified === true,
          imported: true,
        },
      },
      now,
    );
    created++;
  }
  return { created, updated, unchanged };
}
