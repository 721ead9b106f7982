import type { FastifyInstance } from 'fastify';
import { IMPERSONATION_COOKIE } from '../http/cookies.js';
import type { AppDeps } from '../http/deps.js';
import { requireEnvironment } from '../services/environments.js';
import {
  endImpersonationAs,
  impersonationView,
  MAX_IMPERSONATION_MINUTES,
  startImpersonation,
} from '../services/impersonation.js';
import { AdminError } from './errors.js';
import { adminRoute, envParams, serviceContext } from './route.js';
import { many, one } from './schemas.js';

export function impersonationRoutes(api: FastifyInstance, deps: AppDeps): void {
  const tag = 'impersonation';
  adminRoute(api, {
    method: 'GET',
    url: '/environments/:env/impersonations',
    access: 'viewer',
    tag,
    summary: 'Recent impersonations in an environment, running ones first',
    schema: { params: envParams, response: { 200: many('impersonations', 'Impersonation') } },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      const ctx = serviceContext(deps, request);
      await requireEnvironment(ctx, env);
      const views = await Promise.all(
        (await deps.stores.impersonations.list(env, 100)).map((i) => impersonationView(ctx, i)),
      );
      return { impersonations: views.sort((a, b) => Number(b.active) - Number(a.active)) };
    },
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/impersonations',
    access: 'support',
    tag,
    summary:
      'Start impersonating a user towards one client; this browser then signs in to it as the user',
    schema: {
      response: { 201: one('impersonation', 'Impersonation') },
      params: envParams,
      body: {
        type: 'object',
        required: ['userId', 'clientId', 'reason'],
        additionalProperties: false,
        properties: {
          userId: { type: 'string', maxLength: 320 },
          clientId: { type: 'string', maxLength: 200 },
          reason: { type: 'string', maxLength: 2000 },
          minutes: { type: 'integer', minimum: 1, maximum: MAX_IMPERSONATION_MINUTES },
        },
      },
    },
    handler: async (request, reply, signedIn) => {
      if (signedIn === undefined) throw new AdminError(401, 'unauthenticated', 'sign in first');
      const { env } = request.params as { env: string };
      const body = request.body as {
        userId: string;
        clientId: string;
        reason: string;
        minutes?: number;
      };
      const ctx = serviceContext(deps, request);
      const { impersonation, cookie } = await startImpersonation(ctx, signedIn.operator, {
        environment: env,
        userId: body.userId,
        clientId: body.clientId,
        reason: body.reason,
        ...(body.minutes === undefined ? {} : { minutes: body.minutes }),
      });
      // Lax, not Strict: the client application sends the browser to /authorize from its own site.
      reply.setCookie(IMPERSONATION_COOKIE, cookie, {
        path: `/e/${env}`,
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.config.secureCookies,
        maxAge: Math.ceil((impersonation.expiresAt - deps.clock()) / 1000),
      });
      return reply.status(201).send({ impersonation: await impersonationView(ctx, impersonation) });
    },
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/impersonations/:id/end',
    access: 'support',
    tag,
    summary:
      'End an impersonation; every token issued during it is revoked. A support operator may end only their own; an admin any',
    schema: {
      response: { 200: one('impersonation', 'Impersonation') },
      params: {
        type: 'object',
        required: ['env', 'id'],
        properties: {
          env: { type: 'string', maxLength: 64 },
          id: { type: 'string', maxLength: 64 },
        },
      },
    },
    handler: async (request, reply, signedIn) => {
      if (signedIn === undefined) throw new AdminError(401, 'unauthenticated', 'sign in first');
      const { env, id } = request.params as { env: string; id: string };
      const ctx = serviceContext(deps, request);
      const ended = await endImpersonationAs(ctx, signedIn.operator, env, id);
      // This browser carries only its own operator's impersonation; an admin ending someone
      // else's keeps theirs.
      if (ended.operatorId === signedIn.operator.id)
        reply.clearCookie(IMPERSONATION_COOKIE, { path: `/e/${env}` });
      return { impersonation: await impersonationView(ctx, ended) };
    },
  });
}
