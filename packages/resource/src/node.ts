/**
 * The `node:http` adapter: for a server written directly on `http.createServer`. Nothing here
 * imports a framework.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from './auth-info.js';
import { requestOf, scopesFor, type RequiredScopes } from './adapter-request.js';
import { isMetadataRequest, metadataResponse } from './metadata-route.js';
import {
  logScopesFailure,
  logUnavailable,
  scopesUndecided,
  writeResponse,
} from './node-response.js';
import type { ResourceServer } from './resource-server.js';

export interface RequireBearerOptions<Request = IncomingMessage> {
  /**
   * Scopes every one of which the token must hold, or a 403 `insufficient_scope` names them all
   * (RFC 6750 §3.1): a list, or a function of the request (its result is checked each time).
   */
  readonly requiredScopes?: RequiredScopes<Request>;
  /**
   * Told why a request was answered 503 (the authorization server's keys or metadata could not be
   * fetched, the revocation feed is stale, introspection failed, the DPoP replay store or nonce
   * source failed), or 500 (the `requiredScopes` function threw; node:http only, Express gets
   * that through `next(error)`). Default: `console.error`.
   */
  readonly onError?: (cause: unknown) => void;
}

/**
 * Returns `(req, res) => Promise<AuthInfo | undefined>`: the token's information, or undefined
 * after it has written the refusal (401/403/400, or 503 when the authorization server is
 * unavailable) to `res`. A `Bearer` token, or a `DPoP` one with its proof (RFC 9449 §7). The body
 * is never read: a token can only come in the `Authorization` header.
 */
export function requireBearer(
  resourceServer: ResourceServer,
  options: RequireBearerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<AuthInfo | undefined> {
  const authOptions = scopesFor(options.requiredScopes);
  const onError = options.onError ?? logUnavailable;
  return async (req, res) => {
    // A requiredScopes function of the application may throw: answered 500 here, since the caller
    // of this guard is often a `(req, res) => void` handler where a rejection goes unhandled.
    let scopes: Awaited<ReturnType<typeof authOptions>>;
    try {
      scopes = await authOptions(req);
    } catch (error) {
      (options.onError ?? logScopesFailure)(error);
      writeResponse(res, scopesUndecided);
      return undefined;
    }
    const outcome = await resourceServer.authenticate(requestOf(req, req.url), scopes);
    if (outcome.ok) {
      for (const [name, value] of Object.entries(outcome.headers)) res.setHeader(name, value);
      return outcome.auth;
    }
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
