import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BearerTokenRequired, InsufficientScope, InvalidToken } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { activeAccessToken } from '../../services/access-token-status.js';
import { environmentContext } from '../../http/environment.js';
import { userClaims } from '../../tokens/issue.js';

/**
 * GET or POST /e/:env/userinfo (OIDC Core §5.3), with a Bearer access token (RFC 6750 §2.1).
 * Refusals are thrown as RFC 6750 §3.1 errors with the issuer as realm; the error handler sends
 * the challenge.
 */
export function userinfoEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const requestEnv = await environmentContext(deps, request);
    const realm = { realm: requestEnv.issuer };
    const header = request.headers.authorization;
    const token =
      header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    if (token === undefined || token === '') throw new BearerTokenRequired(realm);
    const env = requestEnv.environment.name;
    // Revoked, its user disabled or gone, its client deleted: all "invalid" alike.
    const access = await activeAccessToken(deps, env, requestEnv.issuer, token);
    if (access === undefined)
      throw new InvalidToken('the access token is invalid, expired or revoked', realm);
    // Tokens for another audience (an API named by `resource`) are not for userinfo.
    if (!access.audiences.includes(requestEnv.issuer))
      throw new InvalidToken('the access token is for another audience', realm);
    const { payload, user } = access;
    const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scope.includes('openid'))
      throw new InsufficientScope('the openid scope is required', realm);
    // A client's own token (client_credentials) has no user to describe.
    if (user === undefined)
      throw new InvalidToken('the user is no longer allowed to sign in', realm);
    return reply
      .header('Cache-Control', 'no-store')
      .send({ sub: user.id, ...userClaims(user, scope) });
  };
  app.get('/e/:env/userinfo', handler);
  app.post('/e/:env/userinfo', handler);
}
