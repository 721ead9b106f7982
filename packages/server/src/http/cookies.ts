import type { CookieSerializeOptions } from '@fastify/cookie';
import type { AppDeps } from './deps.js';

/** The hosted forms' CSRF secret (Path=/), over http. */
export const CSRF_COOKIE = '_csrf';
/**
 * The same with an https base URL: `__Host-` makes browsers accept it only with Secure, Path=/
 * and no Domain, so a sibling subdomain or plain http on this host cannot set it.
 */
export const CSRF_COOKIE_SECURE = '__Host-gh_csrf';

/*
 * The environment cookies below cannot carry `__Host-`: it requires Path=/, and they are scoped to
 * /e/<env> so that one environment (another issuer) never receives another's. They are HttpOnly,
 * SameSite=Lax and Secure with an https base URL. The admin console's session cookie is scoped to
 * /admin for the same reason (src/admin/session.ts).
 */
export const SESSION_COOKIE = 'gh_session';
/** Binds a pending authorization request to the browser that started it. */
export const INTERACTION_COOKIE = 'gh_interaction';
/** Carries an operator's impersonation in their browser; only its hash is stored. */
export const IMPERSONATION_COOKIE = 'gh_impersonation';
export const SESSION_TTL_MS = 8 * 3600 * 1000;
export const INTERACTION_TTL_MS = 10 * 60 * 1000;

/** Cookies live under the environment's path, so one environment never sees another's. */
export function cookieOptions(
  deps: AppDeps,
  environment: string,
  maxAgeMs: number,
): CookieSerializeOptions {
  return {
    path: `/e/${environment}`,
    httpOnly: true,
    sameSite: 'lax',
    secure: deps.config.secureCookies,
    maxAge: Math.floor(maxAgeMs / 1000),
  };
}
