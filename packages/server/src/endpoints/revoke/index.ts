import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { sha256 } from '../../crypto/random.js';
import { InvalidRequest } from '../../errors.js';
import { authenticateClient } from '../../http/client-auth.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { singleParams } from '../../http/form.js';

/** POST /e/:env/revoke (RFC 7009). Answers 200 for unknown tokens too (§2.2). */
export function revokeEndpoint(app: FastifyInstance, deps: AppDeps): void {
  app.post('/e/:env/revoke', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const params = singleParams(request.body);
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
      await deps.stores.tokens.revokeFamily(env, refresh.familyId, now);
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
    const payload = await deps.signer
      .verify(env, token, { issuer: requestEnv.issuer, typ: 'at+jwt' })
      .catch(() => undefined);
    // An expired token needs no revoking; a token that verifies and belongs to this client does.
    const jti = payload?.jti ?? safeJti(token);
    if (jti !== undefined) {
      const record = await deps.stores.tokens.findAccess(env, jti);
      if (record !== undefined && payload !== undefined && record.clientId !== client.clientId)
        throw notYours;
      if (record !== undefined && payload !== undefined) {
        await deps.stores.tokens.revokeAccess(env, jti, now);
        await deps.stores.audit.append(
          {
            environment: env,
            type: 'token.revoked',
            actor: `client:${client.clientId}`,
            clientId: client.clientId,
            userId: record.userId,
            data: { kind: 'access_token', jti },
          },
          now,
        );
      }
    }
    return reply.header('Cache-Control', 'no-store').send();
  });
}

function safeJti(token: string): string | undefined {
  try {
    const jti = decodeJwt(token).jti;
    return typeof jti === 'string' && /^[\w-]{1,64}$/.test(jti) ? jti : undefined;
  } catch {
    return undefined;
  }
}
