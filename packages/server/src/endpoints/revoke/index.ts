import type { FastifyInstance } from 'fastify';
import { sha256 } from '../../crypto/random.js';
import { InvalidRequest, TemporarilyUnavailable } from '../../errors.js';
import { authenticateClient } from '../../http/client-auth.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { formParams } from '../../http/form.js';
import { activeAccessToken } from '../../services/access-token-status.js';
import { recordRevocation } from '../../services/revocation.js';

/** POST /e/:env/revoke (RFC 7009). Answers 200 for unknown tokens too (§2.2). */
export function revokeEndpoint(app: FastifyInstance, deps: AppDeps): void {
  app.post('/e/:env/revoke', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const params = formParams(request);
    const { client } = await authenticateClient(deps, requestEnv.environment.name, request, params);
    const token = params.token;
    if (token === undefined || token === '') throw new InvalidRequest('token is required');
    const env = requestEnv.environment.name;
    const now = deps.clock();

    const refresh = await deps.stores.tokens.findActiveRefresh(env, sha256(token), now);
    // RFC 7009 §2.1: the server verifies the token was issued to the requesting client.
    const notYours = new InvalidRequest('the token was not issued to this client');
    if (refresh !== undefined) {
      if (refresh.clientId !== client.clientId) throw notYours;
      // RFC 7009 §2.1: revoking a refresh token revokes the access tokens of its grant too. The
      // family is the grant (`grant_id`): its rows are refused here, its access tokens everywhere.
      await deps.stores.tokens.revokeFamily(env, refresh.familyId, now);
      await recordRevocation(deps, env, 'grant', refresh.familyId);
      await deps.stores.audit.append(
        {
          environment: env,
          type: 'token.revoked',
          actor: `client:${client.clientId}`,
          clientId: client.clientId,
          userId: refresh.userId,
          data: { kind: 'refresh_token', familyId: refresh.familyId },
        },
        now,
      );

      return reply.header('Cache-Control', 'no-store').send();
    }
    // An access token has no row: one in force (it verifies, has not expired and nothing revoked
    // it yet) is revoked by an event; anything else needs no revoking (RFC 7009 §2.2: still 200).
    const access = await activeAccessToken(deps, env, requestEnv.issuer, token);
    if (access !== undefined) {
      if (access.clientId !== client.clientId) throw notYours;
      // Every event reaches every resource server of the environment, which keeps it until it
      // expires: a client that mints and revokes tokens in a loop is held to a bound. RFC 7009
      // §2.2.1: a 503 tells it the token still stands and to retry after the delay.
      const allowed = await deps.revocationLimiter.reserve(`revoke:${env}:${client.clientId}`, now);
      if (!allowed.granted)
        throw new TemporarilyUnavailable(
          'too many access-token revocations by this client for now',
          Math.ceil(allowed.retryAfterMs / 1000),
          503,
        );
      await recordRevocation(deps, env, 'token', access.jti);
      await deps.stores.audit.append(
        {
          environment: env,
          type: 'token.revoked',
          actor: `client:${client.clientId}`,
          clientId: client.clientId,
          userId: access.user?.id ?? null,
          data: { kind: 'access_token', jti: access.jti },
        },
        now,
      );
    }
    return reply.header('Cache-Control', 'no-store').send();
  });
}
