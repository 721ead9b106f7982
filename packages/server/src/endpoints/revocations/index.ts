import type { FastifyInstance } from 'fastify';
import { AccessDenied, InvalidClient } from '../../errors.js';
import { authenticateClient } from '../../http/client-auth.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { singleParams } from '../../http/form.js';
import { feedPage, readFeedQuery } from './query.js';

/**
 * GET /e/:env/revocations?after=<seq>&limit=<n> (a Gatehouse extension, advertised in the
 * metadata as `revocation_feed_endpoint`): the environment's revocation events after a cursor, for
 * the resource servers that refuse revoked tokens without asking per token.
 *
 * Only the client linked to a registered resource of the environment may read it, authenticated
 * with HTTP Basic (RFC 6749 §2.3.1): the events name tokens, grants, users and clients, which is
 * nothing for anyone else to learn.
 */
export function revocationFeedEndpoint(app: FastifyInstance, deps: AppDeps): void {
  app.get('/e/:env/revocations', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const env = requestEnv.environment.name;
    // Nothing in the query counts as a credential: a secret in a URL ends up in logs (RFC 6749
    // §2.3.1 keeps client_secret to the body), so Basic is the only way in.
    const { client } = await authenticateClient(deps, env, request, {});
    if (client.type !== 'web')
      throw new InvalidClient('the revocation feed is for authenticated (confidential) clients');
    const linked = (await deps.stores.resources.list(env)).some(
      (resource) => resource.clientId === client.clientId,
    );
    // Authenticated, but not a resource's: 403, the credentials are fine, the reader is not one
    // the feed serves (RFC 9110 §15.5.4).
    if (!linked)
      throw new AccessDenied('this client is not the client of a registered resource here');
    const { after, limit } = readFeedQuery(singleParams(request.query));
    const events = await deps.stores.revocationEvents.after(env, after, limit);
    return reply.header('Cache-Control', 'no-store').send(feedPage(events, after, limit));
  });
}
