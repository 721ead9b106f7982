import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import { requireEnvironment } from '../services/environments.js';
import { listConsents, revokeConsent } from '../services/consents.js';
import {
  createUser,
  deleteUser,
  setUserDisabled,
  setUserEmailVerified,
} from '../services/users.js';
import { adminRoute, envParams, serviceContext } from './route.js';
import { many, one } from './schemas.js';
import { userView } from './views.js';

const userParams = {
  type: 'object',
  required: ['env', 'userId'],
  properties: {
    env: { type: 'string', maxLength: 64 },
    userId: { type: 'string', maxLength: 320 },
  },
} as const;

export function userRoutes(api: FastifyInstance, deps: AppDeps): void {
  const tag = 'users';
  adminRoute(api, {
    method: 'GET',
    url: '/environments/:env/users',
    access: 'viewer',
    tag,
    summary: "An environment's users (never their credentials)",
    schema: { params: envParams, response: { 200: many('users', 'User') } },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      await requireEnvironment(serviceContext(deps, request), env);
      return { users: (await deps.stores.users.list(env)).map(userView) };
    },
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/users',
    access: 'admin',
    tag,
    summary: 'Create a user',
    schema: {
      response: { 201: one('user', 'User') },
      params: envParams,
      body: {
        type: 'object',
        required: ['email', 'password'],
        additionalProperties: false,
        properties: {
          email: { type: 'string', maxLength: 320 },
          name: { type: 'string', maxLength: 200 },
          password: { type: 'string', maxLength: 1024 },
          emailVerified: { type: 'boolean' },
        },
      },
    },
    handler: async (request, reply) => {
      const { env } = request.params as { env: string };
      const body = request.body as {
        email: string;
        name?: string;
        password: string;
        emailVerified?: boolean;
      };
      const user = await createUser(serviceContext(deps, request), {
        environment: env,
        email: body.email,
        password: body.password,
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.emailVerified === undefined ? {} : { emailVerified: body.emailVerified }),
      });
      return reply.status(201).send({ user: userView(user) });
    },
  });

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    adminRoute(api, {
      method: 'POST',
      url: `/environments/:env/users/:userId/${action}`,
      access: 'admin',
      tag,
      summary: disabled
        ? 'Disable a user: their sessions end and their tokens stop working'
        : 'Enable a disabled user',
      schema: { params: userParams, response: { 200: one('user', 'User') } },
      handler: async (request) => {
        const { env, userId } = request.params as { env: string; userId: string };
        return {
          user: userView(
            await setUserDisabled(serviceContext(deps, request), env, userId, disabled),
          ),
        };
      },
    });
  }

  adminRoute(api, {
    method: 'PATCH',
    url: '/environments/:env/users/:userId',
    access: 'admin',
    tag,
    summary:
      "Change a user: whether their email is verified (the ID token's and userinfo's email_verified)",
    schema: {
      params: userParams,
      body: {
        type: 'object',
        required: ['emailVerified'],
        additionalProperties: false,
        properties: { emailVerified: { type: 'boolean' } },
      },
      response: { 200: one('user', 'User') },
    },
    handler: async (request) => {
      const { env, userId } = request.params as { env: string; userId: string };
      const { emailVerified } = request.body as { emailVerified: boolean };
      return {
        user: userView(
          await setUserEmailVerified(serviceContext(deps, request), env, userId, emailVerified),
        ),
      };
    },
  });

  adminRoute(api, {
    method: 'GET',
    url: '/environments/:env/users/:userId/consents',
    access: 'viewer',
    tag,
    summary:
      'What the user granted each client; for a client with token exchange, where it may act for the user (RFC 8693)',
    schema: { params: userParams, response: { 200: many('consents', 'Consent') } },
    handler: async (request) => {
      const { env, userId } = request.params as { env: string; userId: string };
      return { consents: await listConsents(serviceContext(deps, request), env, userId) };
    },
  });

  adminRoute(api, {
    method: 'DELETE',
    url: '/environments/:env/users/:userId/consents/:clientId',
    access: 'admin',
    tag,
    summary:
      'Revoke what the user granted a client: it asks again, and may no longer act for the user by token exchange',
    schema: {
      params: {
        type: 'object',
        required: ['env', 'userId', 'clientId'],
        properties: {
          ...userParams.properties,
          clientId: { type: 'string', maxLength: 2048 },
        },
      },
    },
    handler: async (request, reply) => {
      const { env, userId, clientId } = request.params as {
        env: string;
        userId: string;
        clientId: string;
      };
      await revokeConsent(serviceContext(deps, request), env, userId, clientId);
      return reply.status(204).send();
    },
  });

  adminRoute(api, {
    method: 'DELETE',
    url: '/environments/:env/users/:userId',
    access: 'admin',
    tag,
    summary: 'Delete a user',
    schema: { params: userParams },
    handler: async (request, reply) => {
      const { env, userId } = request.params as { env: string; userId: string };
      await deleteUser(serviceContext(deps, request), env, userId);
      return reply.status(204).send();
    },
  });
}
