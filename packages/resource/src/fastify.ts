/**
 * The Fastify adapter (Fastify 5). Only types come from `fastify`, an optional peer dependency.
 */
import type {
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
} from 'fastify';
import type { AuthInfo } from './auth-info.js';
import { requestOf, scopesFor, type RequiredScopes } from './adapter-request.js';
import { isMetadataRequest, metadataResponse } from './metadata-route.js';
import type { ResourceServer } from './resource-server.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token, set by a `requireBearer` hook. */
    auth?: AuthInfo;
  }
}

export interface RequireBearerOptions {
  /**
   * Scopes every one of which the token must hold, or a 403 `insufficient_scope` names them all
   * (RFC 6750 §3.1): a list, or a function of the request (in `preHandler`, the body is parsed).
   */
  readonly requiredScopes?: RequiredScopes<FastifyRequest>;
  /** Told why a request was answered 503. Default: the request's logger, at error level. */
  readonly onError?: (cause: unknown, request: FastifyRequest) => void;
}

export interface ProtectedResourceOptions {
  readonly resourceServer: ResourceServer;
  /**
   * Close the resource server (stop following the revocation feed) when the app closes.
   * Default true; set false when the resource server outlives this app.
   */
  readonly closeWithApp?: boolean;
}

/**
 * A hook for `onRequest` (or `preHandler`, where a parsed body is then checked for a refused
 * `access_token` field) that sets `request.auth` or answers 401/403/400 (503 when the keys
 * cannot be had, or the revocation feed is stale). Use it per route (`{ onRequest: requireBearer(rs) }`) or for a whole
 * encapsulated context (`app.addHook('onRequest', requireBearer(rs))`).
 */
export function requireBearer(
  resourceServer: ResourceServer,
  options: RequireBearerOptions = {},
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const authOptions = scopesFor(options.requiredScopes);
  const onError =
    options.onError ??
    ((cause: unknown, request: FastifyRequest) => {
      request.log.error({ err: cause }, 'answered 503, the authorization server is unavailable');
    });
  return async (request, reply) => {
    const outcome = await resourceServer.authenticate(
      requestOf(request.raw, request.url, request.body),
      await authOptions(request),
    );
    if (outcome.ok) {
      void reply.headers(outcome.headers);
      request.auth = outcome.auth;
      return undefined;
    }
    const { failure } = outcome;
    if (failure.status === 503) onError(failure.cause, request);
    // Returning the reply tells Fastify the hook has answered and the route must not run.
    return reply.code(failure.status).headers(failure.headers).send(failure.body);
  };
}

/**
 * Serves the RFC 9728 metadata document at its path and declares `request.auth`. Registered
 * without encapsulation (like a `fastify-plugin` plugin), so both apply to the whole app. The
 * resource server is closed with the app (`onClose`) unless `closeWithApp` is false.
 */
const plugin: FastifyPluginCallback<ProtectedResourceOptions> = (app, options, done) => {
  const { resourceServer } = options;
  app.decorateRequest('auth', undefined);
  if (options.closeWithApp !== false)
    app.addHook('onClose', async () => {
      await resourceServer.close();
    });
  const handler: RouteHandlerMethod = (request, reply) => {
    if (!isMetadataRequest(resourceServer, request.url)) {
      reply.callNotFound();
      return reply;
    }
    const response = metadataResponse(resourceServer, request.method);
    return reply.code(response.status).headers(response.headers).send(response.body);
  };
  // HEAD comes with GET (Fastify's exposeHeadRoutes).
  app.route({
    method: ['GET', 'OPTIONS'],
    url: new URL(resourceServer.metadataUrl).pathname,
    handler,
  });
  done();
};

export const protectedResource = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@gatehouse/resource',
});

export type { AuthInfo } from './auth-info.js';
