import { InvalidRequest } from '../../../errors.js';
import { clientOf, type AuthorizeState } from '../state.js';

/**
 * check-par-required: RFC 9126 §5 and §6: where the client (require_pushed_authorization_requests)
 * or the environment requires pushed requests, the authorization server MUST refuse a request that
 * was not pushed. Runs once the redirect URI is trusted, so the error goes back to the client.
 */
export function checkParRequired(state: AuthorizeState): void {
  if (state.pushed) return;
  const env = state.requestEnv.environment;
  if (env.requirePar)
    throw new InvalidRequest(
      `the ${env.name} environment requires pushed authorization requests (RFC 9126)`,
    );
  if (clientOf(state).requirePar === true)
    throw new InvalidRequest('this client must use pushed authorization requests (RFC 9126)');
}
