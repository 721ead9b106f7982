import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import { createOperator, operatorView, setOperatorDisabled } from '../services/operators.js';
import { OPERATOR_ROLES } from '../storage/operators.js';
import { adminRoute, serviceContext } from './route.js';
import { many, one } from './schemas.js';

export function operatorRoutes(api: FastifyInstance, deps: AppDeps): void {
  const tag = 'operators';
  adminRoute(api, {
    method: 'GET',
    url: '/operators',
    access: 'viewer',
    tag,
    summary: 'The operators of this Gatehouse',
    schema: { response: { 200: many('operators', 'Operator') } },
    handler: async () => ({ operators: (await deps.stores.operators.list()).map(operatorView) }),
  });

  adminRoute(api, {
    method: 'POST',
    url: '/operators',
    access: 'admin',
    tag,
    summary: 'Create an operator',
    schema: {
      response: { 201: one('operator', 'Operator') },
      body: {
        type: 'object',
        required: ['email', 'role', 'password'],
        additionalProperties: false,
        properties: {
          email: { type: 'string', maxLength: 320 },
          role: { type: 'string', enum: [...OPERATOR_ROLES] },
          password: { type: 'string', maxLength: 1024 },
        },
      },
    },
    handler: async (request, reply) => {
      const body = request.body as { email: string; role: string; password: string };
      const operator = await createOperator(serviceContext(deps, request), body);
      return reply.status(201).send({ operator: operatorView(operator) });
    },
  });

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    adminRoute(api, {
      method: 'POST',
      url: `/operators/:id/${action}`,
      access: 'admin',
      tag,
      summary: disabled ? 'Disable an operator; their sessions end at once' : 'Enable an operator',
      schema: {
        response: { 200: one('operator', 'Operator') },
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', maxLength: 320 } },
        },
      },
      handler: async (request) => {
        const { id } = request.params as { id: string };
        return {
          operator: operatorView(
            await setOperatorDisabled(serviceContext(deps, request), id, disabled),
          ),
        };
      },
    });
  }
}
