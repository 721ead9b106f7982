import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from './metrics.js';

/** The client a request was made for, once client authentication or /authorize has found it. */
const clients = new WeakMap<FastifyRequest, string>();

/** Names the (registered) client of this request in its log line. */
export function noteClient(request: FastifyRequest, clientId: string): void {
  clients.set(request, clientId);
}

/** Probes come every few seconds: their lines are at `debug`, not to drown the others. */
const PROBES = new Set(['/healthz', '/readyz']);

const TOKEN_ROUTE = '/e/:env/token';

/**
 * One structured line per request, at `info`, written when the response is sent:
 *
 *   {"level":30,"time":…,"reqId":"req-1","route":"/e/:env/token","path":"/e/development/token",
 *    "method":"POST","status":200,
 *    "durationMs":4.2,"environment":"development","clientId":"dev_…","msg":"request"}
 *
 * Only the route template (`/e/:env/token`), the path of a matched route (its values are
 * environment names and ids, never a credential: codes, tokens and `state` travel in queries,
 * bodies and headers; an unmatched path is whatever a sender typed, so it is left out), the
 * status, the duration, the environment and the client id: never a query string, a header, a
 * body, a cookie, a code, a token, a secret, `state` or a password. The same hook counts the
 * request in the metrics, and a successful token response by its grant type.
 */
export function registerRequestLog(app: FastifyInstance, metrics: Metrics | undefined): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    const env = (request.params as { env?: unknown } | undefined)?.env;
    const environment = typeof env === 'string' ? env.slice(0, 64) : undefined;
    if (metrics !== undefined) {
      metrics.request(route, request.method, status, ms / 1000);
      if (route === TOKEN_ROUTE && status === 200 && environment !== undefined) {
        const grant = (request.body as { grant_type?: unknown } | undefined)?.grant_type;
        if (typeof grant === 'string') metrics.tokenIssued(grant, environment);
      }
    }
    const line = {
      route,
      ...(request.routeOptions.url === undefined
        ? {}
        : { path: request.url.split(/[?#]/, 1)[0]?.slice(0, 256) }),
      method: request.method,
      status,
      durationMs: Math.round(ms * 10) / 10,
      ...(environment === undefined ? {} : { environment }),
      ...(clients.has(request) ? { clientId: clients.get(request) } : {}),
    };
    if (PROBES.has(route)) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
    done();
  });
}
