import type { FastifyInstance } from 'fastify';
import { issuerOf, type AppDeps } from '../http/deps.js';
import {
  createInitialAccessToken,
  revokeInitialAccessTokens,
} from '../services/dynamic-clients.js';
import { parseDuration } from '../services/duration.js';
import {
  createEnvironment,
  requireEnvironment,
  updateEnvironmentSettings,
} from '../services/environments.js';
import { setImpersonationEnabled } from '../services/impersonation.js';
import { loopbackViolations } from '../services/loopback-policy.js';
import type { Environment, RegistrationPolicy, Tier } from '../storage/environments.js';
import { adminRoute, envParams, serviceContext } from './route.js';
import { answer, many, one, ref } from './schemas.js';
import { environmentView } from './views.js';

export function environmentRoutes(api: FastifyInstance, deps: AppDeps): void {
  const view = async (environment: Environment) =>
    environmentView(environment, issuerOf(deps, environment.name), {
      clientCount: await deps.stores.clients.count(environment.name),
      userCount: await deps.stores.users.count(environment.name),
    });

  adminRoute(api, {
    method: 'GET',
    url: '/environments',
    access: 'viewer',
    tag: 'environments',
    summary: 'All environments, side by side',
    schema: { response: { 200: many('environments', 'Environment') } },
    handler: async () => ({
      environments: await Promise.all((await deps.stores.environments.list()).map(view)),
    }),
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments',
    access: 'admin',
    tag: 'environments',
    summary: 'Create an environment (its own issuer, with its own signing key)',
    schema: {
      response: { 201: one('environment', 'Environment') },
      body: {
        type: 'object',
        required: ['name', 'tier'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 64 },
          tier: { type: 'string', enum: ['development', 'staging', 'production'] },
        },
      },
    },
    handler: async (request, reply) => {
      const body = request.body as { name: string; tier: Tier };
      const environment = await createEnvironment(
        serviceContext(deps, request),
        body.name,
        body.tier,
      );
      return reply.status(201).send({ environment: await view(environment) });
    },
  });

  adminRoute(api, {
    method: 'PATCH',
    url: '/environments/:env',
    access: 'admin',
    tag: 'environments',
    summary:
      'Change environment settings: impersonation, dynamic registration, metadata-document clients, loopback metadata documents, pushed authorization requests required (RFC 9126 §5), DPoP required (RFC 9449), the refresh grace window (seconds, 0 to 60; 0: none), the loopback hosts redirect URIs may name (null: all three). With loopbackHosts, the answer lists the registrations the policy now refuses (they no longer match)',
    schema: {
      response: {
        200: answer(
          {
            environment: ref('Environment'),
            loopbackViolations: { type: 'array', items: ref('LoopbackViolation') },
          },
          ['loopbackViolations'],
        ),
      },
      params: envParams,
      body: {
        type: 'object',
        minProperties: 1,
        additionalProperties: false,
        properties: {
          impersonationEnabled: { type: 'boolean' },
          registration: { type: 'string', enum: ['open', 'token', 'off'] },
          allowLoopbackDocuments: { type: 'boolean' },
          metadataDocuments: { type: 'boolean' },
          requirePar: { type: 'boolean' },
          /** RFC 9449: every token request here must carry a DPoP proof. */
          requireDpop: { type: 'boolean' },
          /** Checked by the service (a whole number from 0 to 60), one message for every entry. */
          refreshGraceSeconds: {
            type: 'number',
            description: 'seconds, a whole number from 0 (no grace) to 60',
          },
          /**
           * Issue #18: e.g. ["127.0.0.1", "[::1]"] refuses localhost (RFC 8252 §8.3); null: all
           * three. The service checks the list (non-empty, known hosts, no repeats).
           */
          loopbackHosts: {
            type: 'array',
            items: { type: 'string', maxLength: 16 },
            maxItems: 8,
            nullable: true,
            description: 'a non-empty list of 127.0.0.1, [::1], localhost; null: all three',
          },
        },
      },
    },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      const body = request.body as {
        impersonationEnabled?: boolean;
        registration?: RegistrationPolicy;
        allowLoopbackDocuments?: boolean;
        metadataDocuments?: boolean;
        requirePar?: boolean;
        requireDpop?: boolean;
        refreshGraceSeconds?: number;
        loopbackHosts?: string[] | null;
      };
      const ctx = serviceContext(deps, request);
      let environment = await updateEnvironmentSettings(ctx, env, {
        ...(body.registration === undefined ? {} : { registration: body.registration }),
        ...(body.allowLoopbackDocuments === undefined
          ? {}
          : { allowLoopbackDocuments: body.allowLoopbackDocuments }),
        ...(body.metadataDocuments === undefined
          ? {}
          : { metadataDocuments: body.metadataDocuments }),
        ...(body.requirePar === undefined ? {} : { requirePar: body.requirePar }),
        ...(body.requireDpop === undefined ? {} : { requireDpop: body.requireDpop }),
        ...(body.refreshGraceSeconds === undefined
          ? {}
          : { refreshGraceSeconds: body.refreshGraceSeconds }),
        // Checked by the service (services/loopback-policy.ts), as from every entry point.
        ...(body.loopbackHosts === undefined
          ? {}
          : { loopbackHosts: body.loopbackHosts as Environment['loopbackHosts'] | null }),
      });
      if (body.impersonationEnabled !== undefined)
        environment = await setImpersonationEnabled(ctx, env, body.impersonationEnabled);
      return {
        environment: await view(environment),
        ...(body.loopbackHosts === undefined
          ? {}
          : { loopbackViolations: await loopbackViolations(ctx, environment) }),
      };
    },
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/initial-access-tokens',
    access: 'admin',
    tag: 'environments',
    summary: 'Issue an initial access token for dynamic registration (RFC 7591 §3); shown once',
    schema: {
      response: {
        201: answer({ initialAccessToken: { type: 'string' }, expiresAt: { type: 'integer' } }),
      },
      params: envParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: { expiresIn: { type: 'string', maxLength: 16 } },
      },
    },
    handler: async (request, reply) => {
      const { env } = request.params as { env: string };
      const body = (request.body ?? {}) as { expiresIn?: string };
      const ctx = serviceContext(deps, request);
      await requireEnvironment(ctx, env);
      const issued = await createInitialAccessToken(
        ctx,
        env,
        parseDuration(body.expiresIn ?? '1d'),
      );
      return reply
        .status(201)
        .send({ initialAccessToken: issued.token, expiresAt: issued.expiresAt });
    },
  });

  adminRoute(api, {
    method: 'DELETE',
    url: '/environments/:env/initial-access-tokens',
    access: 'admin',
    tag: 'environments',
    summary: 'Revoke every initial access token of the environment',
    schema: { params: envParams, response: { 200: answer({ revoked: { type: 'integer' } }) } },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      const ctx = serviceContext(deps, request);
      await requireEnvironment(ctx, env);
      return { revoked: await revokeInitialAccessTokens(ctx, env) };
    },
  });
}
