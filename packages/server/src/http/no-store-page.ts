import type { FastifyReply } from 'fastify';

/**
 * Sends a server-rendered page that shows one user's state (their sessions, grants, sign-out),
 * with `Cache-Control: no-store` so no shared or browser cache keeps it for the next person.
 */
export function sendNoStorePage(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('Cache-Control', 'no-store')
    .send(body);
}
