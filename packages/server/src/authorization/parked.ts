/**
 * A validated authorization request waiting for the user to sign in or consent, bound to the
 * browser that made it by a cookie.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomToken, sha256 } from '../crypto/random.js';
import { cookieOptions, INTERACTION_COOKIE, INTERACTION_TTL_MS } from '../http/cookies.js';
import type { AppDeps, EnvironmentContext } from '../http/deps.js';
import { sendNoStorePage } from '../http/no-store-page.js';
import { allowFormRedirect } from '../http/security-headers.js';
import { errorPage } from '../pages/pages.js';
import type { PendingAuthorization } from '../storage/authorization-requests.js';

/** A pending request as stored, with when it was made (to tell a fresh sign-in from an old one). */
export interface StoredAuthorization extends PendingAuthorization {
  readonly createdAt: number;
  /**
   * The sign-in time of a sign-in made on this request's own login page. Only that one is an
   * interaction with this request: a sign-in made meanwhile elsewhere in the browser (another
   * tab, the device page) also postdates `createdAt`, yet the user never saw this request.
   */
  readonly signedInAt?: number;
}

/** Parks a validated request and binds it to this browser with a cookie. */
export async function parkRequest(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  reply: FastifyReply,
  pending: PendingAuthorization,
): Promise<void> {
  const id = randomToken(24);
  const now = deps.clock();
  const stored: StoredAuthorization = { ...pending, createdAt: now };
  await deps.stores.authorizationRequests.save(
    requestEnv.environment.name,
    sha256(id),
    stored,
    now + INTERACTION_TTL_MS,
    now,
  );
  reply.setCookie(
    INTERACTION_COOKIE,
    id,
    cookieOptions(deps, requestEnv.environment.name, INTERACTION_TTL_MS),
  );
  // The sign-in or consent page shown next answers with a redirect to the client.
  allowFormRedirect(reply.request, pending.redirectUri);
}

/** The request this browser parked, if it has not expired. */
export async function parkedRequest(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
): Promise<{ id: string; pending: StoredAuthorization } | undefined> {
  const id = request.cookies[INTERACTION_COOKIE];
  if (id === undefined || id === '') return undefined;
  const pending = await deps.stores.authorizationRequests.find(
    requestEnv.environment.name,
    sha256(id),
    deps.clock(),
  );
  if (pending === undefined) return undefined;
  // Every page for this request (sign-in, consent, confirmation) ends in a redirect to the client.
  allowFormRedirect(request, pending.redirectUri);
  return { id, pending: pending as StoredAuthorization };
}

/** Records that the user signed in on this request's own login page (see `signedInAt`). */
export async function recordSignInFor(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  id: string,
  authTime: number,
): Promise<void> {
  await deps.stores.authorizationRequests.update(
    requestEnv.environment.name,
    sha256(id),
    deps.clock(),
    {
      signedInAt: authTime,
    },
  );
}

/**
 * Forgets a parked request once it is answered, so it cannot be answered twice. False when another
 * request answered it first (the same form sent twice at once: both read it before either
 * deleted it): that one must then answer nothing — no second code, no second redirect.
 */
export async function finishParked(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  reply: FastifyReply,
  id: string,
): Promise<boolean> {
  const finished = await deps.stores.authorizationRequests.delete(
    requestEnv.environment.name,
    sha256(id),
  );
  reply.clearCookie(INTERACTION_COOKIE, { path: `/e/${requestEnv.environment.name}` });
  return finished;
}

/** The page for a request whose parked authorization another request has just answered. */
export function answeredAlready(reply: FastifyReply): FastifyReply {
  return sendNoStorePage(
    reply,
    400,
    errorPage(
      'Sign-in already answered',
      'This sign-in was answered already (the form was sent more than once). Go back to the application.',
    ),
  );
}
