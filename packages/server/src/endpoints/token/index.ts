import type { FastifyInstance } from 'fastify';
import { GRANTS } from '../../grants/index.js';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from '../../errors.js';
import { authenticateClient } from '../../http/client-auth.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { formParams } from '../../http/form.js';
import type { GrantType } from '../../storage/clients.js';

/** POST /e/:env/token (RFC 6749 §3.2). */
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
    const response = await GRANTS[grantType as GrantType]({
      deps,
      requestEnv,
      client,
      params,
    });
    return reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(response);
  });
}
