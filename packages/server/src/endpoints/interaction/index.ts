import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../../crypto/random.js';
import { consentItems } from '../../services/resources.js';
import { AccessDenied } from '../../errors.js';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import { csrfChecked } from '../../http/csrf.js';
import { environmentContext } from '../../http/environment.js';
import { singleParams } from '../../http/form.js';
import { signIn } from '../../http/sign-in.js';
import { describeDestination } from '../../pages/destination.js';
import { confirmPage, consentPage, errorPage, loginPage } from '../../pages/pages.js';
import { advance, confirmParked, needsSignIn } from '../../authorization/advance.js';
import { currentImpersonation } from '../../authorization/impersonation.js';
import { splitByConsent } from '../../authorization/incremental-consent.js';
import {
  answeredAlready,
  finishParked,
  parkedRequest,
  recordSignInFor,
} from '../../authorization/parked.js';
import { currentSession } from '../../authorization/session.js';
import { hostOf, redirectParkedError, redirectWithCode } from '../../authorization/respond.js';

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(body);
}

/**
 * The form was for another pending request than the one this browser now holds: another
 * authorization started meanwhile (perhaps by a hostile page). Never apply a decision to a
 * request the user did not see.
 */
function replaced(reply: FastifyReply): FastifyReply {
  return html(
    reply,
    400,
    errorPage(
      'Sign-in replaced',
      'Another sign-in was started in this browser while this page was open, so this one was stopped. Go back to the application and start again.',
    ),
  );
}

function expired(reply: FastifyReply): FastifyReply {
  return html(
    reply,
    400,
    errorPage(
      'Sign-in expired',
      'This sign-in has expired or was opened in another browser. Start again from the application.',
    ),
  );
}

/**
 * The hosted login, consent and confirmation pages, and the step that resumes an authorization
 * after them.
 */
export function interactionEndpoints(app: FastifyInstance, deps: AppDeps): void {
  /** The sign-in form for a parked request, with an error when a try failed. */
  const showLogin = async (
    requestEnv: EnvironmentContext,
    reply: FastifyReply,
    parked: { id: string; pending: { clientId: string } },
    status: number,
    fields: { email: string; error?: string },
  ) => {
    const client = await deps.stores.clients.get(
      requestEnv.environment.name,
      parked.pending.clientId,
    );
    return html(
      reply,
      status,
      loginPage({
        environment: requestEnv.environment.name,
        clientName: client?.name ?? null,
        csrf: reply.generateCsrf(),
        interaction: sha256(parked.id),
        ...fields,
      }),
    );
  };

  app.get('/e/:env/login', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const parked = await parkedRequest(deps, requestEnv, request);
    if (parked === undefined) return expired(reply);
    return showLogin(requestEnv, reply, parked, 200, { email: parked.pending.loginHint ?? '' });
  });

  app.post('/e/:env/login', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const parked = await parkedRequest(deps, requestEnv, request);
    if (parked === undefined) return expired(reply);
    const body = singleParams(request.body);
    if (body.interaction !== sha256(parked.id)) return replaced(reply);
    const email = (body.email ?? '').trim();
    const password = body.password ?? '';
    const outcome = await signIn(deps, requestEnv, request, reply, email, password, {
      clientId: parked.pending.clientId,
    });
    if (!outcome.ok)
      return showLogin(requestEnv, reply, parked, outcome.status, {
        email,
        error: outcome.message,
      });
    await recordSignInFor(deps, requestEnv, parked.id, outcome.authTime);
    return reply.redirect(`/e/${requestEnv.environment.name}/authorize/continue`, 303);
  });

  app.get('/e/:env/authorize/continue', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const parked = await parkedRequest(deps, requestEnv, request);
    if (parked === undefined) return expired(reply);
    return advance(deps, requestEnv, request, reply, parked.pending, parked.id);
  });

  // RFC 8252 §8.6: a public client's request confirmed by the user in this very request.
  app.get('/e/:env/confirm', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const state = await consentState(deps, requestEnv, request);
    if (state === undefined) return expired(reply);
    const { pending, client, user } = state;
    return html(
      reply,
      200,
      confirmPage({
        environment: requestEnv.environment.name,
        clientName: client.name,
        email: user.email,
        destination: describeDestination(pending.redirectUri),
        csrf: reply.generateCsrf(),
        interaction: sha256(state.parkedId),
        ...(client.kind === 'registered'
          ? {}
          : { unverified: { kind: client.kind, identity: client.clientId } }),
      }),
    );
  });

  app.post('/e/:env/confirm', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const parked = await parkedRequest(deps, requestEnv, request);
    if (parked === undefined) return expired(reply);
    const body = singleParams(request.body);
    if (body.interaction !== sha256(parked.id)) return replaced(reply);
    if (body.decision !== 'allow') {
      if (!(await finishParked(deps, requestEnv, reply, parked.id))) return answeredAlready(reply);
      const current = await currentSession(deps, requestEnv, request);
      await audit(deps, requestEnv, 'authorization.cancelled', current?.user.id ?? null, {
        clientId: parked.pending.clientId,
      });
      return redirectParkedError(
        deps,
        reply,
        requestEnv,
        parked.pending,
        new AccessDenied('the user cancelled the request'),
      );
    }
    // Decided again: the code is sent only if this confirmation is still all the request needs.
    return confirmParked(deps, requestEnv, request, reply, parked.pending, parked.id);
  });

  app.get('/e/:env/consent', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const state = await consentState(deps, requestEnv, request);
    if (state === undefined) return expired(reply);
    const { pending, client, user } = state;
    if (state.acting === undefined && (await needsSignIn(deps, requestEnv, request, pending)))
      return reply.redirect(`/e/${requestEnv.environment.name}/login`, 303);
    // Incremental authorization: only what is new is asked; an operator's view shows it all.
    const split = splitByConsent(
      pending.scope,
      pending.resource,
      state.acting === undefined
        ? await deps.stores.consents.get(requestEnv.environment.name, user.id, client.clientId)
        : undefined,
    );
    return html(
      reply,
      200,
      consentPage({
        environment: requestEnv.environment.name,
        clientName: client.name,
        scopes: split.asked,
        ...(split.granted.length === 0 ? {} : { alreadyGranted: split.granted }),
        redirectHost: hostOf(pending.redirectUri),
        loopback: /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)[:/]/.test(pending.redirectUri),
        csrf: reply.generateCsrf(),
        interaction: sha256(state.parkedId),
        email: user.email,
        ...(pending.resource === null
          ? {}
          : {
              resource: {
                uri: pending.resource,
                name:
                  (await deps.stores.resources.get(requestEnv.environment.name, pending.resource))
                    ?.name ?? null,
              },
            }),
        ...(client.kind === 'registered'
          ? {}
          : { unverified: { kind: client.kind, identity: client.clientId } }),
      }),
    );
  });

  app.post('/e/:env/consent', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const state = await consentState(deps, requestEnv, request);
    if (state === undefined) return expired(reply);
    const { parkedId, pending, client, user, authTime, acting, sid } = state;
    const body = singleParams(request.body);
    if (body.interaction !== sha256(parkedId)) return replaced(reply);
    // prompt=login or max_age asked for a sign-in: a click here is not one.
    if (acting === undefined && (await needsSignIn(deps, requestEnv, request, pending)))
      return reply.redirect(`/e/${requestEnv.environment.name}/login`, 303);
    const decision = body.decision;
    if (!(await finishParked(deps, requestEnv, reply, parkedId))) return answeredAlready(reply);
    if (acting !== undefined) {
      // An operator's decision is never stored as the user's consent.
      if (decision !== 'allow')
        return redirectParkedError(
          deps,
          reply,
          requestEnv,
          pending,
          new AccessDenied('the operator cancelled'),
        );
      return redirectWithCode(deps, reply, requestEnv, pending, user.id, authTime, acting);
    }
    if (decision !== 'allow') {
      await audit(deps, requestEnv, 'consent.denied', user.id, { clientId: client.clientId });
      return redirectParkedError(
        deps,
        reply,
        requestEnv,
        pending,
        new AccessDenied('the user denied the request'),
      );
    }
    // The consent and its audit entry are committed together (storage/consents.ts).
    const grantedAt = deps.clock();
    await deps.stores.consents.grant(
      {
        environment: requestEnv.environment.name,
        userId: user.id,
        clientId: client.clientId,
        scopes: consentItems(pending.scope, pending.resource),
        at: grantedAt,
      },
      {
        at: grantedAt,
        event: {
          environment: requestEnv.environment.name,
          type: 'consent.granted',
          actor: `user:${user.id}`,
          userId: user.id,
          data: {
            clientId: client.clientId,
            scope: pending.scope.join(' '),
            ...(pending.resource === null ? {} : { resource: pending.resource }),
          },
        },
      },
    );
    return redirectWithCode(deps, reply, requestEnv, pending, user.id, authTime, undefined, {
      sid,
    });
  });
}

async function consentState(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
) {
  const parked = await parkedRequest(deps, requestEnv, request);
  if (parked === undefined) return undefined;
  const client = await deps.stores.clients.get(
    requestEnv.environment.name,
    parked.pending.clientId,
  );
  if (client === undefined) return undefined;
  const impersonating = await currentImpersonation(deps, requestEnv, request);
  if (impersonating !== undefined && impersonating.impersonation.clientId === client.clientId) {
    return {
      parkedId: parked.id,
      pending: parked.pending,
      client,
      user: impersonating.user,
      authTime: impersonating.impersonation.startedAt,
      acting: impersonating.acting,
      sid: null,
    };
  }
  const current = await currentSession(deps, requestEnv, request);
  if (current === undefined) return undefined;
  return {
    parkedId: parked.id,
    pending: parked.pending,
    client,
    user: current.user,
    authTime: current.session.authTime,
    acting: undefined,
    sid: current.session.sid,
  };
}

async function audit(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  type: string,
  userId: string | null,
  data: Record<string, unknown>,
): Promise<void> {
  await deps.stores.audit.append(
    {
      environment: requestEnv.environment.name,
      type,
      actor: userId === null ? 'anonymous' : `user:${userId}`,
      userId,
      data,
    },
    deps.clock(),
  );
}
