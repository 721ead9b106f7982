import { randomUUID } from 'node:crypto';
import { checkPasswordStrength, hashPassword } from '../crypto/passwords.js';
import type { User } from '../storage/users.js';
import type { ServiceContext } from './context.js';
import { requireEnvironment } from './environments.js';
import { normaliseEmail } from './email.js';
import { InputError } from './input-error.js';
import { backchannelLogoutForUser } from './logout.js';
import { recordRevocation } from './revocation.js';

export interface UserSpec {
  readonly environment: string;
  readonly email: string;
  readonly password?: string;
  readonly name?: string;
  /**
   * Whether the email is known to be the user's (OIDC Core §5.1 `email_verified`): only an
   * operator, the declarative file or an import says so; default false.
   */
  readonly emailVerified?: boolean;
}

export async function createUser(ctx: ServiceContext, spec: UserSpec): Promise<User> {
  await requireEnvironment(ctx, spec.environment);
  const email = normaliseEmail(spec.email);
  if (spec.password !== undefined) {
    const weak = checkPasswordStrength(spec.password);
    if (weak !== undefined) throw new InputError(weak, 'weak_password');
  }
  const now = ctx.clock();
  const user: User = {
    id: randomUUID(),
    environment: spec.environment,
    email,
    name: spec.name?.trim() || null,
    passwordHash: spec.password === undefined ? null : await hashPassword(spec.password),
    disabled: false,
    emailVerified: spec.emailVerified === true,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await ctx.stores.users.create(user))) {
    throw new InputError(
      `a user with email ${email} exists already in ${spec.environment}`,
      'email_taken',
    );
  }
  await ctx.stores.audit.append(
    {
      environment: spec.environment,
      type: 'user.created',
      actor: ctx.actor,
      userId: user.id,
      data: { email, emailVerified: user.emailVerified === true },
    },
    now,
  );
  return user;
}

/**
 * Records whether the user's email address is verified, as ID tokens and userinfo then say
 * (`email_verified`). Relying parties may link accounts by a verified email, so it is audited.
 */
export async function setUserEmailVerified(
  ctx: ServiceContext,
  environment: string,
  idOrEmail: string,
  verified: boolean,
): Promise<User> {
  const user = await requireUser(ctx, environment, idOrEmail);
  if ((user.emailVerified === true) === verified) return user;
  const now = ctx.clock();
  await ctx.stores.users.setEmailVerified(environment, user.id, verified, now);
  await ctx.stores.audit.append(
    {
      environment,
      type: verified ? 'user.email_verified' : 'user.email_unverified',
      actor: ctx.actor,
      userId: user.id,
      data: { email: user.email },
    },
    now,
  );
  return { ...user, emailVerified: verified, updatedAt: now };
}

/** Finds a user by id or email. */
export async function requireUser(
  ctx: ServiceContext,
  environment: string,
  idOrEmail: string,
): Promise<User> {
  await requireEnvironment(ctx, environment);
  const user = idOrEmail.includes('@')
    ? await ctx.stores.users.findByEmail(environment, idOrEmail)
    : await ctx.stores.users.get(environment, idOrEmail);
  if (user === undefined)
    throw new InputError(`no user ${idOrEmail} in environment ${environment}`, 'unknown_user');
  return user;
}

export async function setUserDisabled(
  ctx: ServiceContext,
  environment: string,
  idOrEmail: string,
  disabled: boolean,
): Promise<User> {
  const user = await requireUser(ctx, environment, idOrEmail);
  const now = ctx.clock();
  await ctx.stores.users.setDisabled(environment, user.id, disabled, now);
  // A disabled account loses its sessions at once. Its access tokens stop here because the user
  // is disabled, and at resource servers by the event; enabled again, it is issued new ones.
  if (disabled) {
    await ctx.stores.sessions.deleteForUser(environment, user.id);
    await recordRevocation(ctx, environment, 'user', user.id);
    // The clients of those sessions are told (Back-Channel Logout 1.0 §2.7). After the
    // revocation: however many sessions the account piled up, it is cut off first.
    await backchannelLogoutForUser(ctx, environment, user.id);
  }
  await ctx.stores.audit.append(
    {
      environment,
      type: disabled ? 'user.disabled' : 'user.enabled',
      actor: ctx.actor,
      userId: user.id,
    },
    now,
  );
  return { ...user, disabled };
}

export async function deleteUser(
  ctx: ServiceContext,
  environment: string,
  idOrEmail: string,
): Promise<void> {
  const user = await requireUser(ctx, environment, idOrEmail);
  await ctx.stores.sessions.deleteForUser(environment, user.id);
  await ctx.stores.users.delete(environment, user.id);
  // Its access tokens, wherever they are checked; a deleted user never comes back.
  await recordRevocation(ctx, environment, 'user', user.id, { final: true });
  // Then the clients of its sessions are told (Back-Channel Logout 1.0 §2.7).
  await backchannelLogoutForUser(ctx, environment, user.id);
  await ctx.stores.audit.append(
    {
      environment,
      type: 'user.deleted',
      actor: ctx.actor,
      userId: user.id,
      data: { email: user.email },
    },
    ctx.clock(),
  );
}
