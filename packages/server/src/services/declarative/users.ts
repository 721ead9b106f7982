import type { ServiceContext } from '../context.js';
import { normaliseEmail } from '../email.js';
import { InputError } from '../input-error.js';
import { createUser, setUserEmailVerified } from '../users.js';

/**
 * Users in a declarative file (issue #16 part 2): the ones an environment must have, and whether
 * their email is verified (OIDC Core §5.1 `email_verified`, what ID tokens and userinfo say).
 * A declared user who is missing is created without a password (they cannot sign in until one is
 * set); an existing one only gets email_verified as declared. Users the file does not name are
 * never touched, and none is ever deleted: a file is for seeding and for the verified flag, not
 * for the accounts people made.
 */
export interface DeclaredUser {
  readonly environment: string;
  readonly email: string;
  /** Used when the user is created; an existing user keeps theirs. */
  readonly name?: string;
  /** Absent: left as it is (false for a new user). */
  readonly emailVerified?: boolean;
}

export interface UserChange {
  readonly environment: string;
  readonly email: string;
  readonly action: 'create' | 'update' | 'unchanged';
  readonly userId: string | null;
  readonly emailVerified?: { readonly from: boolean | null; readonly to: boolean };
}

export interface UserPlanProblem {
  readonly key: string;
  readonly environment: string;
  readonly code: string;
  readonly message: string;
}

function fail(where: string, message: string): never {
  throw new InputError(`${where}: ${message}`, 'invalid_file');
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `users: { <environment>: [ { email, name?, emailVerified? } ] }`: its shape only. */
export function parseDeclaredUsers(value: unknown): DeclaredUser[] {
  if (!isObject(value)) fail('users', 'maps environment names to lists of users');
  const users: DeclaredUser[] = [];
  for (const [environment, list] of Object.entries(value)) {
    if (!Array.isArray(list)) fail(`users.${environment}`, 'must be a list of users');
    list.forEach((raw: unknown, i) => {
      const where = `users.${environment}[${i}]`;
      if (!isObject(raw)) fail(where, 'a user is an object with "email"');
      const extra = Object.keys(raw).filter((k) => !['email', 'name', 'emailVerified'].includes(k));
      if (extra.length > 0)
        fail(where, `unknown field "${extra[0] ?? ''}" (allowed: email, name, emailVerified)`);
      if (typeof raw.email !== 'string') fail(where, '"email" must be a string');
      if (raw.name !== undefined && typeof raw.name !== 'string')
        fail(where, '"name" must be a string');
      if (raw.emailVerified !== undefined && typeof raw.emailVerified !== 'boolean')
        fail(where, '"emailVerified" must be true or false');
      users.push({
        environment,
        email: raw.email,
        ...(raw.name === undefined ? {} : { name: raw.name }),
        ...(raw.emailVerified === undefined ? {} : { emailVerified: raw.emailVerified }),
      });
    });
  }
  return users;
}

/** Compares the declared users with the server's, writing nothing; refusals go to `problems`. */
export async function planUsers(
  ctx: ServiceContext,
  users: readonly DeclaredUser[],
  problems: UserPlanProblem[],
): Promise<UserChange[]> {
  const changes: UserChange[] = [];
  const seen = new Set<string>();
  for (const user of users) {
    const problem = (code: string, message: string) => {
      problems.push({ key: `user ${user.email}`, environment: user.environment, code, message });
    };
    if ((await ctx.stores.environments.get(user.environment)) === undefined) {
      problem('unknown_environment', `no environment ${user.environment}`);
      continue;
    }
    let email: string;
    try {
      email = normaliseEmail(user.email);
    } catch (error) {
      problem('invalid_email', (error as Error).message);
      continue;
    }
    const key = `${user.environment}\u0000${email.toLowerCase()}`;
    if (seen.has(key)) {
      problem('duplicate_user', `${email} is declared twice in ${user.environment}`);
      continue;
    }
    seen.add(key);
    const existing = await ctx.stores.users.findByEmail(user.environment, email);
    if (existing === undefined) {
      changes.push({
        environment: user.environment,
        email,
        action: 'create',
        userId: null,
        emailVerified: { from: null, to: user.emailVerified === true },
      });
      continue;
    }
    const current = existing.emailVerified === true;
    const wanted = user.emailVerified;
    const differs = wanted !== undefined && wanted !== current;
    changes.push({
      environment: user.environment,
      email: existing.email,
      action: differs ? 'update' : 'unchanged',
      userId: existing.id,
      ...(differs ? { emailVerified: { from: current, to: wanted } } : {}),
    });
  }
  return changes;
}

/** Carries out planned user changes (inside the apply's transaction). */
export async function applyUserChanges(
  ctx: ServiceContext,
  changes: readonly UserChange[],
  users: readonly DeclaredUser[],
): Promise<UserChange[]> {
  const done: UserChange[] = [];
  for (const change of changes) {
    if (change.action === 'unchanged') continue;
    if (change.action === 'create') {
      const declared = users.find(
        (u) =>
          u.environment === change.environment &&
          u.email.toLowerCase() === change.email.toLowerCase(),
      );
      const created = await createUser(ctx, {
        environment: change.environment,
        email: change.email,
        ...(declared?.name === undefined ? {} : { name: declared.name }),
        emailVerified: change.emailVerified?.to === true,
      });
      done.push({ ...change, userId: created.id });
    } else {
      await setUserEmailVerified(
        ctx,
        change.environment,
        change.userId ?? change.email,
        change.emailVerified?.to === true,
      );
      done.push(change);
    }
  }
  return done;
}
