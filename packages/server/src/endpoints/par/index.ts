import type { FastifyInstance } from 'fastify';
import { RedirectUriRefused, recordRefusedRedirect } from '../../authorization/refused-redirect.js';
import { refusalSignal } from '../../authorization/refusal-signal.js';
import { randomToken, sha256 } from '../../crypto/random.js';
import {
  InvalidClient,
  InvalidDpopProof,
  InvalidRequest,
  RequestTooLarge,
  UnsafeAuthorizationRequest,
} from '../../errors.js';
import { authenticateClient } from '../../http/client-auth.js';
import type { AppDeps } from '../../http/deps.js';
import { checkDpopProof, sendDpopNonce } from '../../http/dpop.js';
import { environmentContext } from '../../http/environment.js';
import { formParams } from '../../http/form.js';
import { isDocumentClientId, MetadataDocumentError } from '../../services/metadata-documents.js';
import type { Environment } from '../../storage/environments.js';
import { PUSH_CHECKS } from '../authorize/checks.js';
import {
  CLIENT_AUTH_PARAMS,
  PUSHED_REQUEST_TTL_S,
  REQUEST_URI_PREFIX,
} from '../authorize/pushed.js';
import { newState } from '../authorize/state.js';

/** What one pushed request may hold, as stored: as much as a long authorization URL. */
const MAX_PUSHED_REQUEST_CHARS = 16 * 1024;

/**
 * POST /e/:env/par: pushed authorization requests (RFC 9126). The client authenticates as at the
 * token endpoint (public clients with their client_id), the request is checked as /authorize
 * would check it (the redirect policy included), and the answer is a one-time request_uri bound
 * to the client, for /authorize to take (endpoints/authorize/steps/use-pushed-request.ts).
 */
export function parEndpoint(app: FastifyInstance, deps: AppDeps): void {
  app.post('/e/:env/par', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const env = requestEnv.environment.name;
    const body = formParams(request); // RFC 9126 §2.1: form-encoded, as the token endpoint
    await resolveDocumentClient(deps, requestEnv.environment, body.client_id, request.ip);
    const { client } = await authenticateClient(deps, env, request, body);
    // RFC 9126 §2.1: "The request_uri authorization request parameter is one exception, and it
    // MUST NOT be provided."
    if (body.request_uri !== undefined)
      throw new InvalidRequest('request_uri must not be pushed (RFC 9126 §2.1)');
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(body))
      if (!CLIENT_AUTH_PARAMS.includes(name)) params[name] = value;
    // The authenticated client's (a Basic-authenticated client need not repeat it; a different
    // one was refused by authenticateClient).
    params.client_id = client.clientId;
    // RFC 9449 §10.1: a DPoP proof on the push binds the code to its key, as dpop_jkt would (a
    // nonce is required, as at the token endpoint); both sent must name the same key.
    const dpop = await checkDpopProof(deps, request, requestEnv, {
      endpoint: '/par',
      answer: 'token-endpoint',
      requireNonce: true,
      clientId: client.clientId,
    });
    if (dpop !== undefined) {
      if (params.dpop_jkt !== undefined && params.dpop_jkt !== dpop.jkt)
        throw new InvalidDpopProof(
          'dpop_jkt is not the thumbprint of the DPoP proof key (RFC 9449 §10.1)',
        );
      params.dpop_jkt = dpop.jkt;
    }

    const state = newState(deps, requestEnv, request);
    state.params = params;
    state.client = client;
    try {
      for (const check of PUSH_CHECKS) await check(state);
    } catch (error) {
      // RFC 9126 §2.1: the redirect policy applies at push time; a refused URI is recorded like
      // one refused at /authorize, and told as /authorize's page and header tell it: the
      // explainer (the closest registration, the kind of difference) in development only. A
      // public client's push needs nothing but its client_id, so elsewhere anyone could read the
      // registrations off near-miss pushes one request at a time. Operators see the explanation
      // in the console's refused redirects in every environment.
      if (error instanceof RedirectUriRefused) {
        await recordRefusedRedirect(deps, error, request.ip);
        const development = requestEnv.environment.tier === 'development';
        throw new InvalidRequest(
          `redirect_uri refused: ${refusalSignal(error.refusal, development).reason}`,
        );
      }
      // Errors that /authorize shows as a page (a missing redirect_uri) are plain JSON here.
      if (error instanceof UnsafeAuthorizationRequest)
        throw new InvalidRequest(error.operatorDetail?.message ?? error.userMessage);
      throw error;
    }

    // RFC 9126 §2.3: 413 beyond the size the server allows. A request through the browser is
    // bounded by the URL's length; a pushed one is stored as it came, so it is bounded here too.
    if (JSON.stringify(state.params).length > MAX_PUSHED_REQUEST_CHARS)
      throw new RequestTooLarge(
        `the pushed request is larger than ${MAX_PUSHED_REQUEST_CHARS} characters`,
      );

    const requestUri = `${REQUEST_URI_PREFIX}${randomToken(32)}`;
    const now = deps.clock();
    await deps.stores.pushedRequests.save(
      env,
      sha256(requestUri),
      client.clientId,
      state.params,
      now + PUSHED_REQUEST_TTL_S * 1000,
      now,
    );
    if (dpop !== undefined) sendDpopNonce(deps, requestEnv, reply);
    // RFC 9126 §2.2: 201 Created with request_uri and expires_in.
    return reply
      .status(201)
      .header('Cache-Control', 'no-store')
      .send({ request_uri: requestUri, expires_in: PUSHED_REQUEST_TTL_S });
  });
  // RFC 9126 §2.3: "If the request did not use the POST method, the authorization server
  // responds with an HTTP 405 (Method Not Allowed) status code." (OPTIONS is CORS's.)
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/e/:env/par',
    handler: async (_request, reply) =>
      reply.status(405).header('Allow', 'POST').header('Cache-Control', 'no-store').send({
        error: 'invalid_request',
        error_description: 'pushed authorization requests are POSTed (RFC 9126 §2.1)',
      }),
  });
}

/**
 * A client_id that is a Client ID Metadata Document URL names a client that may never have been
 * seen: it is resolved (fetched through the SSRF guard, where the environment allows such
 * clients) as /authorize would resolve it, so that it can push its first request too. A document
 * that cannot be used is invalid_client.
 */
async function resolveDocumentClient(
  deps: AppDeps,
  environment: Environment,
  clientId: string | undefined,
  address: string,
): Promise<void> {
  if (clientId === undefined || !isDocumentClientId(clientId)) return;
  try {
    await deps.documentClients.resolve(environment, clientId, address);
  } catch (error) {
    if (error instanceof MetadataDocumentError) throw new InvalidClient(error.message);
    throw error;
  }
}
