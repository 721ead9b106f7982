import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import { requireEnvironment } from '../services/environments.js';
import { registerResource, removeResource, setResourceClient } from '../services/resources.js';
import { adminRoute, envParams, serviceContext } from './route.js';
import { many, one } from './schemas.js';

/** The confidential client a resource server authenticates as; null: none. */
const RESOURCE_CLIENT = { type: ['string', 'null'], maxLength: 200 } as const;
const resourceQuery = {
  type: 'object',
  required: ['uri'],
  properties: { uri: { type: 'string', maxLength: 2048 } },
} as const;

/** Protected resources (RFC 8707 / RFC 9728) an environment knows, with their scopes. */
export function resourceRoutes(api: FastifyInstance, deps: AppDeps): void {
  const tag = 'resources';
  adminRoute(api, {
    method: 'GET',
    url: '/environments/:env/resources',
    access: 'viewer',
    tag,
    summary: 'Registered resources; once there are any, only these may be asked for',
    schema: { params: envParams, response: { 200: many('resources', 'ProtectedResource') } },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      await requireEnvironment(serviceContext(deps, request), env);
      return { resources: await deps.stores.resources.list(env) };
    },
  });
  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/resources',
    access: 'admin',
    tag,
    summary: 'Register a resource and the scopes it defines',
    schema: {
      response: { 201: one('resource', 'ProtectedResource') },
      params: envParams,
      body: {
        type: 'object',
        required: ['uri', 'name'],
        additionalProperties: false,
        properties: {
          uri: { type: 'string', maxLength: 2048 },
          name: { type: 'string', maxLength: 200 },
          scopes: { type: 'array', items: { type: 'string', maxLength: 100 }, maxItems: 100 },
          clientId: RESOURCE_CLIENT,
        },
      },
    },
    handler: async (request, reply) => {
      const { env } = request.params as { env: string };
      const body = request.body as {
        uri: string;
        name: string;
        scopes?: string[];
        clientId?: string | null;
      };
      const resource = await registerResource(serviceContext(deps, request), env, {
        uri: body.uri,
        name: body.name,
        scopes: body.scopes ?? [],
        clientId: body.clientId ?? null,
      });
      return reply.status(201).send({ resource });
    },
  });
  adminRoute(api, {
    method: 'PATCH',
    url: '/environments/:env/resources',
    access: 'admin',
    tag,
    summary:
      'Link a resource to the confidential client it authenticates as (revocation feed, introspection), or unlink it (null)',
    schema: {
      response: { 200: one('resource', 'ProtectedResource') },
      params: envParams,
      querystring: resourceQuery,
      body: {
        type: 'object',
        required: ['clientId'],
        additionalProperties: false,
        properties: { clientId: RESOURCE_CLIENT },
      },
    },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      const { uri } = request.query as { uri: string };
      const { clientId } = request.body as { clientId: string | null };
      const resource = await setResourceClient(serviceContext(deps, request), env, uri, clientId);
      return { resource };
    },
  });
  adminRoute(api, {
    method: 'DELETE',
    url: '/environments/:env/resources',
    access: 'admin',
    tag,
    summary: 'Remove a registered resource',
    schema: {
      params: envParams,
      querystring: resourceQuery,
    },
    handler: async (request, reply) => {
      const { env } = request.params as { env: string };
      const { uri } = request.query as { uri: string };
      await removeResource(serviceContext(deps, request), env, uri);
      return reply.status(204).send();
    },
  });
}
