import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { activeRedirectUris, type Client } from '../storage/clients.js';
import { ENVIRONMENT_NAME } from '../storage/environments.js';
import type { AppDeps } from './deps.js';
import { environmentContext } from './environment.js';

/**
 * CORS (Fetch standard §3.2) for browser apps on other origins: a single-page app reads the
 * discovery document and the JWKS, redeems its code and refreshes at the token endpoint, revokes
 * and calls userinfo.
 *
 * - Public documents (metadata in every form, JWKS): any origin (`*`). They are the same for
 *   everyone, carry no secret, and no credentials are ever allowed.
 * - Token, revocation, userinfo and pushed authorization requests (RFC 9126: a spa required to
 *   push, by itself or by its environment, pushes from the browser with its client_id alone): only
 *   the exact origins of the requesting `spa` client's registered
 *   redirect URIs (`https://app.example.com`, or `http://127.0.0.1:5173` in development, port
 *   included). The requesting client is the one the request names: `client_id` in the form (a
 *   public client sends it, RFC 6749 §2.3.1, §3.2.1), the `client_id` claim of the bearer token
 *   at userinfo. Naming a client only decides which of that client's own origins may read the
 *   answer; what the answer contains is decided by the endpoint as for any other request. Web
 *   and native clients get no CORS: a confidential client's secret has no place in a browser,
 *   and a native app is not one.
 * - Preflight (`OPTIONS`) carries no body and no credentials, so it cannot name a client: it is
 *   answered for an origin of any `spa` client of the environment.
 * - Everything else (the authorization endpoint, the hosted pages, the admin API, introspection,
 *   registration) answers no CORS at all: a page on another origin must never read them, and
 *   `OPTIONS` there is a 404.
 */

/** How long a browser may cache a preflight's answer (Chromium caps it at two hours). */
export const CORS_MAX_AGE_S = 600;

/** The headers a browser app sends: DPoP too, so a client that uses it is not refused here. */
const ALLOWED_HEADERS = 'Authorization, Content-Type, DPoP';
/** What a browser app may read besides the CORS-safelisted response headers. */
const EXPOSED_HEADERS = 'WWW-Authenticate, DPoP-Nonce';

/** Route templates of the public documents: discovery in all its forms, and the JWKS. */
const PUBLIC_DOCUMENTS = [
  '/.well-known/oauth-authorization-server/e/:env',
  '/.well-known/openid-configuration/e/:env',
  '/e/:env/.well-known/openid-configuration',
  '/e/:env/.well-known/oauth-authorization-server',
  '/e/:env/jwks',
] as const;

/**
 * Client endpoints: the methods each takes, and whether the request names its client by a bearer
 * token (userinfo) rather than by the form's client_id.
 */
const CLIENT_ENDPOINTS: ReadonlyMap<string, { methods: string; bearer: boolean }> = new Map([
  ['/e/:env/token', { methods: 'POST', bearer: false }],
  ['/e/:env/revoke', { methods: 'POST', bearer: false }],
  ['/e/:env/par', { methods: 'POST', bearer: false }],
  ['/e/:env/userinfo', { methods: 'GET, POST', bearer: true }],
]);

const PUBLIC_SET: ReadonlySet<string> = new Set(PUBLIC_DOCUMENTS);

/**
 * The exact origins of a spa client's active redirect URIs. Registration already holds them to
 * exact https URIs (loopback with its port in development); anything else yields nothing.
 */
export function spaOrigins(client: Client, now: number): Set<string> {
  const origins = new Set<string>();
  if (client.type !== 'spa') return origins;
  for (const uri of activeRedirectUris(client, now)) {
    if (!URL.canParse(uri) || uri.includes('*')) continue;
    const url = new URL(uri);
    if (url.protocol === 'https:' || url.protocol === 'http:') origins.add(url.origin);
  }
  return origins;
}

/**
 * The request's Origin header, when it is one serialised origin. `null` (an opaque origin: a
 * sandboxed frame, a file) and anything malformed is no origin.
 */
function originOf(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || !URL.canParse(origin)) return undefined;
  return new URL(origin).origin === origin ? origin : undefined;
}

/** The client the request names: the form's client_id, or the bearer token's client_id claim. */
function namedClientId(request: FastifyRequest, bearer: boolean): string | undefined {
  if (bearer) {
    const header = request.headers.authorization;
    // Bearer, or DPoP (RFC 9449 §7.1) for a token bound to a key.
    const token = /^(?:bearer|dpop) +(\S+)/i.exec(header ?? '')?.[1];
    if (token === undefined) return undefined;
    try {
      // Not verified here: the endpoint verifies the token and decides the answer; this only
      // picks whose registered origins may read it (see the module comment).
      const claim = decodeJwt(token).client_id;
      return typeof claim === 'string' ? claim : undefined;
    } catch {
      return undefined;
    }
  }
  const body = request.body;
  if (typeof body !== 'object' || body === null) return undefined;
  const clientId = (body as Record<string, unknown>).client_id;
  return typeof clientId === 'string' ? clientId : undefined;
}

function appendVary(reply: FastifyReply, value: string): void {
  const current = reply.getHeader('Vary');
  if (current === undefined) reply.header('Vary', value);
  else if (
    !String(current)
      .split(/\s*,\s*/)
      .includes(value)
  )
    reply.header('Vary', `${String(current)}, ${value}`);
}

/** Whether `origin` is an origin of any spa client of the request's environment (preflight). */
async function anySpaOrigin(deps: AppDeps, environment: string, origin: string): Promise<boolean> {
  const now = deps.clock();
  const clients = await deps.stores.clients.listOfType(environment, 'spa');
  return clients.some((client) => spaOrigins(client, now).has(origin));
}

/** Whether `origin` is an origin of the spa client `clientId` names (an actual request). */
async function clientSpaOrigin(
  deps: AppDeps,
  request: FastifyRequest,
  clientId: string,
  origin: string,
): Promise<boolean> {
  // Only a well-formed name and id reach the store (the answer may be an unknown environment's 404).
  const environment = (request.params as { env?: string }).env ?? '';
  if (!ENVIRONMENT_NAME.test(environment) || clientId.length > 2048 || clientId.includes('\0'))
    return false;
  const client = await deps.stores.clients.get(environment, clientId);
  return client !== undefined && spaOrigins(client, deps.clock()).has(origin);
}

/** Registers the preflight routes and the hook that adds CORS headers to the answers above. */
export function registerCors(app: FastifyInstance, deps: AppDeps): void {
  for (const path of PUBLIC_DOCUMENTS) {
    app.options(path, async (_request, reply) =>
      reply
        .code(204)
        .header('Access-Control-Allow-Origin', '*')
        .header('Access-Control-Allow-Methods', 'GET')
        .header('Access-Control-Max-Age', String(CORS_MAX_AGE_S))
        .send(),
    );
  }
  for (const [path, { methods }] of CLIENT_ENDPOINTS) {
    app.options(path, async (request, reply) => {
      appendVary(reply, 'Origin');
      const origin = originOf(request);
      // An unknown environment is a 404 (thrown), as for the endpoint itself.
      const requestEnv = await environmentContext(deps, request);
      if (origin !== undefined && (await anySpaOrigin(deps, requestEnv.environment.name, origin))) {
        reply
          .header('Access-Control-Allow-Origin', origin)
          .header('Access-Control-Allow-Methods', methods)
          .header('Access-Control-Allow-Headers', ALLOWED_HEADERS)
          .header('Access-Control-Max-Age', String(CORS_MAX_AGE_S));
      }
      return reply.code(204).send();
    });
  }

  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (route === undefined) return payload;
    if (PUBLIC_SET.has(route)) {
      reply.header('Access-Control-Allow-Origin', '*');
      return payload;
    }
    const endpoint = CLIENT_ENDPOINTS.get(route);
    if (endpoint === undefined || request.method === 'OPTIONS') return payload;
    appendVary(reply, 'Origin');
    const origin = originOf(request);
    if (origin === undefined) return payload;
    const clientId = namedClientId(request, endpoint.bearer);
    if (clientId === undefined) return payload;
    try {
      if (await clientSpaOrigin(deps, request, clientId, origin)) {
        reply
          .header('Access-Control-Allow-Origin', origin)
          .header('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      }
    } catch (error) {
      // The answer is already decided; a failed lookup only leaves it unreadable cross-origin.
      request.log.warn({ err: error }, 'CORS: the client lookup failed');
    }
    return payload;
  });
}
