import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import { GRANT_TYPES } from '../protocol.js';
import type { ServiceContext } from '../services/context.js';
import type { OperatorRole } from '../storage/operators.js';
import { checkCsrf, operatorOf, requireRole, type SignedInOperator } from './session.js';

/** Who may call a route: anyone (sign-in, the OpenAPI document) or an operator of a least role. */
export type Access = 'public' | OperatorRole;

export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly access: Access;
  readonly summary: string;
  readonly tag: string;
  readonly schema?: Omit<FastifySchema, 'summary' | 'tags'>;
  readonly handler: (
    request: FastifyRequest,
    reply: FastifyReply,
    signedIn: SignedInOperator | undefined,
  ) => Promise<unknown>;
}

/** The service context of a request: changes are audited as the signed-in operator. */
export function serviceContext(deps: AppDeps, request: FastifyRequest): ServiceContext {
  return {
    stores: deps.stores,
    clock: deps.clock,
    actor: `operator:${operatorOf(request).operator.id}`,
  };
}

/** Registers a route with its role check and, for changes, the CSRF header check. */
export function adminRoute(api: FastifyInstance, route: AdminRoute): void {
  api.route({
    method: route.method,
    url: route.url,
    schema: { ...route.schema, summary: route.summary, tags: [route.tag] },
    handler: async (request, reply) => {
      if (route.access === 'public') return route.handler(request, reply, undefined);
      const signedIn = requireRole(request, route.access);
      if (route.method !== 'GET') checkCsrf(request);
      return route.handler(request, reply, signedIn);
    },
  });
}

export const envParams = {
  type: 'object',
  required: ['env'],
  properties: { env: { type: 'string', maxLength: 64 } },
} as const;

export const clientParams = {
  type: 'object',
  required: ['env', 'clientId'],
  properties: {
    env: { type: 'string', maxLength: 64 },
    clientId: { type: 'string', maxLength: 200 },
  },
} as const;

export const GRANT_TYPE_SCHEMA = { type: 'string', enum: GRANT_TYPES } as const;
