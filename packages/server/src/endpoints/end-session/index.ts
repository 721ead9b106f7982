import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  recordRefusedPostLogoutRedirect,
  RedirectUriRefused,
} from '../../authorization/refused-redirect.js';
import { redirectWith } from '../../authorization/respond.js';
import { sha256 } from '../../crypto/random.js';
import { OAuthError, UnsafeAuthorizationRequest } from '../../errors.js';
import { cookieOptions, SESSION_COOKIE } from '../../http/cookies.js';
import { csrfChecked } from '../../http/csrf.js';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { singleParams } from '../../http/form.js';
import { sendNoStorePage } from '../../http/no-store-page.js';
import { allowFormRedirect } from '../../http/security-headers.js';
import { endSession, type SessionEndReason } from '../../services/logout.js';
import { errorPage } from '../../pages/pages.js';
import {
  logoutConfirmPage,
  signedOutPage,
  stillSignedInPage,
  type LogoutFormFields,
  type ReturnLink,
} from '../../pages/logout.js';
import type { Session } from '../../storage/sessions.js';
import {
  checkLogoutRequest,
  MAX_STATE_LENGTH,
  mayRedirect,
  type CheckedLogout,
  type LogoutParams,
} from './request.js';

/**
 * The end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0): GET and POST
 * /e/:env/logout, and the confirmation form's POST /e/:env/logout/confirm.
 */
export function endSessionEndpoint(app: FastifyInstance, deps: AppDeps): void {
  app.get('/e/:env/logout', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    return answer(deps, requestEnv, request, reply, () => readParams(request.query));
  });

  // §2: the RP may POST the same parameters as a form. The session cookie is SameSite=Lax, so a
  // cross-site POST arrives without it: the browser is sent on to the GET form (a top-level GET
  // navigation, which carries it) with the same parameters.
  app.post('/e/:env/logout', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    let params: LogoutParams;
    try {
      params = readParams(request.body);
    } catch (error) {
      return showError(deps, requestEnv, reply, error, request.ip);
    }
    const query = new URLSearchParams(
      Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    return reply.redirect(`/e/${requestEnv.environment.name}/logout?${query.toString()}`, 303);
  });

  app.post('/e/:env/logout/confirm', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const body = singleParams(request.body);
    const decision = body.decision;
    // The hidden fields are the browser's to change: checked again exactly as on the way in.
    let checked: CheckedLogout;
    try {
      checked = await checkLogoutRequest(deps, requestEnv, readParams(body));
    } catch (error) {
      return showError(deps, requestEnv, reply, error, request.ip);
    }
    if (decision !== 'logout')
      return sendNoStorePage(reply, 200, stillSignedInPage(linkBack(checked)));
    const session = await browserSession(deps, requestEnv, request);
    if (session !== undefined) await end(deps, requestEnv, session, checked, 'confirmed');
    return signedOut(deps, requestEnv, reply, checked, false, session !== undefined);
  });
}

/**
 * Reads the parameters; a repeated one is refused (RFC 6749 §3.1, as at /authorize). `state` is
 * copied into a Location header: beyond MAX_STATE_LENGTH it is refused with a page rather than
 * sent on (a POSTed form could otherwise make the redirect, and the RP's request line, any size).
 */
function readParams(input: unknown): LogoutParams {
  const all = singleParams(input);
  if (all.state !== undefined && all.state.length > MAX_STATE_LENGTH)
    throw new UnsafeAuthorizationRequest('This sign-out request is too large, so it was stopped.', {
      message: `state is longer than ${MAX_STATE_LENGTH} characters`,
    });
  const pick = (name: keyof LogoutParams) => (all[name] === undefined ? {} : { [name]: all[name] });
  return {
    ...pick('id_token_hint'),
    ...pick('client_id'),
    ...pick('post_logout_redirect_uri'),
    ...pick('state'),
  };
}

async function answer(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
  reply: FastifyReply,
  params: () => LogoutParams,
): Promise<FastifyReply> {
  let checked: CheckedLogout;
  try {
    checked = await checkLogoutRequest(deps, requestEnv, params());
  } catch (error) {
    return showError(deps, requestEnv, reply, error, request.ip);
  }
  countLogoutUsage(deps, requestEnv, checked, 'request');
  const session = await browserSession(deps, requestEnv, request);
  // Nothing to end: straight to where the client asked to go (it is registered) or the page.
  if (session === undefined) return signedOut(deps, requestEnv, reply, checked, false, false);
  // §2: a valid hint naming this browser's user (and, when it says, this very session) is the
  // client asking for its own user; anything else could be a cross-site page: ask first.
  const { hint } = checked;
  if (
    hint !== undefined &&
    hint.sub === session.userId &&
    (hint.sid === undefined || hint.sid === session.sid)
  ) {
    await end(deps, requestEnv, session, checked, 'id_token_hint');
    return signedOut(deps, requestEnv, reply, checked, true, true);
  }
  const user = await deps.stores.users.get(requestEnv.environment.name, session.userId);
  // The form's 303 leads to the registered return address: CSP form-action must allow it.
  const byLink = !mayRedirect(checked, false);
  if (checked.postLogoutRedirectUri !== undefined && !byLink)
    allowFormRedirect(request, checked.postLogoutRedirectUri);
  const fields: LogoutFormFields = {
    ...(checked.client === undefined ? {} : { client_id: checked.client.clientId }),
    ...(checked.postLogoutRedirectUri === undefined
      ? {}
      : { post_logout_redirect_uri: checked.postLogoutRedirectUri }),
    ...(checked.state === undefined ? {} : { state: checked.state }),
  };
  return sendNoStorePage(
    reply,
    200,
    logoutConfirmPage({
      environment: requestEnv.environment.name,
      csrf: reply.generateCsrf(),
      email: user?.email ?? 'an account that no longer exists',
      clientName: checked.client?.name ?? null,
      ...(checked.client === undefined || checked.client.kind === 'registered'
        ? {}
        : { unverified: { kind: checked.client.kind, identity: checked.client.clientId } }),
      returnByLink: byLink,
      fields,
    }),
  );
}

/** The session this browser's cookie names, disabled user or not: it is ended either way. */
async function browserSession(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
): Promise<Session | undefined> {
  const id = request.cookies[SESSION_COOKIE];
  if (id === undefined || id === '') return undefined;
  return deps.stores.sessions.find(requestEnv.environment.name, sha256(id), deps.clock());
}

async function end(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  session: Session,
  checked: CheckedLogout,
  reason: SessionEndReason,
): Promise<void> {
  await endSession(
    { stores: deps.stores, clock: deps.clock, actor: `user:${session.userId}` },
    {
      environment: requestEnv.environment.name,
      session,
      clientId: checked.client?.clientId ?? null,
      reason,
    },
  );
}

/**
 * The registered URI with `state` appended when the RP sent one (§3), the rest of it kept
 * character for character (authorization/respond.ts `redirectWith`).
 */
function returnAddress(uri: string, state: string | undefined): string {
  return state === undefined ? uri : redirectWith(uri, { state });
}

/**
 * The return address as a link on a page, with the client's name and, for a self-registered
 * client, the warning that both are its own claim.
 */
function linkBack(checked: CheckedLogout): ReturnLink | undefined {
  const { client, postLogoutRedirectUri } = checked;
  if (postLogoutRedirectUri === undefined) return undefined;
  return {
    href: returnAddress(postLogoutRedirectUri, checked.state),
    ...(client === undefined ? {} : { clientName: client.name }),
    ...(client === undefined || client.kind === 'registered'
      ? {}
      : { unverified: { kind: client.kind, identity: client.clientId } }),
  };
}

/**
 * §3: to the registered post_logout_redirect_uri with `state`, or the signed-out page. A return
 * address the server may not follow on its own (request.ts `mayRedirect`) is a link on that page
 * instead (§3: the OP may show a page; RFC 9700 §4.11.2).
 */
function signedOut(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  reply: FastifyReply,
  checked: CheckedLogout,
  /** A valid hint ended this browser's own session (request.ts `mayRedirect`). */
  hintEndedSession: boolean,
  /** A session was ended by this request. */
  ended: boolean,
): FastifyReply {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(deps, requestEnv.environment.name, 0));
  // Sent back, or given the link back: the registered address served this sign-out — when it
  // is one: a session ended here, or the client's own ID token as hint. A request anybody can
  // send (no session, no hint; a confirmation posted again) must not keep an address looking
  // used in the inventory's review.
  if (ended || checked.hint !== undefined) countLogoutUsage(deps, requestEnv, checked, 'use');
  if (checked.postLogoutRedirectUri !== undefined && mayRedirect(checked, hintEndedSession))
    return reply.redirect(returnAddress(checked.postLogoutRedirectUri, checked.state), 303);
  return sendNoStorePage(reply, 200, signedOutPage(linkBack(checked)));
}

/**
 * The inventory's counts of a post-logout URI (services/redirect-usage.ts), in memory: a sign-out
 * request that matched it (GET /logout, once; the confirmation form's POST is the same request),
 * and a use when a sign-out (a session ended, or the client's own ID token as hint) is sent or
 * linked back to it.
 */
function countLogoutUsage(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  checked: CheckedLogout,
  what: 'request' | 'use',
): void {
  const uri = checked.registeredPostLogoutRedirectUri;
  if (uri === undefined || checked.client === undefined) return;
  const entry = {
    environment: requestEnv.environment.name,
    clientId: checked.client.clientId,
    kind: 'post_logout' as const,
    uri,
  };
  if (what === 'request') deps.redirectUsage.countRequest(entry);
  else deps.redirectUsage.countUse(entry, deps.clock());
}

/**
 * A refused request is a page, never a redirect (the return address is in doubt). The operator's
 * detail (the redirect policy's explainer) is shown in development only.
 */
async function showError(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  reply: FastifyReply,
  error: unknown,
  address: string,
): Promise<FastifyReply> {
  let shown: OAuthError;
  if (error instanceof RedirectUriRefused) {
    await recordRefusedPostLogoutRedirect(deps, error, address);
    shown = error.page(
      'This application asked to send you somewhere it is not registered to use after signing out, so the sign-out was stopped.',
    );
  } else if (error instanceof OAuthError) shown = error;
  else throw error;
  const detail =
    requestEnv.environment.tier === 'development' && shown instanceof UnsafeAuthorizationRequest
      ? shown.operatorDetail
      : undefined;
  return sendNoStorePage(
    reply,
    shown.status,
    errorPage('Sign-out stopped', shown.description, detail),
  );
}
