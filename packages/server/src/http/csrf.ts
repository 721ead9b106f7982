import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Route options that check the form's CSRF token (from the body, so after parsing) on every hosted form. */
export function csrfChecked(app: FastifyInstance) {
  return {
    preHandler: (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      app.csrfProtection(request, reply, done);
    },
  };
}
