import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { registerAdmin } from './admin/index.js';
import { accountEndpoints } from './endpoints/account/index.js';
import { registerImpersonationBanner } from './authorization/impersonation-banner.js';
import { authorizeEndpoint } from './endpoints/authorize/index.js';
import { deviceEndpoints } from './endpoints/device/index.js';
import { discoveryEndpoints } from './endpoints/discovery/index.js';
import { endSessionEndpoint } from './endpoints/end-session/index.js';
import { healthEndpoints } from './endpoints/health/index.js';
import { homeEndpoints } from './endpoints/home/index.js';
import { impersonationEndpoints } from './endpoints/impersonation/index.js';
import { interactionEndpoints } from './endpoints/interaction/index.js';
import { dynamicClientRegistrationEndpoint } from './endpoints/register/index.js';
import { introspectEndpoint } from './endpoints/introspect/index.js';
import { parEndpoint } from './endpoints/par/index.js';
import { revocationFeedEndpoint } from './endpoints/revocations/index.js';
import { revokeEndpoint } from './endpoints/revoke/index.js';
import { tokenEndpoint } from './endpoints/token/index.js';
import { userinfoEndpoint } from './endpoints/userinfo/index.js';
import type { ServerConfig } from './config.js';
import type { AppDeps } from './http/deps.js';
import { registerErrorHandler } from './http/error-handler.js';
import { CSRF_COOKIE, CSRF_COOKIE_SECURE } from './http/cookies.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { registerCors } from './http/cors.js';
import { answerClientError } from './http/client-error.js';
import { registerRequestLog } from './http/request-log.js';

/**
 * Query parameters, code, state and tokens must never reach a log: requests are logged by
 * http/request-log.ts (route template, status, duration, environment, client id), and a request
 * that reaches a log any other way shows its method and path only.
 */
const REDACTED_LOGGING = {
  serializers: {
    req: (req: { method: string; url: string }) => ({
      method: req.method,
      path: req.url.split('?')[0],
    }),
  },
} satisfies FastifyServerOptions['logger'];

/**
 * --trust-proxy as Fastify takes it. A hop count becomes proxy-addr's own rule for one (trust the
 * nearest `n` hops: the socket's peer is hop 0), written out because Fastify 5 turns a bare
 * number into "trust nothing"; a list is passed on (a copy: proxy-addr compiles it).
 */
function fastifyTrustProxy(
  trust: ServerConfig['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust === false ? false : [...trust];
}

export async function createApp(
  deps: AppDeps,
  options: {
    logger?: boolean;
    logStream?: { write(line: string): void };
    /** Where the built admin console is; default the one the package carries (DEFAULT_CONSOLE_DIR). */
    consoleDir?: string;
    /**
     * Which proxies' X-Forwarded-For is believed (--trust-proxy): `request.ip`, the address every
     * limit and audit entry uses, is then the client's. Off by default: the socket's address.
     */
    trustProxy?: ServerConfig['trustProxy'];
  } = {},
): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            ...REDACTED_LOGGING,
            level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
            ...(options.logStream === undefined ? {} : { stream: options.logStream }),
          },
    clientErrorHandler: answerClientError,
    trustProxy: fastifyTrustProxy(options.trustProxy ?? false),
    bodyLimit: 64 * 1024,
    // Fastify's two lines per request would show the URL: http/request-log.ts writes one instead.
    logController: new LogController({ disableRequestLogging: true }),
  });
  registerRequestLog(app, deps.metrics);
  await app.register(fastifyFormbody);
  await app.register(fastifyCookie);
  await app.register(fastifyCsrf, {
    // Path=/ and no Domain: with https it can carry __Host-, so neither a sibling subdomain nor
    // plain http on this host can plant a token the attacker knows. Over http the prefix is
    // refused by browsers, and the development name stays.
    cookieKey: deps.config.secureCookies ? CSRF_COOKIE_SECURE : CSRF_COOKIE,
    cookieOpts: {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: deps.config.secureCookies,
    },
    getToken: (request) => (request.body as Record<string, string> | undefined)?._csrf,
  });
  registerSecurityHeaders(app);
  registerCors(app, deps);
  registerErrorHandler(app);
  registerImpersonationBanner(app, deps);
  healthEndpoints(app, deps);
  homeEndpoints(app, deps);
  discoveryEndpoints(app, deps);
  authorizeEndpoint(app, deps);
  parEndpoint(app, deps);
  interactionEndpoints(app, deps);
  deviceEndpoints(app, deps);
  tokenEndpoint(app, deps);
  revokeEndpoint(app, deps);
  introspectEndpoint(app, deps);
  revocationFeedEndpoint(app, deps);
  userinfoEndpoint(app, deps);
  endSessionEndpoint(app, deps);
  accountEndpoints(app, deps);
  impersonationEndpoints(app, deps);
  dynamicClientRegistrationEndpoint(app, deps);
  await registerAdmin(app, deps, options.consoleDir);
  return app;
}
