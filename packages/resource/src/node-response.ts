/** Writing to a Node `ServerResponse`: shared by the node:http and Express adapters. */
import type { ServerResponse } from 'node:http';
import type { PlainResponse } from './metadata-route.js';

export function writeResponse(res: ServerResponse, response: PlainResponse, head = false): void {
  res.writeHead(response.status, response.headers);
  res.end(head ? undefined : response.body);
}

/** A route's `requiredScopes` function threw: the application's fault, answered 500. */
export const scopesUndecided: PlainResponse = Object.freeze({
  status: 500,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    error: 'server_error',
    error_description: 'the resource could not decide which scopes this request needs',
  }),
});

/** The node:http adapter's default `onError` for a `requiredScopes` function that threw. */
export function logScopesFailure(cause: unknown): void {
  console.error('@gatehouse/resource: answered 500, the requiredScopes function threw', cause);
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
