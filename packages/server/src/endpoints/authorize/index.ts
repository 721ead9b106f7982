import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { advance } from '../../authorization/advance.js';
import { redirectError } from '../../authorization/respond.js';
import { OAuthError, ServerError, UnsafeAuthorizationRequest } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { sendErrorPage } from '../../http/error-handler.js';
import { AUTHORIZE_STEPS } from './checks.js';
import { RedirectUriRefused, recordRefusedRedirect } from '../../authorization/refused-redirect.js';
import {
  REFUSAL_HEADER,
  refusalHeaderValue,
  refusalSignal,
} from '../../authorization/refusal-signal.js';
import { newState, pendingAuthorization, type AuthorizeState } from './state.js';

/**
 * GET and POST /e/:env/authorize (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1, OIDC Core §3.1.2.1, RFC 9126
 * §4): the checks of checks.ts in order, then sign-in, consent and the code.
 */
export function authorizeEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const state = newState(deps, await environmentContext(deps, request), request);
    try {
      for (const step of AUTHORIZE_STEPS) await step(state);
      // Then sign-in, consent and the code (OIDC Core §3.1.2.3 to §3.1.2.5).
      const pending = { ...pendingAuthorization(state), createdAt: deps.clock() };
      return await advance(deps, state.requestEnv, request, reply, pending, undefined);
    } catch (error) {
      return answerError(state, reply, error);
    }
  };
  app.get('/e/:env/authorize', handler);
  app.post('/e/:env/authorize', handler);
}

/** The one error boundary: the error and whether the redirect URI is trusted yet decide the answer. */
async function answerError(
  state: AuthorizeState,
  reply: FastifyReply,
  error: unknown,
): Promise<FastifyReply> {
  const { deps, requestEnv, redirectUri } = state;
  if (error instanceof RedirectUriRefused) {
    await recordRefusedRedirect(deps, error, state.request.ip);
    // For programs that check a registration before anyone signs in (gatehouse login doctor).
    const development = requestEnv.environment.tier === 'development';
    reply.header(REFUSAL_HEADER, refusalHeaderValue(refusalSignal(error.refusal, development)));
    return showPage(state, reply, error.page());
  }
  if (error instanceof UnsafeAuthorizationRequest) return showPage(state, reply, error);
  // Until the redirect URI is trusted there is nowhere safe to send any other error.
  if (redirectUri === undefined) throw error;
  const target = { redirectUri, state: state.params.state ?? null };
  if (error instanceof OAuthError && error.redirectable)
    return redirectError(reply, requestEnv, target, error);
  state.request.log.error({ err: error }, 'authorization request failed');
  return redirectError(reply, requestEnv, target, new ServerError());
}

/** A page, never a redirect; the operator's detail only in the development environment. */
function showPage(state: AuthorizeState, reply: FastifyReply, error: UnsafeAuthorizationRequest) {
  return sendErrorPage(reply, error, state.requestEnv.environment.tier === 'development');
}
