import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { currentImpersonation } from '../../authorization/impersonation.js';
import { currentSession } from '../../authorization/session.js';
import { cookieOptions, SESSION_COOKIE } from '../../http/cookies.js';
import { csrfChecked } from '../../http/csrf.js';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { singleParams } from '../../http/form.js';
import { sendNoStorePage } from '../../http/no-store-page.js';
import { signIn } from '../../http/sign-in.js';
import { accountPage, type AccountNotice } from '../../pages/account.js';
import { errorPage, loginPage } from '../../pages/pages.js';
import { accountView, endAccountSession, revokeClientAccess } from '../../services/account.js';
import type { ServiceContext } from '../../services/context.js';
import type { Session } from '../../storage/sessions.js';
import type { User } from '../../storage/users.js';

/**
 * The end user's account page (issue #17): GET /e/:env/account, its sign-in form's POST
 * /e/:env/account/login, and the one-click forms POST /e/:env/account/revoke and
 * /e/:env/account/sessions/end.
 *
 * - Sign-in: without a session in this environment the page is the hosted sign-in form itself,
 *   posting to /account/login, which answers with a 303 to /e/<env>/account and nowhere else: the
 *   page takes no return address, so it cannot be made to send a browser anywhere (no open
 *   redirect). Same limits, audit and session as every hosted sign-in (http/sign-in.ts).
 * - Every POST carries the form's CSRF token (http/csrf.ts); the session cookie is SameSite=Lax,
 *   so another site's POST arrives without it too.
 * - The user is the session's, never the form's: a client id or session handle in the form is
 *   looked up among that user's own (services/account.ts).
 * - An operator's impersonation is refused: it stands in for the user at one client only, and what
 *   the user gave their applications, and where they are signed in, is theirs to end.
 * - Headers as every page (http/security-headers.ts): strict CSP, not framable, no-store.
 */
export function accountEndpoints(app: FastifyInstance, deps: AppDeps): void {
  app.get('/e/:env/account', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    if (await impersonating(deps, requestEnv, request)) return refuseImpersonation(reply);
    const signedIn = await currentSession(deps, requestEnv, request);
    if (signedIn === undefined) return showLogin(requestEnv, reply, 200, {});
    return showAccount(deps, requestEnv, reply, signedIn, noticeOf(request.query));
  });

  app.post('/e/:env/account/login', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    if (await impersonating(deps, requestEnv, request)) return refuseImpersonation(reply);
    const body = singleParams(request.body);
    const email = (body.email ?? '').trim();
    const outcome = await signIn(deps, requestEnv, request, reply, email, body.password ?? '', {
      page: 'account',
    });
    if (!outcome.ok)
      return showLogin(requestEnv, reply, outcome.status, { email, error: outcome.message });
    return reply.redirect(accountPath(requestEnv), 303);
  });

  app.post('/e/:env/account/revoke', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const signedIn = await signedInForChange(deps, requestEnv, request, reply);
    if (signedIn === undefined) return reply;
    const clientId = singleParams(request.body).client_id ?? '';
    if (clientId === '' || clientId.length > MAX_FIELD_LENGTH) return notYours(reply);
    const env = requestEnv.environment.name;
    // Each revocation writes events every resource server of the environment keeps for a while:
    // one user is held to the bound the revocation endpoint holds a client to.
    const allowed = await deps.revocationLimiter.reserve(
      `account:${env}:${signedIn.user.id}`,
      deps.clock(),
    );
    if (!allowed.granted)
      return sendNoStorePage(
        reply.header('Retry-After', String(Math.ceil(allowed.retryAfterMs / 1000))),
        429,
        errorPage('Too many revocations', 'Too many revocations for now. Try again later.'),
      );
    const revoked = await revokeClientAccess(
      serviceContext(deps, signedIn.user),
      env,
      signedIn.user.id,
      clientId,
    );
    if (revoked === undefined) return notYours(reply);
    return reply.redirect(`${accountPath(requestEnv)}?done=revoked`, 303);
  });

  app.post('/e/:env/account/sessions/end', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const signedIn = await signedInForChange(deps, requestEnv, request, reply);
    if (signedIn === undefined) return reply;
    const handle = singleParams(request.body).session ?? '';
    if (handle === '' || handle.length > MAX_FIELD_LENGTH) return notYours(reply);
    const ended = await endAccountSession(
      serviceContext(deps, signedIn.user),
      requestEnv.environment.name,
      signedIn.user.id,
      handle,
      signedIn.session,
    );
    if (ended === undefined) return notYours(reply);
    if (ended.current)
      reply.clearCookie(SESSION_COOKIE, cookieOptions(deps, requestEnv.environment.name, 0));
    return reply.redirect(`${accountPath(requestEnv)}?done=session_ended`, 303);
  });

  const showLogin = (
    requestEnv: EnvironmentContext,
    reply: FastifyReply,
    status: number,
    fields: { email?: string; error?: string },
  ) =>
    sendNoStorePage(
      reply,
      status,
      loginPage({
        environment: requestEnv.environment.name,
        clientName: null,
        csrf: reply.generateCsrf(),
        interaction: '',
        action: `${accountPath(requestEnv)}/login`,
        ...fields,
      }),
    );
}

/** A client id or session handle longer than this is no one's (client ids are URLs at most 2 KB). */
const MAX_FIELD_LENGTH = 4096;

const accountPath = (requestEnv: EnvironmentContext) => `/e/${requestEnv.environment.name}/account`;

function serviceContext(deps: AppDeps, user: User): ServiceContext {
  return { stores: deps.stores, clock: deps.clock, actor: `user:${user.id}` };
}

function noticeOf(query: unknown): AccountNotice | undefined {
  const done = singleParams(query).done;
  return done === 'revoked' || done === 'session_ended' ? done : undefined;
}

async function impersonating(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
): Promise<boolean> {
  return (await currentImpersonation(deps, requestEnv, request)) !== undefined;
}

function refuseImpersonation(reply: FastifyReply): FastifyReply {
  return sendNoStorePage(
    reply,
    403,
    errorPage(
      'Not available while impersonating',
      'The account page is the user’s own: it is not shown during an impersonation. End the impersonation first.',
    ),
  );
}

/** Neither the user's grant nor their session: the same answer for both, naming nothing. */
function notYours(reply: FastifyReply): FastifyReply {
  return sendNoStorePage(
    reply,
    404,
    errorPage(
      'Nothing to change',
      'That has ended already, or is not yours. Go back to your account page to see what is current.',
    ),
  );
}

/** The signed-in user for a POST; otherwise the answer is sent and undefined returned. */
async function signedInForChange(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ session: Session; user: User } | undefined> {
  if (await impersonating(deps, requestEnv, request)) {
    refuseImpersonation(reply);
    return undefined;
  }
  const signedIn = await currentSession(deps, requestEnv, request);
  if (signedIn === undefined) {
    // Signed out meanwhile (another tab, the session ended elsewhere): back to the sign-in form.
    void reply.redirect(accountPath(requestEnv), 303);
    return undefined;
  }
  return signedIn;
}

async function showAccount(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  reply: FastifyReply,
  signedIn: { session: Session; user: User },
  notice: AccountNotice | undefined,
): Promise<FastifyReply> {
  const view = await accountView(
    deps,
    requestEnv.environment.name,
    signedIn.user.id,
    signedIn.session,
  );
  return sendNoStorePage(
    reply,
    200,
    accountPage({
      environment: requestEnv.environment.name,
      email: signedIn.user.email,
      csrf: reply.generateCsrf(),
      ...view,
      ...(notice === undefined ? {} : { notice }),
    }),
  );
}
