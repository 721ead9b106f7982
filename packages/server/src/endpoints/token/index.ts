import type { FastifyInstance } from 'fastify';
import { GRANTS } from '../../grants/index.js';
import {
  InvalidDpopProof,
  InvalidRequest,
  UnauthorizedClient,
  UnsupportedGrantType,
} from '../../errors.js';
import { authenticateClient } from '../../http/client-auth.js';
import type { AppDeps } from '../../http/deps.js';
import { checkDpopProof, sendDpopNonce } from '../../http/dpop.js';
import { environmentContext } from '../../http/environment.js';
import { formParams } from '../../http/form.js';
import type { GrantType } from '../../storage/clients.js';

/**
 * POST /e/:env/token (RFC 6749 §3.2). A DPoP proof (RFC 9449 §5) is verified before the grant
 * runs, which binds what it issues to the proof's key. Every proof here must carry a nonce this
 * server provided (RFC 9449 §8): a client's first proof is answered `use_dpop_nonce` with the
 * nonce, and clients retry with it (openid-client does at once; oauth4webapi keeps the nonce for
 * the next request); a fresh nonce rides on every answer to a request with a proof.
 */
export function tokenEndpoint(app: FastifyInstance, deps: AppDeps): void {
  app.post('/e/:env/token', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const params = formParams(request);
    const grantType = params.grant_type;
    if (grantType === undefined) throw new InvalidRequest('grant_type is required');
    if (!Object.hasOwn(GRANTS, grantType))
      throw new UnsupportedGrantType(`grant_type ${grantType.slice(0, 64)} is not supported`);
    const { client } = await authenticateClient(deps, requestEnv.environment.name, request, params);
    if (!client.grantTypes.includes(grantType as GrantType))
      throw new UnauthorizedClient(`this client may not use ${grantType}`);
    const dpop = await checkDpopProof(deps, request, requestEnv, {
      endpoint: '/token',
      answer: 'token-endpoint',
      requireNonce: true,
      clientId: client.clientId,
    });
    // RFC 9449 §5.2 (dpop_bound_access_tokens): a client that must use DPoP, by its own setting
    // or its environment's, is refused a token request without a proof.
    if (dpop === undefined && (client.requireDpop || requestEnv.environment.requireDpop))
      throw new InvalidDpopProof(
        'this client must send a DPoP proof with every token request (RFC 9449)',
      );
    const response = await GRANTS[grantType as GrantType]({
      deps,
      requestEnv,
      client,
      params,
      ...(dpop === undefined ? {} : { dpop }),
    });
    if (dpop !== undefined) sendDpopNonce(deps, requestEnv, reply);
    return reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(response);
  });
}
