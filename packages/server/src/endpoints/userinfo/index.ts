import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { userClaims } from '../../tokens/issue.js';

/** GET or POST /e/:env/userinfo (OIDC Core §5.3), with a Bearer access token (RFC 6750 §2.1). */
export function userinfoEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const ctx = await environmentContext(deps, request);
    const header = request.headers.authorization;
    const token =
      header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    const fail = (status: number, error: string, description: string) =>
      reply
        .status(status)
        .header(
          'WWW-Authenticate',
          `Bearer realm="${ctx.issuer}", error="${error}", error_description="${description}"`,
        )
        .header('Cache-Control', 'no-store')
        .send({ error, error_description: description });
    if (token === undefined || token === '') {
      return reply
        .status(401)
        .header('WWW-Authenticate', `Bearer realm="${ctx.issuer}"`)
        .send({ error: 'invalid_request', error_description: 'a Bearer access token is required' });
    }
    const env = ctx.environment.name;
    const payload = await deps.signer.verify(env, token, { issuer: ctx.issuer, typ: 'at+jwt' });
    if (
      payload?.jti === undefined ||
      payload.sub === undefined ||
      !(await deps.stores.tokens.isAccessActive(env, payload.jti, deps.clock()))
    ) {
      return fail(401, 'invalid_token', 'the access token is invalid, expired or revoked');
    }
    // Tokens for another audience (an API named by `resource`) are not for userinfo.
    const audience = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audience.includes(ctx.issuer))
      return fail(401, 'invalid_token', 'the access token is for another audience');
    const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scope.includes('openid'))
      return fail(403, 'insufficient_scope', 'the openid scope is required');
    const user = await deps.stores.users.get(env, payload.sub);
    if (user === undefined || user.disabled)
      return fail(401, 'invalid_token', 'the user is no longer allowed to sign in');
    return reply
      .header('Cache-Control', 'no-store')
      .send({ sub: user.id, ...userClaims(user, scope) });
  };
  app.get('/e/:env/userinfo', handler);
  app.post('/e/:env/userinfo', handler);
}
