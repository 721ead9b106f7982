import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../http/deps.js';

/**
 * Probes for an orchestrator or load balancer, outside the environments:
 * - `/healthz`: the process is up and answering (nothing else is looked at);
 * - `/readyz`: it can serve (services/readiness.ts): 200 `{"status":"ok","checks":{…}}`, or 503
 *   `{"status":"unavailable","checks":{"database":"<why>",…}}` with each failed check's reason.
 */
export function healthEndpoints(app: FastifyInstance, deps: AppDeps): void {
  app.get('/healthz', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
    return { status: 'ok' };
  });
  app.get('/readyz', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
    if (deps.readiness === undefined) return { status: 'ok', checks: {} };
    const report = await deps.readiness();
    if (!report.ready) reply.code(503);
    return { status: report.ready ? 'ok' : 'unavailable', checks: report.checks };
  });
}
