import type { FastifyError, FastifyInstance } from 'fastify';
import { OAuthError } from '../errors.js';
import { errorPage } from '../pages/pages.js';
import { UnknownEnvironment } from './environment.js';

/**
 * Serialises every error. Protocol errors get their RFC code; anything unexpected is logged and
 * answered with a bare server_error: a 5xx never exposes internals.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const wantsHtml = (request.headers.accept ?? '').includes('text/html');
    if (error instanceof UnknownEnvironment) {
      if (wantsHtml)
        return reply
          .status(404)
          .type('text/html; charset=utf-8')
          .send(errorPage('Not found', 'There is no such environment on this server.'));
      return reply.status(404).send({ error: 'not_found', error_description: error.message });
    }
    if (error instanceof OAuthError) {
      if (
        error.status === 401 &&
        error.code === 'invalid_client' &&
        /^basic /i.test(request.headers.authorization ?? '')
      ) {
        reply.header('WWW-Authenticate', 'Basic realm="gatehouse"');
      }
      return reply
        .status(error.status)
        .header('Cache-Control', 'no-store')
        .send({ error: error.code, error_description: error.description });
    }
    const fastifyError = error as FastifyError;
    if (
      fastifyError.code === 'FST_CSRF_INVALID_TOKEN' ||
      fastifyError.code === 'FST_CSRF_MISSING_SECRET'
    ) {
      return reply
        .status(403)
        .type('text/html; charset=utf-8')
        .send(
          errorPage(
            'Form expired',
            'This form expired or did not come from this site. Go back, reload the page and try again.',
          ),
        );
    }
    if (
      typeof fastifyError.statusCode === 'number' &&
      fastifyError.statusCode >= 400 &&
      fastifyError.statusCode < 500
    ) {
      return reply
        .status(fastifyError.statusCode)
        .send({ error: 'invalid_request', error_description: 'the request is malformed' });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({
      error: 'server_error',
      error_description: 'the server could not complete the request',
    });
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send({ error: 'not_found', error_description: 'no such endpoint' }),
  );
}
