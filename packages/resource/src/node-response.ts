/** Writing to a Node `ServerResponse`: shared by the node:http and Express adapters. */
import type { ServerResponse } from 'node:http';
import type { PlainResponse } from './metadata-route.js';

export function writeResponse(res: ServerResponse, response: PlainResponse, head = false): void {
  res.writeHead(response.status, response.headers);
  res.end(head ? undefined : response.body);
}

/**
 * The default `onError`: a 503 with no log line would leave an operator guessing. The cause names
 * what failed (keys, metadata, the revocation feed, introspection), never a credential.
 */
export function logUnavailable(cause: unknown): void {
  console.error(
    '@gatehouse/resource: answered 503, the authorization server is unavailable',
    cause,
  );
}
