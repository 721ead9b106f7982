import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps, EnvironmentContext } from '../http/deps.js';
import { errorPage } from '../pages/pages.js';
import { decideNext, type NextStep, type SignInFacts } from './decide.js';
import { currentImpersonation } from './impersonation.js';
import { answeredAlready, finishParked, parkRequest, type StoredAuthorization } from './parked.js';
import { redirectError, redirectParkedError, redirectWithCode } from './respond.js';
import { currentSession } from './session.js';

/**
 * Takes a validated request one step further: loads what the browser and the store know, lets
 * `decideNext` choose, and carries the choice out. Called by /authorize (nothing parked yet) and
 * again after each interaction (`parkedId` set).
 */
export async function advance(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: StoredAuthorization,
  parkedId: string | undefined,
): Promise<FastifyReply> {
  const facts = await loadSignInFacts(deps, requestEnv, request, pending);
  return carryOut(deps, requestEnv, reply, pending, parkedId, decideNext(facts), facts.session);
}

/**
 * The user's "Continue" on the confirmation page. Decided afresh: the code is sent only if a
 * confirmation is still what the parked request needs; anything else (a sign-in, a consent, the
 * code of a client that no longer needs one) is carried out as /authorize would.
 */
export async function confirmParked(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: StoredAuthorization,
  parkedId: string,
): Promise<FastifyReply> {
  const facts = await loadSignInFacts(deps, requestEnv, request, pending);
  const next = decideNext(facts);
  if (next.kind !== 'confirm')
    return carryOut(deps, requestEnv, reply, pending, parkedId, next, facts.session);
  if (!(await finishParked(deps, requestEnv, reply, parkedId))) return answeredAlready(reply);
  return redirectWithCode(
    deps,
    reply,
    requestEnv,
    pending,
    next.userId,
    next.authTime,
    undefined,
    sessionOf(facts.session),
  );
}

/**
 * Whether the parked request needs a sign-in first (none yet, prompt=login, max_age): then no
 * other page for it may answer it, the consent page included.
 */
export async function needsSignIn(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
  pending: StoredAuthorization,
): Promise<boolean> {
  return decideNext(await loadSignInFacts(deps, requestEnv, request, pending)).kind === 'login';
}

async function loadSignInFacts(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
  pending: StoredAuthorization,
): Promise<SignInFacts> {
  const env = requestEnv.environment.name;
  const impersonating = await currentImpersonation(deps, requestEnv, request);
  const current = await currentSession(deps, requestEnv, request);
  const now = deps.clock();
  const client = await deps.stores.clients.get(env, pending.clientId);
  // A first-party client never asks for consent, so what was granted to it is not read.
  const consented =
    current === undefined || client === undefined || client.skipConsent
      ? undefined
      : await deps.stores.consents.get(env, current.user.id, client.clientId);
  return {
    request: pending,
    session:
      current === undefined
        ? undefined
        : {
            userId: current.user.id,
            authTime: current.session.authTime,
            sid: current.session.sid,
          },
    impersonation:
      impersonating === undefined ? undefined : { clientId: impersonating.impersonation.clientId },
    client,
    consented,
    now,
  };
}

async function carryOut(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  reply: FastifyReply,
  pending: StoredAuthorization,
  parkedId: string | undefined,
  next: NextStep,
  session: SignInFacts['session'],
): Promise<FastifyReply> {
  switch (next.kind) {
    case 'impersonating-another-client':
      return reply
        .status(400)
        .type('text/html; charset=utf-8')
        .send(
          errorPage(
            'Impersonation is for another application',
            'You are impersonating a user for another application. End the impersonation before signing in here.',
          ),
        );
    case 'error':
      // Straight from /authorize the URI was matched in this request; a parked one may have gone.
      return parkedId === undefined
        ? redirectError(reply, requestEnv, pending, next.error)
        : redirectParkedError(deps, reply, requestEnv, pending, next.error);
    case 'login':
    case 'consent':
    case 'confirm':
      if (parkedId === undefined) await parkRequest(deps, requestEnv, reply, pending);
      return reply.redirect(`/e/${requestEnv.environment.name}/${next.kind}`, 303);
    case 'code':
      if (parkedId !== undefined && !(await finishParked(deps, requestEnv, reply, parkedId)))
        return answeredAlready(reply);
      return redirectWithCode(
        deps,
        reply,
        requestEnv,
        pending,
        next.userId,
        next.authTime,
        undefined,
        sessionOf(session),
      );
  }
}

/** The session a code is issued under, for its sid (none known: null). */
function sessionOf(session: SignInFacts['session']): { sid: string | null } {
  return { sid: session?.sid ?? null };
}
