import { matchRedirectUri } from '@gatehouse/redirect-policy';
import { redirectMatchOptions } from '../../services/redirect-checks.js';
import { RedirectUriRefused } from '../../authorization/refused-redirect.js';
import { UnsafeAuthorizationRequest } from '../../errors.js';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import type { Client } from '../../storage/clients.js';

/** The parameters of RP-Initiated Logout 1.0 §2 this server reads; ui_locales is ignored. */
export interface LogoutParams {
  readonly id_token_hint?: string;
  readonly client_id?: string;
  readonly post_logout_redirect_uri?: string;
  readonly state?: string;
}

/** A sign-out request whose client and return address have been checked. */
export interface CheckedLogout {
  /** The client named by the hint's audience or client_id, if any. */
  readonly client: Client | undefined;
  /** The hint's user and session, when it is an ID token this environment issued. */
  readonly hint: { readonly sub: string; readonly sid: string | undefined } | undefined;
  /** Where to send the browser afterwards: registered for the client (§3), or undefined. */
  readonly postLogoutRedirectUri: string | undefined;
  /** The registration it matched (for a loopback match, the entry): what its use counts against. */
  readonly registeredPostLogoutRedirectUri: string | undefined;
  readonly state: string | undefined;
}

/**
 * The longest `state` carried back to the RP. It is the RP's opaque value (§2), copied into the
 * Location header and the URL of the page the RP serves: 2 KB is far more than a random value or
 * a reference to stored state needs.
 */
export const MAX_STATE_LENGTH = 2048;

/**
 * Whether the server may send the browser to the return address on its own. A client an operator
 * registered, yes. A client that registered itself (RFC 7591, open registration) or describes
 * itself (a Client ID Metadata Document) could be anyone's, with any https URI: followed without
 * a look, the logout endpoint would be an open redirector for whoever registers one (RFC 9700
 * §4.11.2). Such a client's address is followed only when a valid id_token_hint issued to it
 * ended this very browser's session (`hintEndedSession`): a hint alone is no proof, since whoever
 * registered the client can sign in once to it and keep the ID token (an expired hint is valid,
 * §2) to send any other visitor anywhere. Otherwise the address is a link on a page
 * (RP-Initiated Logout 1.0 §3 allows a page).
 */
export function mayRedirect(checked: CheckedLogout, hintEndedSession: boolean): boolean {
  if (checked.client === undefined) return false;
  return checked.client.kind === 'registered' || hintEndedSession;
}

/** The operator-facing reason of a refusal, shown in development only. */
const stop = (userMessage: string, operatorMessage: string) =>
  new UnsafeAuthorizationRequest(userMessage, { message: operatorMessage });

/**
 * Checks a sign-out request (RP-Initiated Logout 1.0 §2, §3). Never redirects anywhere it has not
 * matched: a post_logout_redirect_uri is honoured only when registered for the client the request
 * names, matched by the redirect policy exactly as redirect URIs are (a refusal is recorded and
 * explained like one). Throws UnsafeAuthorizationRequest or RedirectUriRefused (both pages).
 */
export async function checkLogoutRequest(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  params: LogoutParams,
): Promise<CheckedLogout> {
  const env = requestEnv.environment.name;
  const hint =
    params.id_token_hint === undefined || params.id_token_hint === ''
      ? undefined
      : await readHint(deps, requestEnv, params.id_token_hint);
  // §2: when both are sent, client_id MUST be the client the ID token was issued to.
  if (
    hint !== undefined &&
    params.client_id !== undefined &&
    params.client_id !== '' &&
    params.client_id !== hint.clientId
  )
    throw stop(
      'This sign-out request is inconsistent, so it was stopped.',
      'client_id is not the audience of id_token_hint (RP-Initiated Logout §2)',
    );
  const clientId = hint?.clientId ?? (params.client_id === '' ? undefined : params.client_id);
  const client = clientId === undefined ? undefined : await deps.stores.clients.get(env, clientId);
  if (clientId !== undefined && client === undefined && hint === undefined)
    throw stop(
      'This sign-out request names an application that does not exist here.',
      'client_id is not a client of this environment',
    );
  const requested = params.post_logout_redirect_uri;
  let postLogoutRedirectUri: string | undefined;
  let registeredPostLogoutRedirectUri: string | undefined;
  if (requested !== undefined && requested !== '') {
    // §3: the URI must have been registered by the client, so the client must be known.
    if (client === undefined)
      throw stop(
        'This sign-out request does not say which application it is for, so it cannot send you back.',
        'post_logout_redirect_uri needs client_id or a valid id_token_hint (RP-Initiated Logout §3)',
      );
    // The environment's policy, its loopback hosts included (issue #18), as at /authorize.
    const result = matchRedirectUri(
      requested,
      client.postLogoutRedirectUris ?? [],
      redirectMatchOptions(requestEnv.environment, client.type),
    );
    if (!result.ok)
      throw new RedirectUriRefused(env, client.clientId, requested, result, deps.clock());
    postLogoutRedirectUri = requested;
    registeredPostLogoutRedirectUri = result.registered;
  }
  return {
    client,
    hint: hint === undefined ? undefined : { sub: hint.sub, sid: hint.sid },
    postLogoutRedirectUri,
    registeredPostLogoutRedirectUri,
    state: params.state === '' ? undefined : params.state,
  };
}

/**
 * An id_token_hint this environment issued (§2: "the OP MUST validate that it was the issuer"):
 * signature, issuer and type checked; an expired one is accepted, as §2 allows, since an RP
 * usually signs out long after the ID token's short life. Anything else is treated as no hint,
 * which means the user is asked (§2: without a valid hint the OP asks whether to sign out).
 */
async function readHint(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  token: string,
): Promise<{ clientId: string; sub: string; sid: string | undefined } | undefined> {
  const payload = await deps.signer.verify(requestEnv.environment.name, token, {
    issuer: requestEnv.issuer,
    typ: 'JWT',
    acceptExpired: true,
  });
  if (payload === undefined) return undefined;
  const { aud, azp, sub, sid } = payload as Record<string, unknown>;
  // OIDC Core §2: one audience is the client; with several, azp names it.
  const clientId =
    typeof aud === 'string'
      ? aud
      : Array.isArray(aud) && aud.length === 1 && typeof aud[0] === 'string'
        ? aud[0]
        : typeof azp === 'string'
          ? azp
          : undefined;
  if (clientId === undefined || typeof sub !== 'string') return undefined;
  return { clientId, sub, sid: typeof sid === 'string' ? sid : undefined };
}
