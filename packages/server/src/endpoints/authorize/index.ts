import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { advance } from '../../authorization/advance.js';
import { redirectError } from '../../authorization/respond.js';
import { OAuthError, ServerError, UnsafeAuthorizationRequest } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { environmentContext } from '../../http/environment.js';
import { sendErrorPage } from '../../http/error-handler.js';
import { RedirectUriRefused, recordRefusedRedirect } from '../../authorization/refused-redirect.js';
import {
  newState,
  pendingAuthorization,
  type AuthorizeState,
  type AuthorizeStep,
} from './state.js';
import { checkClient } from './steps/check-client.js';
import { checkGrantType } from './steps/check-grant-type.js';
import { checkMaxAge } from './steps/check-max-age.js';
import { checkPkce } from './steps/check-pkce.js';
import { checkPrompt } from './steps/check-prompt.js';
import { checkRedirectUri } from './steps/check-redirect-uri.js';
import { checkRequestObject } from './steps/check-request-object.js';
import { checkResponseMode } from './steps/check-response-mode.js';
import { checkResponseType } from './steps/check-response-type.js';
import { checkScopeAndResource } from './steps/check-scope-and-resource.js';
import { readParameters } from './steps/read-parameters.js';

/**
 * The authorization request's checks, in order. Until check-redirect-uri passes, the client and
 * its redirect URI are in doubt and an error is a page (RFC 6749 §4.1.2.1); after it, errors go
 * back to the client. The order decides which error a request with several faults gets.
 */
const STEPS: readonly AuthorizeStep[] = [
  readParameters, // RFC 6749 §3.1
  checkClient, // RFC 6749 §4.1.1, §4.1.2.1
  checkRedirectUri, // RFC 6749 §4.1.2.1, OAuth 2.1 §2.3
  checkResponseType, // RFC 6749 §4.1.1, OAuth 2.1 §4.1.1
  checkResponseMode, // OAuth 2.0 Multiple Response Types §2.1: query only
  checkRequestObject, // OIDC Core §6
  checkPkce, // RFC 7636 §4.3, OAuth 2.1 §4.1.1
  checkPrompt, // OIDC Core §3.1.2.1
  checkMaxAge, // OIDC Core §3.1.2.1
  checkGrantType, // RFC 6749 §4.1.2.1 unauthorized_client
  checkScopeAndResource, // RFC 8707 §2, RFC 6749 §3.3
];

/** GET and POST /e/:env/authorize (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1, OIDC Core §3.1.2.1). */
export function authorizeEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const state = newState(deps, await environmentContext(deps, request), request);
    try {
      for (const step of STEPS) await step(state);
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
