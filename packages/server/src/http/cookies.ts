import type { CookieSerializeOptions } from '@fastify/cookie';
import type { AppDeps } from './deps.js';

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
