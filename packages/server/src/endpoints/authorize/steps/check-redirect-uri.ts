import { matchRedirectUri } from '@gatehouse/redirect-policy';
import { UnsafeAuthorizationRequest } from '../../../errors.js';
import { activeRedirectUris } from '../../../storage/clients.js';
import { RedirectUriRefused } from '../../../authorization/refused-redirect.js';
import { redirectMatchOptions } from '../../../services/redirect-checks.js';
import { clientOf, type AuthorizeState } from '../state.js';

/**
 * check-redirect-uri: exact matching by the redirect policy (OAuth 2.1 §2.3.1, RFC 9700 §4.1.3).
 * RFC 6749 §4.1.2.1: a missing or refused redirect URI MUST NOT be redirected to, so this is a
 * page; once it passes, the redirect URI is trusted.
 */
export function checkRedirectUri(state: AuthorizeState): void {
  const { deps, requestEnv } = state;
  const client = clientOf(state);
  const requested = state.params.redirect_uri;
  const now = deps.clock();
  const registered = activeRedirectUris(client, now);
  // Omitted, the one registration stands for it, and is held to the same policy: an https
  // loopback registration (no port to vary) made before the environment refused its host
  // (issue #18) must not receive even an error response (RFC 6749 §4.1.2.1).
  const redirectUri = requested ?? onlyRedirectUri(registered);
  // A spa client's registrations match exactly, port included (its origin; redirect-policy).
  const result = matchRedirectUri(
    redirectUri,
    registered,
    redirectMatchOptions(requestEnv.environment, client.type),
  );
  if (!result.ok)
    throw new RedirectUriRefused(
      requestEnv.environment.name,
      client.clientId,
      redirectUri,
      result,
      now,
    );
  state.redirectUri = redirectUri;
  state.registeredRedirectUri = result.registered;
}

/**
 * count-redirect-request: the request is counted against the registration it matched, in memory
 * (services/redirect-usage.ts). A step of /authorize only: a pushed request is checked at the PAR
 * endpoint and again here when the browser brings its request_uri, and is one request.
 */
export function countRedirectRequest(state: AuthorizeState): void {
  const registered = state.registeredRedirectUri;
  if (registered === undefined) throw new Error('check-redirect-uri has not run');
  state.deps.redirectUsage.countRequest({
    environment: state.requestEnv.environment.name,
    clientId: clientOf(state).clientId,
    kind: 'redirect',
    uri: registered,
  });
}

/**
 * OAuth 2.1 §2.3.2: redirect_uri may be omitted only when exactly one URI is registered and
 * nothing in it can vary at request time (no loopback port, no wildcard label).
 */
function onlyRedirectUri(registered: readonly string[]): string {
  const only = registered.length === 1 ? registered[0] : undefined;
  if (
    only !== undefined &&
    !only.startsWith('http://127.0.0.1') &&
    !only.startsWith('http://[::1]') &&
    !only.startsWith('http://localhost') &&
    !only.includes('*')
  ) {
    return only;
  }
  throw new UnsafeAuthorizationRequest('This sign-in link does not say where to return to.', {
    message:
      'redirect_uri is required: the client has several redirect URIs, or one whose port or host label varies',
  });
}
