import { randomToken, sha256 } from '../crypto/random.js';
import {
  isImpersonationActive,
  type Impersonation,
  type ImpersonationEnd,
} from '../storage/impersonations.js';
import type { Environment } from '../storage/environments.js';
import type { Operator } from '../storage/operators.js';
import type { ActingOperator } from '../tokens/issue.js';
import { requireClient } from './clients.js';
import type { ServiceContext } from './context.js';
import { emailIdentity } from './email.js';
import { requireEnvironment } from './environments.js';
import { InputError } from './input-error.js';
import { recordRevocation } from './revocation.js';
import { requireUser } from './users.js';

export const DEFAULT_IMPERSONATION_MINUTES = 15;
export const MAX_IMPERSONATION_MINUTES = 60;
const MAX_REASON_LENGTH = 500;

export interface ImpersonationSpec {
  readonly environment: string;
  readonly userId: string;
  readonly clientId: string;
  readonly reason: string;
  readonly minutes?: number;
}

/** Who is impersonated, by whom, for what: what the console and the audit log show. */
function auditData(i: Impersonation, operator: Pick<Operator, 'id' | 'email'>) {
  return {
    impersonationId: i.id,
    operatorId: operator.id,
    operatorEmail: operator.email,
    reason: i.reason,
    startedAt: i.startedAt,
    expiresAt: i.expiresAt,
  };
}

/**
 * Starts an impersonation. The returned cookie value goes only to the operator's browser; the
 * database keeps its hash. Nothing about the user's credentials is read or changed.
 */
export async function startImpersonation(
  ctx: ServiceContext,
  operator: Operator,
  spec: ImpersonationSpec,
): Promise<{ impersonation: Impersonation; cookie: string }> {
  if (operator.role !== 'admin' && operator.role !== 'support')
    throw new InputError('only support and admin operators may impersonate', 'forbidden');
  const env = await requireEnvironment(ctx, spec.environment);
  if (!env.impersonationEnabled)
    throw new InputError(
      `impersonation is turned off in ${env.name}; an admin can turn it on`,
      'impersonation_disabled',
    );
  const reason = spec.reason.trim();
  if (reason === '')
    throw new InputError('a reason is required to impersonate a user', 'reason_required');
  if (reason.length > MAX_REASON_LENGTH)
    throw new InputError(
      `the reason must have at most ${MAX_REASON_LENGTH} characters`,
      'invalid_reason',
    );
  const minutes = spec.minutes ?? DEFAULT_IMPERSONATION_MINUTES;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_IMPERSONATION_MINUTES)
    throw new InputError(
      `the duration must be 1 to ${MAX_IMPERSONATION_MINUTES} whole minutes`,
      'invalid_duration',
    );
  const user = await requireUser(ctx, env.name, spec.userId);
  if (user.disabled) throw new InputError(`user ${user.email} is disabled`, 'user_disabled');
  // An operator's own account in an environment would let one operator act as another. Compared
  // by identity, not spelling: a look-alike stored before emails were normalised (a zero-width
  // space, a trailing dot) is still that operator.
  const identity = emailIdentity(user.email);
  const asOperator =
    (await ctx.stores.operators.findByEmail(user.email)) ??
    (await ctx.stores.operators.list()).find((op) => emailIdentity(op.email) === identity);
  if (asOperator !== undefined)
    throw new InputError(
      `${user.email} belongs to an operator; operators cannot be impersonated`,
      'operator_user',
    );
  const client = await requireClient(ctx, env.name, spec.clientId);
  if (!client.grantTypes.includes('authorization_code'))
    throw new InputError(
      `client ${client.clientId} does not sign users in (no authorization_code grant)`,
      'client_without_sign_in',
    );
  const now = ctx.clock();
  const open = (await ctx.stores.impersonations.list(env.name, 100)).find(
    (i) => i.operatorId === operator.id && isImpersonationActive(i, now),
  );
  if (open !== undefined)
    throw new InputError(
      'you are already impersonating someone in this environment; end that first',
      'impersonation_active',
    );

  const cookie = randomToken(32);
  const impersonation: Impersonation = {
    id: `imp_${randomToken(12)}`,
    environment: env.name,
    operatorId: operator.id,
    userId: user.id,
    clientId: client.clientId,
    reason,
    cookieHash: sha256(cookie),
    startedAt: now,
    expiresAt: now + minutes * 60_000,
    endedAt: null,
    endReason: null,
  };
  await ctx.stores.impersonations.create(impersonation);
  await ctx.stores.audit.append(
    {
      environment: env.name,
      type: 'impersonation.started',
      actor: `operator:${operator.id}`,
      clientId: client.clientId,
      userId: user.id,
      data: auditData(impersonation, operator),
    },
    now,
  );
  return { impersonation, cookie };
}

/**
 * Ends an impersonation and revokes every token issued during it. Idempotent: only the call that
 * ends it writes the audit entry.
 */
export async function endImpersonation(
  ctx: ServiceContext,
  environment: string,
  id: string,
  reason: ImpersonationEnd,
): Promise<Impersonation> {
  const current = await ctx.stores.impersonations.get(environment, id);
  if (current === undefined)
    throw new InputError(`no impersonation ${id} in ${environment}`, 'unknown_impersonation');
  const now = ctx.clock();
  // Revoke first: a token stored concurrently is dead on arrival, because the revocation is kept.
  await ctx.stores.tokens.revokeImpersonation(environment, id, now);
  // Its access tokens, wherever they are checked. One that expired on its own has none left.
  if (current.endedAt === null && reason !== 'expired')
    await recordRevocation(ctx, environment, 'impersonation', id);
  if (await ctx.stores.impersonations.end(environment, id, reason, now)) {
    const operator = (await ctx.stores.operators.get(current.operatorId)) ?? {
      id: current.operatorId,
      email: 'unknown',
    };
    await ctx.stores.audit.append(
      {
        environment,
        type: 'impersonation.ended',
        actor: reason === 'expired' ? 'system' : ctx.actor,
        clientId: current.clientId,
        userId: current.userId,
        data: { ...auditData(current, operator), endReason: reason, endedAt: now },
      },
      now,
    );
  }
  return (await ctx.stores.impersonations.get(environment, id)) ?? current;
}

/**
 * Ends an impersonation on an operator's request: their own, or anyone's for an admin. A support
 * operator may start impersonations but not cut short a colleague's (which would revoke the
 * tokens that colleague's session stands on). An unknown id is answered as for anyone.
 */
export async function endImpersonationAs(
  ctx: ServiceContext,
  operator: Pick<Operator, 'id' | 'role'>,
  environment: string,
  id: string,
): Promise<Impersonation> {
  const current = await ctx.stores.impersonations.get(environment, id);
  if (current === undefined)
    throw new InputError(`no impersonation ${id} in ${environment}`, 'unknown_impersonation');
  if (current.operatorId !== operator.id && operator.role !== 'admin')
    throw new InputError(
      'only the operator who started this impersonation, or an admin, may end it',
      'forbidden',
    );
  return endImpersonation(ctx, environment, id, 'ended');
}

/** Ends every running impersonation of an operator (signed out, replaced or disabled). */
export async function endImpersonationsBy(ctx: ServiceContext, operatorId: string): Promise<void> {
  for (const env of await ctx.stores.environments.list())
    await endRunning(ctx, env.name, (i) => i.operatorId === operatorId);
}

/**
 * Impersonation is off until an admin turns it on for an environment. A setting of the
 * environment, kept here because turning it off ends running impersonations: the environments
 * service, which every other service builds on, then depends on none of them.
 */
export async function setImpersonationEnabled(
  ctx: ServiceContext,
  name: string,
  enabled: boolean,
): Promise<Environment> {
  const current = await requireEnvironment(ctx, name);
  if (current.impersonationEnabled !== enabled) {
    await ctx.stores.environments.setImpersonationEnabled(name, enabled);
    // Turning it off ends what is running, and revokes its tokens, not only what would start.
    if (!enabled) await endImpersonationsIn(ctx, name);
    await ctx.stores.audit.append(
      {
        environment: name,
        type: enabled ? 'environment.impersonation_enabled' : 'environment.impersonation_disabled',
        actor: ctx.actor,
      },
      ctx.clock(),
    );
  }
  return { ...current, impersonationEnabled: enabled };
}

/** Ends every running impersonation in an environment (impersonation was turned off there). */
async function endImpersonationsIn(ctx: ServiceContext, environment: string): Promise<void> {
  await endRunning(ctx, environment, () => true);
}

async function endRunning(
  ctx: ServiceContext,
  environment: string,
  which: (i: Impersonation) => boolean,
): Promise<void> {
  const now = ctx.clock();
  for (const i of await ctx.stores.impersonations.list(environment, 1000))
    if (which(i) && isImpersonationActive(i, now))
      await endImpersonation(ctx, environment, i.id, 'ended');
}

/** Ends impersonations whose time ran out; their tokens had already stopped at the same time. */
export async function endExpiredImpersonations(ctx: ServiceContext): Promise<number> {
  const expired = await ctx.stores.impersonations.listExpiredUnended(ctx.clock());
  for (const i of expired) await endImpersonation(ctx, i.environment, i.id, 'expired');
  return expired.length;
}

/** The operator behind an impersonation, if it is still running. */
export async function actingOperator(
  ctx: Pick<ServiceContext, 'stores' | 'clock'>,
  environment: string,
  impersonationId: string,
): Promise<ActingOperator | undefined> {
  const i = await ctx.stores.impersonations.get(environment, impersonationId);
  if (i === undefined || !isImpersonationActive(i, ctx.clock())) return undefined;
  if ((await ctx.stores.environments.get(environment))?.impersonationEnabled !== true)
    return undefined;
  const operator = await ctx.stores.operators.get(i.operatorId);
  if (operator === undefined || operator.disabled) return undefined;
  return {
    impersonationId: i.id,
    operatorId: operator.id,
    operatorEmail: operator.email,
    until: i.expiresAt,
  };
}

export interface ImpersonationView {
  readonly id: string;
  readonly environment: string;
  readonly operatorId: string;
  readonly operatorEmail: string;
  readonly userId: string;
  readonly userEmail: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly reason: string;
  readonly startedAt: number;
  readonly expiresAt: number;
  readonly endedAt: number | null;
  readonly endReason: ImpersonationEnd | null;
  readonly active: boolean;
}

export async function impersonationView(
  ctx: ServiceContext,
  i: Impersonation,
): Promise<ImpersonationView> {
  const [operator, user, client] = await Promise.all([
    ctx.stores.operators.get(i.operatorId),
    ctx.stores.users.get(i.environment, i.userId),
    ctx.stores.clients.get(i.environment, i.clientId),
  ]);
  return {
    id: i.id,
    environment: i.environment,
    operatorId: i.operatorId,
    operatorEmail: operator?.email ?? 'unknown',
    userId: i.userId,
    userEmail: user?.email ?? 'deleted user',
    clientId: i.clientId,
    clientName: client?.name ?? 'deleted client',
    reason: i.reason,
    startedAt: i.startedAt,
    expiresAt: i.expiresAt,
    endedAt: i.endedAt,
    endReason: i.endReason,
    active: isImpersonationActive(i, ctx.clock()),
  };
}
