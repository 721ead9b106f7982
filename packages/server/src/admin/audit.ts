import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import { AdminError } from './errors.js';
import { adminRoute } from './route.js';
import { answer, ref } from './schemas.js';
import { auditView } from './views.js';

interface AuditQuery {
  environment?: string;
  type?: string;
  clientId?: string;
  userId?: string;
  operator?: string;
  since?: number;
  until?: number;
  before?: number;
  limit?: number;
}

export function auditRoutes(api: FastifyInstance, deps: AppDeps): void {
  adminRoute(api, {
    method: 'GET',
    url: '/audit',
    access: 'viewer',
    tag: 'audit',
    summary: 'Audit entries, newest first, with the state of the hash chain',
    schema: {
      response: {
        200: answer({
          entries: { type: 'array', items: ref('AuditEntry') },
          verification: ref('AuditVerification'),
        }),
      },
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          environment: { type: 'string', maxLength: 64 },
          type: { type: 'string', maxLength: 100 },
          clientId: { type: 'string', maxLength: 200 },
          userId: { type: 'string', maxLength: 320 },
          operator: { type: 'string', maxLength: 320, description: 'operator id or email' },
          since: { type: 'integer', minimum: 0 },
          until: { type: 'integer', minimum: 0 },
          before: { type: 'integer', minimum: 1 },
          limit: { type: 'integer', minimum: 1, maximum: 500 },
        },
      },
    },
    handler: async (request) => {
      const q = request.query as AuditQuery;
      let actor: string | undefined;
      if (q.operator !== undefined && q.operator !== '') {
        const operator = q.operator.includes('@')
          ? await deps.stores.operators.findByEmail(q.operator)
          : await deps.stores.operators.get(q.operator);
        if (operator === undefined)
          throw new AdminError(404, 'unknown_operator', `no operator ${q.operator}`);
        actor = `operator:${operator.id}`;
      }
      const entries = await deps.stores.audit.tail({
        limit: q.limit ?? 100,
        ...(q.environment ? { environment: q.environment } : {}),
        ...(q.type ? { type: q.type } : {}),
        ...(q.clientId ? { clientId: q.clientId } : {}),
        ...(q.userId ? { userId: q.userId } : {}),
        ...(actor === undefined ? {} : { actor }),
        ...(q.since === undefined ? {} : { since: q.since }),
        ...(q.until === undefined ? {} : { until: q.until }),
        ...(q.before === undefined ? {} : { before: q.before }),
      });
      return {
        entries: entries.reverse().map(auditView),
        verification: await deps.stores.audit.verify(),
      };
    },
  });
}
