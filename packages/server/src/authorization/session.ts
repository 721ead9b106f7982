import type { FastifyRequest } from 'fastify';
import { sha256 } from '../crypto/random.js';
import { SESSION_COOKIE } from '../http/cookies.js';
import type { AppDeps, EnvironmentContext } from '../http/deps.js';
import type { Session } from '../storage/sessions.js';
import type { User } from '../storage/users.js';

/** The user this browser is signed in as, while the session lasts and the user is enabled. */
export async function currentSession(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
): Promise<{ session: Session; user: User } | undefined> {
  const id = request.cookies[SESSION_COOKIE];
  if (id === undefined || id === '') return undefined;
  const session = await deps.stores.sessions.find(
    requestEnv.environment.name,
    sha256(id),
    deps.clock(),
  );
  if (session === undefined) return undefined;
  const user = await deps.stores.users.get(requestEnv.environment.name, session.userId);
  if (user === undefined || user.disabled) return undefined;
  return { session, user };
}
