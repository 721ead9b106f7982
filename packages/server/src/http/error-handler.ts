import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { OAuthError, ServerError } from '../errors.js';
import { errorPage } from '../pages/pages.js';
import { UnknownEnvironment } from './environment.js';

/**
 * Sends a protocol error as JSON: its status, its headers (a `WWW-Authenticate` challenge when
 * the error asks for one, `Cache-Control: no-store`) and its body (RFC 6749 §5.2, RFC 6750 §3).
 */
export function sendOAuthError(
  reply: FastifyReply,
  error: OAuthError,
  authorization: string | undefined,
): FastifyReply {
  return reply.status(error.status).headers(error.headers(authorization)).send(error.json());
}

/** Shows a protocol error that may not be redirected as a page (RFC 6749 §4.1.2.1). */
export function sendErrorPage(
  reply: FastifyReply,
  error: OAuthError,
  development: boolean,
): FastifyReply {
  return reply.status(error.status).type('text/html; charset=utf-8').send(error.page(development));
}

/**
 * Serialises every error. Protocol errors render themselves; anything unexpected is logged and
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
    if (error instanceof OAuthError)
      return sendOAuthError(reply, error, request.headers.authorization);
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
    return reply.status(500).send(new ServerError().json());
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send({ error: 'not_found', error_description: 'no such endpoint' }),
  );
}
