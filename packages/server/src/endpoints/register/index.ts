import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual, sha256 } from '../../crypto/random.js';
import { AccessDenied, InvalidToken, TemporarilyUnavailable } from '../../errors.js';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import {
  deleteDynamicClient,
  registerDynamicClient,
  registrationResponse,
  updateDynamicClient,
} from '../../services/dynamic-clients.js';
import { limitAddress } from '../../services/sign-in-limits.js';
import type { Client } from '../../storage/clients.js';

function bearer(request: FastifyRequest): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

function registrationOff(environment: string): AccessDenied {
  return new AccessDenied(`dynamic client registration is turned off in ${environment}`);
}

/**
 * Dynamic client registration (RFC 7591) and its management (RFC 7592) per environment: open,
 * protected by an initial access token, or off, as the environment says. Every client made here
 * is marked `dynamic`: the console, the audit log and the consent page say so. Refusals are
 * thrown (RFC 7591 §3.2.2 registration errors come from the service) and sent by the error
 * handler; the bearer tokens' challenges have no realm, as they never had.
 */
export function dynamicClientRegistrationEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const registrationUri = (requestEnv: EnvironmentContext, client: Client) =>
    `${requestEnv.issuer}/register/${encodeURIComponent(client.clientId)}`;

  app.post('/e/:env/register', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    reply.header('Cache-Control', 'no-store');
    const env = requestEnv.environment;
    if (env.registration === 'off') throw registrationOff(env.name);
    // Every registration counts, and is counted before the initial access token is checked:
    // guessing tokens in parallel gets no further than registering does.
    const attempt = await deps.registrationLimiter.reserve(
      `register:${limitAddress(request.ip)}`,
      deps.clock(),
    );
    if (!attempt.granted)
      throw new TemporarilyUnavailable(
        'too many registrations from this address',
        Math.ceil(attempt.retryAfterMs / 1000),
      );
    if (env.registration === 'token') {
      const token = bearer(request);
      if (
        token === undefined ||
        !(await deps.stores.initialAccessTokens.isValid(env.name, sha256(token), deps.clock()))
      )
        throw new InvalidToken('registration here needs a valid initial access token');
    }
    const result = await registerDynamicClient(
      { stores: deps.stores, clock: deps.clock, actor: 'anonymous' },
      env,
      request.body,
    );
    return reply.status(201).send({
      ...registrationResponse(result.client, registrationUri(requestEnv, result.client)),
      ...(result.clientSecret === undefined
        ? {}
        : { client_secret: result.clientSecret, client_secret_expires_at: 0 }),
      registration_access_token: result.registrationAccessToken,
    });
  });

  /** RFC 7592 §2: the registration access token proves the caller is the client. */
  const managed = async (request: FastifyRequest, reply: FastifyReply) => {
    const requestEnv = await environmentContext(deps, request);
    reply.header('Cache-Control', 'no-store');
    const clientId = (request.params as { clientId: string }).clientId;
    const token = bearer(request);
    const client = await deps.stores.clients.get(requestEnv.environment.name, clientId);
    // The same answer for an unknown client and a wrong token (RFC 7592 §2.1, §2.2, §2.3).
    if (
      token === undefined ||
      client === undefined ||
      client.registrationTokenHash === null ||
      !safeEqual(sha256(token), client.registrationTokenHash)
    )
      throw new InvalidToken('the registration access token is not valid for this client');
    return { ctx: requestEnv, client };
  };

  app.get('/e/:env/register/:clientId', async (request, reply) => {
    const found = await managed(request, reply);
    return reply.send(registrationResponse(found.client, registrationUri(found.ctx, found.client)));
  });

  app.put('/e/:env/register/:clientId', async (request, reply) => {
    const found = await managed(request, reply);
    // Closed registration also closes changes; reading and deleting stay possible.
    if (found.ctx.environment.registration === 'off')
      throw registrationOff(found.ctx.environment.name);
    const { client: updated, clientSecret } = await updateDynamicClient(
      { stores: deps.stores, clock: deps.clock, actor: `client:${found.client.clientId}` },
      found.ctx.environment,
      found.client,
      request.body,
    );
    return reply.send({
      ...registrationResponse(updated, registrationUri(found.ctx, updated)),
      // RFC 7592 §2.2: a secret issued by the update (leaving private_key_jwt) is answered once.
      ...(clientSecret === undefined
        ? {}
        : { client_secret: clientSecret, client_secret_expires_at: 0 }),
    });
  });

  app.delete('/e/:env/register/:clientId', async (request, reply) => {
    const found = await managed(request, reply);
    await deleteDynamicClient(
      { stores: deps.stores, clock: deps.clock, actor: `client:${found.client.clientId}` },
      found.ctx.environment,
      found.client,
    );
    return reply.status(204).send();
  });
}
