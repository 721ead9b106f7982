/**
 * The `node:http` adapter: for a server written directly on `http.createServer`. Nothing here
 * imports a framework.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from './auth-info.js';
import { authorizationHeaders } from './bearer-token.js';
import { isMetadataRequest, metadataResponse } from './metadata-route.js';
import { logUnavailable, writeResponse } from './node-response.js';
import {
  requiredScopesOption,
  type AuthenticateOptions,
  type ResourceServer,
} from './resource-server.js';

export interface RequireBearerOptions extends AuthenticateOptions {
  /**
   * Told why a request was answered 503 (the authorization server's keys or metadata could not be
   * fetched, the revocation feed is stale, introspection failed).
   * Default: `console.error`.
   */
  readonly onError?: (cause: unknown) => void;
}

/**
 * Returns `(req, res) => Promise<AuthInfo | undefined>`: the token's information, or undefined
 * after it has written the refusal (401/403/400, or 503 when the authorization server is unavailable) to `res`.
 * The body is never read: a token can only come in the `Authorization` header.
 */
export function requireBearer(
  resourceServer: ResourceServer,
  options: RequireBearerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<AuthInfo | undefined> {
  const authOptions = requiredScopesOption(options);
  const onError = options.onError ?? logUnavailable;
  return async (req, res) => {
    const outcome = await resourceServer.authenticate(
      {
        authorization: authorizationHeaders(req.rawHeaders),
        ...(req.url === undefined ? {} : { url: req.url }),
      },
      authOptions,
    );
    if (outcome.ok) return outcome.auth;
    if (outcome.failure.status === 503) onError(outcome.failure.cause);
    writeResponse(res, outcome.failure);
    return undefined;
  };
}

/**
 * Returns `(req, res) => boolean`: answers a request for the RFC 9728 metadata document and
 * returns true, or returns false without touching `res` for any other path.
 */
export function metadataHandler(
  resourceServer: ResourceServer,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (!isMetadataRequest(resourceServer, req.url ?? '/')) return false;
    const method = req.method ?? 'GET';
    writeResponse(res, metadataResponse(resourceServer, method), method === 'HEAD');
    return true;
  };
}

export type { AuthInfo } from './auth-info.js';
