import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http/deps.js';
import {
  createClient,
  deleteClient,
  requireClient,
  rotateClientSecret,
  updateClient,
} from '../services/clients.js';
import { requireEnvironment } from '../services/environments.js';
import { planPromotion, promoteClient } from '../services/promote.js';
import { clientView } from '../services/client-view.js';
import { addRedirectUri, refusedRedirectsOf, removeRedirectUri } from '../services/redirects.js';
import type { ClientSettingsInput } from '../services/client-settings.js';
import type { ClientType, GrantType } from '../storage/clients.js';
import { AdminError } from './errors.js';
import { adminRoute, clientParams, envParams, GRANT_TYPE_SCHEMA, serviceContext } from './route.js';
import { answer, clientAndWarnings, many, one, ref } from './schemas.js';

const lintWarnings = { type: 'array', items: ref('LintWarning') } as const;

const REDIRECT_URI = { type: 'string', maxLength: 4096 } as const;
/** A list of RFC 8707 resource URIs, or null (each setting says what null means). */
const RESOURCE_LIST = {
  type: ['array', 'null'],
  items: { type: 'string', maxLength: 2048 },
  maxItems: 100,
} as const;
/** Scopes a client may be granted without a resource (client_credentials); empty: none. */
const SCOPE_LIST = {
  type: 'array',
  items: { type: 'string', maxLength: 200 },
  maxItems: 100,
} as const;

const nullableString = (maxLength: number) => ({ type: ['string', 'null'], maxLength }) as const;

/**
 * The issue #16 and #17 settings, named as in the `Client` answer; the service checks them
 * (services/client-settings.ts). On PATCH, null clears a setting.
 */
const SETTINGS_PROPERTIES = {
  /** OIDC Registration §2; null: RS256. */
  idTokenSignedResponseAlg: { type: ['string', 'null'], enum: ['RS256', 'ES256', null] },
  /** RP-Initiated Logout §3.1, checked by the redirect policy; replaces the whole list. */
  postLogoutRedirectUris: { type: 'array', items: REDIRECT_URI, maxItems: 20 },
  /** Back-Channel Logout §2.2. */
  backchannelLogoutUri: nullableString(2048),
  /** RFC 7591 §2: a JWK Set of public keys (private_key_jwt). */
  jwks: {
    type: ['object', 'null'],
    required: ['keys'],
    properties: {
      keys: { type: 'array', maxItems: 10, items: { type: 'object', additionalProperties: true } },
    },
  },
  jwksUri: nullableString(2048),
  /** null: implied by the type. */
  tokenEndpointAuthMethod: {
    type: ['string', 'null'],
    enum: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none', null],
  },
  /** RFC 9126 §6. */
  requirePar: { type: 'boolean' },
  /** OAuth 2.1 §7.5.1: a confidential client sending nonce may omit PKCE. */
  pkceExemptWithNonce: { type: 'boolean' },
  /** RFC 9449: its token requests must carry a DPoP proof. */
  requireDpop: { type: 'boolean' },
} as const;

/** The settings a request body gives (the names are the service's). */
function settingsFrom(body: Record<string, unknown>): ClientSettingsInput {
  const settings: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS_PROPERTIES))
    if (body[key] !== undefined) settings[key] = body[key];
  return settings;
}

export function clientRoutes(api: FastifyInstance, deps: AppDeps): void {
  const tag = 'clients';

  adminRoute(api, {
    method: 'GET',
    url: '/environments/:env/clients',
    access: 'viewer',
    tag,
    summary: "An environment's clients",
    schema: { params: envParams, response: { 200: many('clients', 'Client') } },
    handler: async (request) => {
      const { env } = request.params as { env: string };
      await requireEnvironment(serviceContext(deps, request), env);
      return { clients: (await deps.stores.clients.list(env)).map(clientView) };
    },
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/clients',
    access: 'admin',
    tag,
    summary:
      'Register a client; a web client gets a secret (unless it uses private_key_jwt), shown once in this answer',
    schema: {
      response: {
        201: answer(
          { client: ref('Client'), clientSecret: { type: 'string' }, warnings: lintWarnings },
          ['clientSecret'],
        ),
      },
      params: envParams,
      body: {
        type: 'object',
        required: ['name', 'type'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 200 },
          type: { type: 'string', enum: ['web', 'native', 'spa'] },
          redirectUris: { type: 'array', items: REDIRECT_URI, maxItems: 100 },
          grantTypes: { type: 'array', items: GRANT_TYPE_SCHEMA, maxItems: 5 },
          skipConsent: { type: 'boolean' },
          scopes: SCOPE_LIST,
          ...SETTINGS_PROPERTIES,
        },
      },
    },
    handler: async (request, reply) => {
      const { env } = request.params as { env: string };
      const body = request.body as {
        name: string;
        type: ClientType;
        redirectUris?: string[];
        grantTypes?: GrantType[];
        skipConsent?: boolean;
        scopes?: string[];
      };
      const created = await createClient(serviceContext(deps, request), {
        environment: env,
        name: body.name,
        type: body.type,
        redirectUris: body.redirectUris ?? [],
        ...(body.grantTypes === undefined ? {} : { grantTypes: body.grantTypes }),
        ...(body.skipConsent === undefined ? {} : { skipConsent: body.skipConsent }),
        ...(body.scopes === undefined ? {} : { scopes: body.scopes }),
        ...settingsFrom(request.body as Record<string, unknown>),
      });
      return reply.status(201).send({
        client: clientView(created.client),
        ...(created.clientSecret === undefined ? {} : { clientSecret: created.clientSecret }),
        warnings: created.warnings,
      });
    },
  });

  adminRoute(api, {
    method: 'GET',
    url: '/environments/:env/clients/:clientId',
    access: 'viewer',
    tag,
    summary: 'One client',
    schema: { params: clientParams, response: { 200: one('client', 'Client') } },
    handler: async (request) => {
      const { env, clientId } = request.params as { env: string; clientId: string };
      return {
        client: clientView(await requireClient(serviceContext(deps, request), env, clientId)),
      };
    },
  });

  adminRoute(api, {
    method: 'PATCH',
    url: '/environments/:env/clients/:clientId',
    access: 'admin',
    tag,
    summary:
      'Change a client; redirectUris replaces the whole list (through the policy). Switching away from private_key_jwt issues a secret, shown once in this answer',
    schema: {
      response: {
        200: answer(
          { client: ref('Client'), clientSecret: { type: 'string' }, warnings: lintWarnings },
          ['clientSecret'],
        ),
      },
      params: clientParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { type: 'string', maxLength: 200 },
          grantTypes: { type: 'array', items: GRANT_TYPE_SCHEMA, maxItems: 5 },
          skipConsent: { type: 'boolean' },
          redirectUris: { type: 'array', items: REDIRECT_URI, maxItems: 100 },
          /** Audiences obtainable by token exchange (RFC 8693); null: none. */
          exchangeAudiences: RESOURCE_LIST,
          /** RFC 8707 resources the client may ask for; null: any the environment allows. */
          allowedResources: RESOURCE_LIST,
          scopes: SCOPE_LIST,
          ...SETTINGS_PROPERTIES,
        },
      },
    },
    handler: async (request) => {
      const { env, clientId } = request.params as { env: string; clientId: string };
      const body = request.body as {
        name?: string;
        grantTypes?: GrantType[];
        skipConsent?: boolean;
        redirectUris?: string[];
        exchangeAudiences?: string[] | null;
        allowedResources?: string[] | null;
        scopes?: string[];
      };
      const { client, warnings, clientSecret } = await updateClient(
        serviceContext(deps, request),
        env,
        clientId,
        {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.grantTypes === undefined ? {} : { grantTypes: body.grantTypes }),
          ...(body.skipConsent === undefined ? {} : { skipConsent: body.skipConsent }),
          ...(body.redirectUris === undefined ? {} : { setRedirectUris: body.redirectUris }),
          ...(body.exchangeAudiences === undefined
            ? {}
            : { exchangeAudiences: body.exchangeAudiences }),
          ...(body.allowedResources === undefined
            ? {}
            : { allowedResources: body.allowedResources }),
          ...(body.scopes === undefined ? {} : { scopes: body.scopes }),
          ...settingsFrom(request.body as Record<string, unknown>),
        },
      );
      return {
        client: clientView(client),
        ...(clientSecret === undefined ? {} : { clientSecret }),
        warnings,
      };
    },
  });

  adminRoute(api, {
    method: 'DELETE',
    url: '/environments/:env/clients/:clientId',
    access: 'admin',
    tag,
    summary: 'Delete a client and revoke every token it holds',
    schema: { params: clientParams },
    handler: async (request, reply) => {
      const { env, clientId } = request.params as { env: string; clientId: string };
      await deleteClient(serviceContext(deps, request), env, clientId);
      return reply.status(204).send();
    },
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/clients/:clientId/secret',
    access: 'admin',
    tag,
    summary: "Rotate a web client's secret; the new one is shown once in this answer",
    schema: {
      params: clientParams,
      response: { 200: answer({ client: ref('Client'), clientSecret: { type: 'string' } }) },
    },
    handler: async (request) => {
      const { env, clientId } = request.params as { env: string; clientId: string };
      const { client, clientSecret } = await rotateClientSecret(
        serviceContext(deps, request),
        env,
        clientId,
      );
      return { client: clientView(client), clientSecret };
    },
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/clients/:clientId/redirect-uris',
    access: 'admin',
    tag,
    summary: 'Register one redirect URI, optionally expiring (expiresIn: 30m, 12h, 7d)',
    schema: {
      response: { 201: clientAndWarnings },
      params: clientParams,
      body: {
        type: 'object',
        required: ['uri'],
        additionalProperties: false,
        properties: { uri: REDIRECT_URI, expiresIn: { type: 'string', maxLength: 16 } },
      },
    },
    handler: async (request, reply) => {
      const { env, clientId } = request.params as { env: string; clientId: string };
      const body = request.body as { uri: string; expiresIn?: string };
      const { client, warnings } = await addRedirectUri(
        serviceContext(deps, request),
        env,
        clientId,
        body.uri,
        body.expiresIn === undefined ? {} : { expiresIn: body.expiresIn },
      );
      return reply.status(201).send({ client: clientView(client), warnings });
    },
  });

  adminRoute(api, {
    method: 'DELETE',
    url: '/environments/:env/clients/:clientId/redirect-uris',
    access: 'admin',
    tag,
    summary: 'Remove one redirect URI',
    schema: {
      response: { 200: one('client', 'Client') },
      params: clientParams,
      querystring: {
        type: 'object',
        required: ['uri'],
        properties: { uri: REDIRECT_URI },
      },
    },
    handler: async (request) => {
      const { env, clientId } = request.params as { env: string; clientId: string };
      const { uri } = request.query as { uri: string };
      return {
        client: clientView(
          await removeRedirectUri(serviceContext(deps, request), env, clientId, uri),
        ),
      };
    },
  });

  adminRoute(api, {
    method: 'GET',
    url: '/environments/:env/clients/:clientId/refused-redirects',
    access: 'viewer',
    tag,
    summary: 'Redirect URIs real requests used and the policy refused, grouped and counted',
    schema: { params: clientParams, response: { 200: many('refused', 'RefusedRedirect') } },
    handler: async (request) => {
      const { env, clientId } = request.params as { env: string; clientId: string };
      return { refused: await refusedRedirectsOf(serviceContext(deps, request), env, clientId) };
    },
  });

  adminRoute(api, {
    method: 'POST',
    url: '/environments/:env/clients/:clientId/promote',
    access: 'admin',
    tag,
    summary:
      "Copy a client's configuration to another environment; lists what its policy refuses first",
    schema: {
      response: {
        200: answer(
          {
            plan: ref('PromotionPlan'),
            applied: { type: 'boolean' },
            client: ref('Client'),
            clientSecret: { type: 'string' },
          },
          ['client', 'clientSecret'],
        ),
      },
      params: clientParams,
      body: {
        type: 'object',
        required: ['to'],
        additionalProperties: false,
        properties: {
          to: { type: 'string', maxLength: 64 },
          dryRun: { type: 'boolean' },
          dropRefused: { type: 'boolean' },
        },
      },
    },
    handler: async (request) => {
      const { env, clientId } = request.params as { env: string; clientId: string };
      const body = request.body as { to: string; dryRun?: boolean; dropRefused?: boolean };
      const ctx = serviceContext(deps, request);
      if (body.dryRun === true)
        return { plan: await planPromotion(ctx, env, clientId, body.to), applied: false };
      try {
        const result = await promoteClient(ctx, env, clientId, body.to, {
          dropRefused: body.dropRefused === true,
        });
        return {
          plan: result.plan,
          applied: true,
          client: clientView(result.client),
          ...(result.clientSecret === undefined ? {} : { clientSecret: result.clientSecret }),
        };
      } catch (error) {
        if (error instanceof Error && 'code' in error && error.code === 'promotion_refused')
          throw new AdminError(400, 'promotion_refused', error.message, {
            plan: await planPromotion(ctx, env, clientId, body.to),
          });
        throw error;
      }
    },
  });
}
