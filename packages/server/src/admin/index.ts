import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import { InputError } from '../services/input-error.js';
import { auditRoutes } from './audit.js';
import { clientRoutes } from './clients.js';
import { environmentRoutes } from './environments.js';
import { AdminError, fromInputError } from './errors.js';
import { impersonationRoutes } from './impersonations.js';
import { operatorRoutes } from './operators.js';
import { redirectReportRoutes } from './redirect-report.js';
import { resourceRoutes } from './resources.js';
import { adminRoute } from './route.js';
import { ref, refResolver, registerAnswerSchemas } from './schemas.js';
import { authenticate, operatorOf, signInOperator, signOutOperator } from './session.js';
import { userRoutes } from './users.js';

/**
 * Where the console's build is, seen from this file once compiled (dist/admin/index.js). In the
 * repository checkout: the console workspace's own build, packages/console/dist, so a rebuild is
 * served at once. Installed from the registry: the copy the package carries in dist/console/ (put
 * there when it is packed, by tools/pack-files.mjs).
 */
export const DEFAULT_CONSOLE_DIR = ((): string => {
  const workspace = new URL('../../../console/', import.meta.url);
  if (existsSync(fileURLToPath(new URL('package.json', workspace))))
    return fileURLToPath(new URL('dist/', workspace));
  return fileURLToPath(new URL('../console/', import.meta.url));
})();

/** The console is a script-driven app: it may load its own scripts and call its own API. */
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function sendError(error: AdminError, reply: FastifyReply) {
  return reply.status(error.status).send({
    error: error.code,
    message: error.message,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

async function adminApi(api: FastifyInstance, deps: AppDeps): Promise<void> {
  await api.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Gatehouse admin API',
        version: '1',
        description:
          'Operators manage environments, clients, redirect URIs, users, impersonation and the audit log. Sign in with POST /session; send the returned csrfToken in the X-Gatehouse-CSRF header on every change.',
      },
      servers: [{ url: '/admin/api' }],
      components: {
        securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'gh_admin' } },
      },
      security: [{ session: [] }],
    },
    refResolver,
  });
  registerAnswerSchemas(api);

  // JSON only: a cross-site HTML form can send urlencoded bodies without asking, never JSON.
  api.addHook('onRequest', async (request) => {
    const type = request.headers['content-type'];
    if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type))
      throw new AdminError(
        415,
        'unsupported_media_type',
        'request bodies must be application/json',
      );
    await authenticate(deps, request);
  });
  api.addHook('onSend', async (_request, reply, payload) => {
    reply.header('Cache-Control', 'no-store');
    return payload;
  });
  api.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof AdminError) return sendError(error, reply);
    if (error instanceof InputError) return sendError(fromInputError(error), reply);
    const fastifyError = error as FastifyError;
    if (fastifyError.validation !== undefined)
      return sendError(new AdminError(400, 'invalid_request', fastifyError.message), reply);
    if (
      typeof fastifyError.statusCode === 'number' &&
      fastifyError.statusCode >= 400 &&
      fastifyError.statusCode < 500
    )
      return sendError(
        new AdminError(fastifyError.statusCode, 'invalid_request', 'the request is malformed'),
        reply,
      );
    request.log.error({ err: error }, 'unhandled admin API error');
    return sendError(
      new AdminError(500, 'server_error', 'something went wrong on the server'),
      reply,
    );
  });
  api.setNotFoundHandler((_request, reply) =>
    sendError(new AdminError(404, 'not_found', 'no such admin API endpoint'), reply),
  );

  const sessionBody = (signed: {
    operator: { id: string; email: string; role: string };
    csrfToken: string;
  }) => ({
    operator: { id: signed.operator.id, email: signed.operator.email, role: signed.operator.role },
    csrfToken: signed.csrfToken,
  });
  adminRoute(api, {
    method: 'POST',
    url: '/session',
    access: 'public',
    tag: 'session',
    summary: 'Sign in as an operator',
    schema: {
      security: [],
      response: { 200: ref('Session') },
      body: {
        type: 'object',
        required: ['email', 'password'],
        additionalProperties: false,
        properties: {
          email: { type: 'string', maxLength: 320 },
          password: { type: 'string', maxLength: 1024 },
        },
      },
    },
    handler: async (request, reply) => {
      const body = request.body as { email: string; password: string };
      return sessionBody(await signInOperator(deps, request, reply, body.email, body.password));
    },
  });
  adminRoute(api, {
    method: 'GET',
    url: '/session',
    access: 'viewer',
    tag: 'session',
    summary: 'The signed-in operator and the CSRF token for changes',
    schema: { response: { 200: ref('Session') } },
    handler: (request) => Promise.resolve(sessionBody(operatorOf(request))),
  });
  adminRoute(api, {
    method: 'DELETE',
    url: '/session',
    access: 'viewer',
    tag: 'session',
    summary: 'Sign out',
    handler: async (request, reply) => {
      await signOutOperator(deps, request, reply);
      return reply.status(204).send();
    },
  });

  environmentRoutes(api, deps);
  clientRoutes(api, deps);
  redirectReportRoutes(api, deps);
  userRoutes(api, deps);
  impersonationRoutes(api, deps);
  auditRoutes(api, deps);
  operatorRoutes(api, deps);
  resourceRoutes(api, deps);

  adminRoute(api, {
    method: 'GET',
    url: '/openapi.json',
    access: 'public',
    tag: 'meta',
    summary: 'This description (OpenAPI 3)',
    schema: { security: [] },
    handler: () => Promise.resolve(api.swagger()),
  });
}

/** The console's single page and its assets, under /admin. */
async function adminConsole(app: FastifyInstance, consoleDir: string): Promise<void> {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('Content-Security-Policy', CONSOLE_CSP);
    return payload;
  });
  const built = existsSync(`${consoleDir}/index.html`);
  if (built) {
    await app.register(fastifyStatic, {
      root: `${consoleDir}/assets`,
      prefix: '/admin/assets/',
      maxAge: '365d',
      immutable: true,
      index: false,
    });
  }
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    // Unknown API paths are not pages of the single-page app.
    if (request.url.startsWith('/admin/api/'))
      return reply.status(404).send({ error: 'not_found', message: 'no such admin API endpoint' });
    if (!built)
      return reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('The admin console is not built. Run `npm run build` in the Gatehouse checkout.');
    // The page names the hashed assets of one build, so it must never outlive that build: cached
    // for a year like the assets, a fixed console would never reach an operator's browser. It is
    // revalidated on every load (ETag, Last-Modified); the assets it names stay immutable.
    return reply
      .type('text/html; charset=utf-8')
      .header('Cache-Control', 'no-cache')
      .sendFile('index.html', consoleDir, { cacheControl: false });
  };
  app.get('/admin', page);
  app.get('/admin/*', page);
}

export async function registerAdmin(
  app: FastifyInstance,
  deps: AppDeps,
  consoleDir: string = DEFAULT_CONSOLE_DIR,
): Promise<void> {
  await app.register(async (api) => adminApi(api, deps), { prefix: '/admin/api' });
  await app.register(async (ui) => adminConsole(ui, consoleDir));
}
