import { activeAccessToken } from '../../services/access-token-status.js';
import { actingOperator } from '../../services/impersonation.js';
import { actClaim, REFRESH_TOKEN_PREFIX } from '../../tokens/issue.js';
import type { FastifyInstance } from 'fastify';
import { sha256 } from '../../crypto/random.js';
import { InvalidClient, InvalidRequest } from '../../errors.js';
import { authenticateClient } from '../../http/client-auth.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { formParams } from '../../http/form.js';

/**
 * POST /e/:env/introspect (RFC 7662), for authenticated (confidential) clients only. A client
 * learns about its own tokens, and the client linked to a registered resource about access
 * tokens for that resource's audience (RFC 7662 §2.1: the protected resource asks); anyone else
 * gets `active: false`, as for an unknown token.
 */
export function introspectEndpoint(app: FastifyInstance, deps: AppDeps): void {
  app.post('/e/:env/introspect', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const params = formParams(request);
    const { client } = await authenticateClient(deps, requestEnv.environment.name, request, params);
    // RFC 7662 §4: the endpoint must not become a token-validity oracle for anyone who asks.
    if (client.type !== 'web')
      throw new InvalidClient('introspection is for authenticated (confidential) clients');
    const token = params.token;
    if (token === undefined || token === '') throw new InvalidRequest('token is required');
    const env = requestEnv.environment.name;
    const now = deps.clock();
    reply.header('Cache-Control', 'no-store');

    // Refresh tokens are opaque and carry their prefix; anything else can only be an access token.
    if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
      const refresh = await deps.stores.tokens.findActiveRefresh(env, sha256(token), now);
      // A client learns only about its own tokens.
      if (refresh === undefined || refresh.clientId !== client.clientId) return { active: false };
      const user = await deps.stores.users.get(env, refresh.userId);
      if (user === undefined || user.disabled) return { active: false };
      const acting =
        refresh.impersonationId === null
          ? undefined
          : await actingOperator(deps, env, refresh.impersonationId);
      if (refresh.impersonationId !== null && acting === undefined) return { active: false };
      return {
        active: true,
        ...actClaim(acting),
        token_type: 'refresh_token',
        client_id: refresh.clientId,
        sub: refresh.userId,
        scope: refresh.scope.join(' '),
        iss: requestEnv.issuer,
        exp: Math.floor(refresh.expiresAt / 1000),
        iat: Math.floor(refresh.createdAt / 1000),
        // RFC 9449 §6.2: the key a bound refresh token must be rotated with.
        ...(refresh.dpopJkt == null ? {} : { cnf: { jkt: refresh.dpopJkt } }),
      };
    }
    const access = await activeAccessToken(deps, env, requestEnv.issuer, token);
    if (access === undefined) return { active: false };
    if (access.clientId !== client.clientId && !(await actsForAudience(deps, env, client, access)))
      return { active: false };
    // RFC 9449 §6.2: a bound token's `cnf` (in its claims) and `token_type` DPoP (RFC 7662 §2.2).
    const cnf = access.payload.cnf;
    const bound = typeof cnf === 'object' && cnf !== null && 'jkt' in cnf;
    return { active: true, token_type: bound ? 'DPoP' : 'Bearer', ...access.payload };
  });
}

/** Whether the client is linked to a registered resource that the token's `aud` names. */
async function actsForAudience(
  deps: AppDeps,
  environment: string,
  client: { readonly clientId: string },
  access: { readonly audiences: readonly string[] },
): Promise<boolean> {
  const resources = await deps.stores.resources.list(environment);
  return resources.some(
    (resource) => resource.clientId === client.clientId && access.audiences.includes(resource.uri),
  );
}
