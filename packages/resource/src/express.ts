/**
 * The Express adapter (Express 4 and 5). Only types come from `express`, an optional peer
 * dependency: at run time this is plain `node:http` work.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthInfo } from './auth-info.js';
import { isMetadataRequest, metadataResponse } from './metadata-route.js';
import { requestOf, scopesFor } from './adapter-request.js';
import type { RequireBearerOptions as NodeOptions } from './node.js';
import { logUnavailable, writeResponse } from './node-response.js';
import type { ResourceServer } from './resource-server.js';

/** `requiredScopes` (a list, or a function of the Express request), `onError`. */
export type RequireBearerOptions = NodeOptions<Request>;

declare module 'express-serve-static-core' {
  interface Request {
    /**
     * The verified access token, set by `requireBearer`. Declared exactly as the MCP SDK's
     * `requireBearerAuth` declares it, so the two declarations merge.
     */
    auth?: AuthInfo;
  }
}

/**
 * Middleware that lets a request through with `req.auth` set, or answers 401/403/400 (503 when
 * the authorization server is unavailable). A `Bearer` token, or a `DPoP` one with its proof
 * (RFC 9449 §7). A body a parser has already read is checked for an `access_token` field, which
 * is refused; nothing is read from it.
 */
export function requireBearer(
  resourceServer: ResourceServer,
  options: RequireBearerOptions = {},
): RequestHandler {
  const authOptions = scopesFor(options.requiredScopes);
  const onError = options.onError ?? logUnavailable;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    // A requiredScopes function of the application may throw: handed to Express's error
    // handling. Express 4 ignores the promise a middleware returns, so a rejection would go
    // unhandled (and end the process).
    let scopes: Awaited<ReturnType<typeof authOptions>>;
    try {
      scopes = await authOptions(req);
    } catch (error) {
      next(error);
      return;
    }
    const outcome = await resourceServer.authenticate(
      // originalUrl: the query is checked, and the DPoP htu matched, wherever the middleware is
      // mounted.
      requestOf(req, req.originalUrl, req.body as unknown),
      scopes,
    );
    if (outcome.ok) {
      for (const [name, value] of Object.entries(outcome.headers)) res.setHeader(name, value);
      req.auth = outcome.auth;
      next();
      return;
    }
    if (outcome.failure.status === 503) onError(outcome.failure.cause);
    writeResponse(res, outcome.failure);
  };
}

/** Middleware serving the RFC 9728 metadata document at its path; `app.use()` it at the root. */
export function metadataMiddleware(resourceServer: ResourceServer): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!isMetadataRequest(resourceServer, req.originalUrl)) {
      next();
      return;
    }
    writeResponse(res, metadataResponse(resourceServer, req.method), req.method === 'HEAD');
  };
}

export type { AuthInfo } from './auth-info.js';
