import type { FastifyRequest } from 'fastify';
import { ENVIRONMENT_NAME } from '../storage/environments.js';
import { issuerOf, type AppDeps, type EnvironmentContext } from './deps.js';

/** The request names an environment that does not exist. */
export class UnknownEnvironment extends Error {
  override readonly name = 'UnknownEnvironment';
}

export async function environmentContext(
  deps: AppDeps,
  request: FastifyRequest,
): Promise<EnvironmentContext> {
  const name = (request.params as { env?: string }).env ?? '';
  const environment = ENVIRONMENT_NAME.test(name)
    ? await deps.stores.environments.get(name)
    : undefined;
  if (environment === undefined)
    throw new UnknownEnvironment(`no environment "${name.slice(0, 64)}"`);
  return { environment, issuer: issuerOf(deps, environment.name) };
}
