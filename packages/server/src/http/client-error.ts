import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Answers a request Node's HTTP parser refused (a malformed line, headers too large, a timeout)
 * as Fastify's own handler does, but logs only the error's code: Fastify's handler logs the error
 * with the raw bytes received (`rawPacket`), which hold every header sent before the fault,
 * `Authorization` and `Cookie` among them.
 */
export function answerClientError(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Socket,
): void {
  // A reset connection is gone already (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 408
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : 400;
  this.log.trace({ code: error.code ?? 'unknown', status }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({
      error: 'invalid_request',
      error_description: 'malformed request',
    });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${body.length}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
