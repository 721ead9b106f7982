import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomToken, sha256 } from '../../crypto/random.js';
import { ConsentRequired, LoginRequired } from '../../errors.js';
import { errorPage } from '../../pages/pages.js';
import {
  cookieOptions,
  IMPERSONATION_COOKIE,
  INTERACTION_COOKIE,
  INTERACTION_TTL_MS,
  SESSION_COOKIE,
} from '../../http/cookies.js';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import { actingOperator } from '../../services/impersonation.js';
import { consentItems } from '../../services/resources.js';
import type { PendingAuthorization } from '../../storage/authorization-requests.js';
import type { Impersonation } from '../../storage/impersonations.js';
import type { Session } from '../../storage/sessions.js';
import type { User } from '../../storage/users.js';
import type { ActingOperator } from '../../tokens/issue.js';
import { redirectError, redirectWithCode } from '../../authorization/respond.js';

/** A pending request as stored, with when it was made (to tell a fresh sign-in from an old one). */
export interface StoredAuthorization extends PendingAuthorization {
  readonly createdAt: number;
}

export async function currentSession(
  deps: AppDeps,
  ctx: EnvironmentContext,
  request: FastifyRequest,
): Promise<{ session: Session; user: User } | undefined> {
  const id = request.cookies[SESSION_COOKIE];
  if (id === undefined || id === '') return undefined;
  const session = await deps.stores.sessions.find(ctx.environment.name, sha256(id), deps.clock());
  if (session === undefined) return undefined;
  const user = await deps.stores.users.get(ctx.environment.name, session.userId);
  if (user === undefined || user.disabled) return undefined;
  return { session, user };
}

export interface ImpersonationSession {
  readonly impersonation: Impersonation;
  readonly user: User;
  readonly acting: ActingOperator;
}

/**
 * The operator's impersonation this browser carries, while it runs. It stands in for a session
 * only for its own client; the user's own sessions and credentials are never touched.
 */
export async function currentImpersonation(
  deps: AppDeps,
  ctx: EnvironmentContext,
  request: FastifyRequest,
): Promise<ImpersonationSession | undefined> {
  const cookie = request.cookies[IMPERSONATION_COOKIE];
  if (cookie === undefined || cookie === '') return undefined;
  const env = ctx.environment.name;
  const impersonation = await deps.stores.impersonations.findByCookie(env, sha256(cookie));
  if (impersonation === undefined) return undefined;
  const acting = await actingOperator(deps, env, impersonation.id);
  if (acting === undefined) return undefined;
  const user = await deps.stores.users.get(env, impersonation.userId);
  if (user === undefined || user.disabled) return undefined;
  return { impersonation, user, acting };
}

/** Parks a validated request and binds it to this browser with a cookie. */
export async function parkRequest(
  deps: AppDeps,
  ctx: EnvironmentContext,
  reply: FastifyReply,
  pending: PendingAuthorization,
): Promise<void> {
  const id = randomToken(24);
  const now = deps.clock();
  const stored: StoredAuthorization = { ...pending, createdAt: now };
  await deps.stores.authorizationRequests.save(
    ctx.environment.name,
    sha256(id),
    stored,
    now + INTERACTION_TTL_MS,
    now,
  );
  reply.setCookie(
    INTERACTION_COOKIE,
    id,
    cookieOptions(deps, ctx.environment.name, INTERACTION_TTL_MS),
  );
}

export async function parkedRequest(
  deps: AppDeps,
  ctx: EnvironmentContext,
  request: FastifyRequest,
): Promise<{ id: string; pending: StoredAuthorization } | undefined> {
  const id = request.cookies[INTERACTION_COOKIE];
  if (id === undefined || id === '') return undefined;
  const pending = await deps.stores.authorizationRequests.find(
    ctx.environment.name,
    sha256(id),
    deps.clock(),
  );
  return pending === undefined ? undefined : { id, pending: pending as StoredAuthorization };
}

/**
 * Decides the next step for a request: sign in, consent, or the code. Called after /authorize
 * and again after each interaction.
 */
export async function advance(
  deps: AppDeps,
  ctx: EnvironmentContext,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: StoredAuthorization,
  parkedId: string | undefined,
): Promise<FastifyReply> {
  const env = ctx.environment.name;
  const impersonating = await currentImpersonation(deps, ctx, request);
  if (impersonating !== undefined) {
    // Shown to the operator, never sent to the other application.
    if (impersonating.impersonation.clientId !== pending.clientId)
      return reply
        .status(400)
        .type('text/html; charset=utf-8')
        .send(
          errorPage(
            'Impersonation is for another application',
            'You are impersonating a user for another application. End the impersonation before signing in here.',
          ),
        );
    // The operator confirms on the consent page (with the banner) every time; nothing is remembered.
    if (pending.prompt.includes('none'))
      return redirectError(reply, ctx, pending, new ConsentRequired());
    if (parkedId === undefined) await parkRequest(deps, ctx, reply, pending);
    return reply.redirect(`/e/${env}/consent`, 303);
  }
  const current = await currentSession(deps, ctx, request);
  const now = deps.clock();
  const stale =
    current === undefined ||
    (pending.prompt.includes('login') && current.session.authTime < pending.createdAt) ||
    (pending.maxAge !== null &&
      now - current.session.authTime > pending.maxAge * 1000 &&
      // A sign-in made for this very request satisfies any max_age, even 0.
      current.session.authTime < pending.createdAt);
  if (stale) {
    if (pending.prompt.includes('none'))
      return redirectError(reply, ctx, pending, new LoginRequired());
    if (parkedId === undefined) await parkRequest(deps, ctx, reply, pending);
    return reply.redirect(`/e/${env}/login`, 303);
  }
  const client = await deps.stores.clients.get(env, pending.clientId);
  if (client === undefined)
    return redirectError(reply, ctx, pending, new LoginRequired('the client no longer exists'));
  const needsConsent =
    !client.skipConsent && (await consentMissing(deps, env, current, client.clientId, pending));
  if (needsConsent) {
    if (pending.prompt.includes('none'))
      return redirectError(reply, ctx, pending, new ConsentRequired());
    if (parkedId === undefined) await parkRequest(deps, ctx, reply, pending);
    return reply.redirect(`/e/${env}/consent`, 303);
  }
  if (parkedId !== undefined) await finishParked(deps, ctx, reply, parkedId);
  return redirectWithCode(deps, reply, ctx, pending, current.user.id, current.session.authTime);
}

/** Whether the user has yet to consent to what this request asks (a first-party client never asks). */
async function consentMissing(
  deps: AppDeps,
  env: string,
  current: { user: User },
  clientId: string,
  pending: StoredAuthorization,
): Promise<boolean> {
  if (pending.prompt.includes('consent')) return true;
  const granted = (await deps.stores.consents.get(env, current.user.id, clientId)) ?? [];
  const wanted = consentItems(pending.scope, pending.resource);
  const covered = wanted.every((s) => granted.includes(s)) && granted.length > 0;
  return !(covered || (wanted.length === 0 && granted.length > 0));
}

export async function finishParked(
  deps: AppDeps,
  ctx: EnvironmentContext,
  reply: FastifyReply,
  id: string,
): Promise<void> {
  await deps.stores.authorizationRequests.delete(ctx.environment.name, sha256(id));
  reply.clearCookie(INTERACTION_COOKIE, { path: `/e/${ctx.environment.name}` });
}
