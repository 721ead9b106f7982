import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, ServerError, UnsafeAuthorizationRequest } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { singleParams } from '../../http/form.js';
import { environmentContext } from '../../http/environment.js';
import { errorPage } from '../../pages/pages.js';
import { advance } from './flow.js';
import { redirectError } from '../../authorization/respond.js';
import { checkClient, checkParameters, checkRedirectUri, checkResource } from './steps.js';

/** GET /e/:env/authorize (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1). */
export function authorizeEndpoint(app: FastifyInstance, deps: AppDeps): void {
  // OIDC Core §3.1.2.1: the authorization endpoint supports GET and form POST alike.
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const ctx = await environmentContext(deps, request);
    let params: Record<string, string>;
    try {
      params = singleParams(request.method === 'POST' ? request.body : request.query);
    } catch {
      return showUnsafe(
        reply,
        ctx.environment.tier === 'development',
        new UnsafeAuthorizationRequest('This sign-in link is malformed.', {
          message: 'a parameter is repeated',
        }),
      );
    }
    let client;
    let redirectUri: string;
    try {
      client = await checkClient(deps, ctx, params, request.ip);
      redirectUri = await checkRedirectUri(deps, ctx, client, params.redirect_uri);
    } catch (error) {
      if (error instanceof UnsafeAuthorizationRequest)
        return showUnsafe(reply, ctx.environment.tier === 'development', error);
      throw error;
    }
    // From here the redirect URI is trusted: errors go back to the client with state and iss.
    const target = { redirectUri, state: params.state ?? null };
    try {
      const pending = checkParameters(client, params, redirectUri);
      await checkResource(deps, ctx, client, pending);
      return await advance(
        deps,
        ctx,
        request,
        reply,
        { ...pending, createdAt: deps.clock() },
        undefined,
      );
    } catch (error) {
      if (error instanceof OAuthError) return redirectError(reply, ctx, target, error);
      request.log.error({ err: error }, 'authorization request failed');
      return redirectError(reply, ctx, target, new ServerError());
    }
  };
  app.get('/e/:env/authorize', handler);
  app.post('/e/:env/authorize', handler);
}

function showUnsafe(reply: FastifyReply, development: boolean, error: UnsafeAuthorizationRequest) {
  return reply
    .status(400)
    .type('text/html; charset=utf-8')
    .send(
      errorPage(
        'Sign-in stopped',
        error.userMessage,
        development ? error.operatorDetail : undefined,
      ),
    );
}
