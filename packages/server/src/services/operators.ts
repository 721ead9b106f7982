import { checkPasswordStrength, hashPassword } from '../crypto/passwords.js';
import { randomToken } from '../crypto/random.js';
import { OPERATOR_ROLES, type Operator, type OperatorRole } from '../storage/operators.js';
import type { ServiceContext } from './context.js';
import { endImpersonationsBy } from './impersonation.js';
import { normaliseEmail } from './email.js';
import { InputError } from './input-error.js';

export interface OperatorSpec {
  readonly email: string;
  readonly role: string;
  readonly password: string;
}

export function isOperatorRole(role: string): role is OperatorRole {
  return (OPERATOR_ROLES as readonly string[]).includes(role);
}

export async function createOperator(ctx: ServiceContext, spec: OperatorSpec): Promise<Operator> {
  const email = normaliseEmail(spec.email);
  if (!isOperatorRole(spec.role))
    throw new InputError(
      `unknown role "${spec.role}" (use ${OPERATOR_ROLES.join(', ')})`,
      'invalid_role',
    );
  const weak = checkPasswordStrength(spec.password);
  if (weak !== undefined) throw new InputError(weak, 'weak_password');
  const now = ctx.clock();
  const operator: Operator = {
    id: `op_${randomToken(12)}`,
    email,
    role: spec.role,
    passwordHash: await hashPassword(spec.password),
    disabled: false,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await ctx.stores.operators.create(operator)))
    throw new InputError(`an operator with email ${email} exists already`, 'email_taken');
  await ctx.stores.audit.append(
    {
      environment: null,
      type: 'operator.created',
      actor: ctx.actor,
      data: { operatorId: operator.id, email, role: operator.role },
    },
    now,
  );
  return operator;
}

/** Finds an operator by id or email. */
export async function requireOperator(ctx: ServiceContext, idOrEmail: string): Promise<Operator> {
  const operator = idOrEmail.includes('@')
    ? await ctx.stores.operators.findByEmail(idOrEmail)
    : await ctx.stores.operators.get(idOrEmail);
  if (operator === undefined) throw new InputError(`no operator ${idOrEmail}`, 'unknown_operator');
  return operator;
}

/** Disabling ends the operator's console sessions at once. */
export async function setOperatorDisabled(
  ctx: ServiceContext,
  idOrEmail: string,
  disabled: boolean,
): Promise<Operator> {
  const current = await requireOperator(ctx, idOrEmail);
  if (ctx.actor === `operator:${current.id}` && disabled)
    throw new InputError('an operator cannot disable themselves', 'cannot_disable_self');
  const now = ctx.clock();
  const operator = await ctx.stores.operators.setDisabled(current.id, disabled, now);
  if (operator === undefined) throw new InputError(`no operator ${idOrEmail}`, 'unknown_operator');
  if (disabled) {
    await ctx.stores.operators.deleteSessionsOf(current.id);
    await endImpersonationsBy(ctx, current.id);
  }
  if (current.disabled !== disabled)
    await ctx.stores.audit.append(
      {
        environment: null,
        type: disabled ? 'operator.disabled' : 'operator.enabled',
        actor: ctx.actor,
        data: { operatorId: current.id, email: current.email },
      },
      now,
    );
  return operator;
}

/** An operator as shown outside: never the password hash. */
export function operatorView(operator: Operator): Record<string, unknown> {
  return {
    id: operator.id,
    email: operator.email,
    role: operator.role,
    disabled: operator.disabled,
    createdAt: operator.createdAt,
  };
}
