import type { FastifyInstance } from 'fastify';
import { issuerOf, type AppDeps } from '../http/deps.js';
import {
  createEnvironment,
  requireEnvironment,
  setImpersonationEnabled,
} from '../services/environments.js';
import type { Environment, Tier } from '../storage/environments.js';
import { adminRoute, envParams, serviceContext } from './route.js';
import { environmentView } from './views.js';

export function environmentRoutes(api: FastifyInstance, deps: AppDeps): void {
  const view = async (environment: Environment) =>
    environmentView(environment, issuerOf(deps, environment.name), {
      clientCount: (await deps.stores.clients.list(environment.name)).length,
      userCount: (await deps.stores.users.list(environment.name)).length,
    });

  adminRoute(api, {
    method: 'GET',
    url: '/environments',
    access: 'viewer',
    tag: 'environments',
    summary: 'All environments, side by side',
    handler: async () => ({
      environments: await Promise.all((await deps.stores.environments.list()).map(view)),
    }),
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments',
    access: 'admin',
    tag: 'environments',
    summary: 'Create an environment (its own issuer, with its own signing key)',
    schema: {
      body: {
        type: 'object',
        required: ['name', 'tier'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 64 },
          tier: { type: 'string', enum: ['development', 'staging', 'production'] },
        },
      },
    },
    handler: async (request, reply) => {
      const body = request.body as { name: string; tier: Tier };
      const environment = await createEnvironment(
        serviceContext(deps, request),
        body.name,
        body.tier,
      );
      return reply.status(201).send({ environment: await view(environment) });
    },
  });

  adminRoute(api, {
    method: 'PATCH',
    url: '/environments/:env',
    access: 'admin',
    tag: 'environments',
    summary: 'Change environment settings (impersonation on or off)',
    schema: {
      params: envParams,
      body: {
        type: 'object',
        required: ['impersonationEnabled'],
        additionalProperties: false,
        properties: { impersonationEnabled: { type: 'boolean' } },
      },
    },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      const body = request.body as { impersonationEnabled: boolean };
      const ctx = serviceContext(deps, request);
      await requireEnvironment(ctx, env);
      return {
        environment: await view(await setImpersonationEnabled(ctx, env, body.impersonationEnabled)),
      };
    },
  });
}
