import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import { InputError } from '../services/input-error.js';
import { requireEnvironment } from '../services/environments.js';
import {
  registerResource,
  removeResource,
  setResourceAccessTokenAlg,
  setResourceClient,
} from '../services/resources.js';
import { adminRoute, envParams, serviceContext } from './route.js';
import { many, one } from './schemas.js';

/** The confidential client a resource server authenticates as; null: none. */
const RESOURCE_CLIENT = { type: ['string', 'null'], maxLength: 200 } as const;
/** RS256 for a resource server that cannot verify ES256; null: ES256 (the default). */
const ACCESS_TOKEN_ALG = { type: ['string', 'null'], enum: ['ES256', 'RS256', null] } as const;
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
          accessTokenAlg: ACCESS_TOKEN_ALG,
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
        accessTokenAlg?: string | null;
      };
      const resource = await registerResource(serviceContext(deps, request), env, {
        uri: body.uri,
        name: body.name,
        scopes: body.scopes ?? [],
        clientId: body.clientId ?? null,
        accessTokenAlg: body.accessTokenAlg ?? null,
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
      'Link a resource to the confidential client it authenticates as (revocation feed, introspection), or unlink it (null); and/or set the algorithm of its access tokens (RS256, or null for ES256)',
    schema: {
      response: { 200: one('resource', 'ProtectedResource') },
      params: envParams,
      querystring: resourceQuery,
      body: {
        type: 'object',
        minProperties: 1,
        additionalProperties: false,
        properties: { clientId: RESOURCE_CLIENT, accessTokenAlg: ACCESS_TOKEN_ALG },
      },
    },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      const { uri } = request.query as { uri: string };
      const body = request.body as { clientId?: string | null; accessTokenAlg?: string | null };
      const ctx = serviceContext(deps, request);
      let resource =
        body.clientId === undefined
          ? undefined
          : await setResourceClient(ctx, env, uri, body.clientId);
      if (body.accessTokenAlg !== undefined)
        resource = await setResourceAccessTokenAlg(ctx, env, uri, body.accessTokenAlg);
      // A body naming neither changes nothing: the resource as it is.
      resource ??= await deps.stores.resources.get(env, uri);
      if (resource === undefined)
        throw new InputError(`no resource ${uri} in ${env}`, 'unknown_resource');
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
