import { sha256 } from '../../../crypto/random.js';
import { UnsafeAuthorizationRequest } from '../../../errors.js';
import { REQUEST_URI_PREFIX } from '../pushed.js';
import { clientOf, type AuthorizeState } from '../state.js';

/**
 * use-pushed-request: RFC 9126 §4: with a request_uri from the PAR endpoint, the request is the one
 * the client pushed. It must have been pushed by the client client_id names (§4: "the
 * authorization server MUST ... verify that the client_id ... matches"), be unexpired and not used
 * before (one-time use); then its parameters replace the query's, all of which are ignored but
 * client_id and request_uri (RFC 9101 §5: only the parameters of the request object are used).
 * The pushed parameters still go through every later check, as any request's do (§4).
 *
 * A failure is a page: the redirect URI is unknown until the pushed request is read, and one in
 * the query is not the client's to be trusted (RFC 6749 §4.1.2.1). A request_uri of any other
 * form is a request object by reference, refused by check-request-object.
 */
export async function usePushedRequest(state: AuthorizeState): Promise<void> {
  const { deps, requestEnv, params } = state;
  const requestUri = params.request_uri;
  if (requestUri === undefined || !requestUri.startsWith(REQUEST_URI_PREFIX)) return;
  const clientId = clientOf(state).clientId;
  const pushed = await deps.stores.pushedRequests.take(
    requestEnv.environment.name,
    sha256(requestUri),
    clientId,
    deps.clock(),
  );
  if (pushed === undefined) {
    throw new UnsafeAuthorizationRequest(
      'This sign-in link has expired or was already used. Go back to the application and start again.',
      {
        message: `request_uri is unknown, expired, already used, or was pushed by another client than ${clientId}`,
      },
    );
  }
  state.params = { ...pushed, client_id: clientId };
  state.pushed = true;
}
