import type { FastifyRequest } from 'fastify';
import { sha256 } from '../crypto/random.js';
import { IMPERSONATION_COOKIE } from '../http/cookies.js';
import type { AppDeps, EnvironmentContext } from '../http/deps.js';
import { actingOperator } from '../services/impersonation.js';
import type { Impersonation } from '../storage/impersonations.js';
import type { User } from '../storage/users.js';
import type { ActingOperator } from '../tokens/issue.js';

export interface ImpersonationSession {
  readonly impersonation: Impersonation;
  readonly user: User;
  readonly acting: ActingOperator;
}

/**
 * The operator's impersonation this browser carries, while it runs. It stands in for a session
 * only for its own client; the user's own sessions and credentials are never touched.
 */
export async function currentImpersonation(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
): Promise<ImpersonationSession | undefined> {
  const cookie = request.cookies[IMPERSONATION_COOKIE];
  if (cookie === undefined || cookie === '') return undefined;
  const env = requestEnv.environment.name;
  const impersonation = await deps.stores.impersonations.findByCookie(env, sha256(cookie));
  if (impersonation === undefined) return undefined;
  const acting = await actingOperator(deps, env, impersonation.id);
  if (acting === undefined) return undefined;
  const user = await deps.stores.users.get(env, impersonation.userId);
  if (user === undefined || user.disabled) return undefined;
  return { impersonation, user, acting };
}
