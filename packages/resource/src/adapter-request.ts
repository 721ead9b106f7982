/**
 * What every adapter does with a request: one path from Node's `IncomingMessage` (Express and
 * Fastify requests are, or wrap, one) to what `authenticate` needs, so `node:http`, Express and
 * Fastify check the same headers, method and URL; and a route's required scopes, fixed or
 * computed per request.
 */
import type { IncomingMessage } from 'node:http';
import { headerValues, type BearerRequest } from './bearer-token.js';
import { requiredScopesOption, type AuthenticateOptions } from './resource-server.js';

/**
 * The scopes a route needs (RFC 6750 §3.1): a fixed list, or a function of the request for a route
 * whose needs depend on what is asked (an MCP `tools/call` naming a tool, say). Every one must be
 * granted; a refusal's `scope` names them all.
 */
export type RequiredScopes<Request> =
  readonly string[] | ((request: Request) => readonly string[] | Promise<readonly string[]>);

/**
 * `target` is the request target as the framework sees it from the application's root (Express's
 * `originalUrl`), path and query: the query is checked for a token, the path goes into the URI a
 * DPoP proof's `htu` must name. `body` is given only when a framework has parsed one.
 */
export function requestOf(
  raw: IncomingMessage,
  target: string | undefined,
  body?: unknown,
): BearerRequest {
  return {
    authorization: headerValues(raw.rawHeaders, 'authorization'),
    dpop: headerValues(raw.rawHeaders, 'dpop'),
    ...(raw.method === undefined ? {} : { method: raw.method }),
    ...(target === undefined ? {} : { url: target }),
    ...(body === undefined ? {} : { body }),
  };
}

/** Checks fixed scopes once, when the route is set up; a function's result on each request. */
export function scopesFor<Request>(
  required: RequiredScopes<Request> | undefined,
): (request: Request) => Promise<AuthenticateOptions> {
  if (typeof required !== 'function') {
    const fixed = requiredScopesOption({ requiredScopes: required ?? [] });
    return () => Promise.resolve(fixed);
  }
  return async (request) => requiredScopesOption({ requiredScopes: await required(request) });
}
