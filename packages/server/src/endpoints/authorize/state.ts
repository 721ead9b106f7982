import type { FastifyRequest } from 'fastify';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import type { PendingAuthorization } from '../../storage/authorization-requests.js';
import type { Client } from '../../storage/clients.js';

/**
 * One authorization request as the steps learn about it. Each step reads what earlier steps
 * found and adds what it checked; a field is set only by the step named beside it.
 */
export interface AuthorizeState {
  readonly deps: AppDeps;
  readonly requestEnv: EnvironmentContext;
  readonly request: FastifyRequest;
  /** One value per parameter (read-parameters). */
  params: Readonly<Record<string, string>>;
  /** The client client_id names (check-client). */
  client?: Client;
  /** Whether the parameters are a pushed request's (use-pushed-request, RFC 9126 §4). */
  pushed: boolean;
  /** Set once the redirect URI is trusted (check-redirect-uri): from then on errors go there. */
  redirectUri?: string;
  /** The registration `redirectUri` matched (for a loopback or wildcard match, the entry). */
  registeredRedirectUri?: string;
  /** The S256 challenge (check-pkce). */
  codeChallenge?: string;
  /** The values of `prompt`, none when absent (check-prompt). */
  prompt: readonly string[];
  /** `max_age` in seconds, null when absent (check-max-age). */
  maxAge: number | null;
  /** The scopes and RFC 8707 resource asked for (check-scope-and-resource). */
  scope: readonly string[];
  resource: string | null;
  /** RFC 9449 §10: the DPoP key thumbprint the code is to be bound to (check-dpop-jkt). */
  dpopJkt?: string;
}

/** One check of the pipeline: it throws to stop the request, or adds what it found to the state. */
export type AuthorizeStep = (state: AuthorizeState) => void | Promise<void>;

/** The state before any step: the optional parameters as if absent. */
export function newState(
  deps: AppDeps,
  requestEnv: EnvironmentContext,
  request: FastifyRequest,
): AuthorizeState {
  return {
    deps,
    requestEnv,
    request,
    params: {},
    pushed: false,
    prompt: [],
    maxAge: null,
    scope: [],
    resource: null,
  };
}

/** The client, for steps after check-client. */
export function clientOf(state: AuthorizeState): Client {
  if (state.client === undefined) throw new Error('check-client has not run');
  return state.client;
}

/** The request the steps validated, as it is parked and later turned into a code. */
export function pendingAuthorization(state: AuthorizeState): PendingAuthorization {
  const { params, redirectUri, codeChallenge } = state;
  if (redirectUri === undefined || codeChallenge === undefined)
    throw new Error('check-redirect-uri and check-pkce have not run');
  return {
    clientId: clientOf(state).clientId,
    redirectUri,
    redirectUriSent: params.redirect_uri !== undefined,
    ...(state.registeredRedirectUri === undefined
      ? {}
      : { registeredRedirectUri: state.registeredRedirectUri }),
    scope: state.scope,
    state: params.state ?? null,
    codeChallenge,
    nonce: params.nonce ?? null,
    prompt: state.prompt,
    maxAge: state.maxAge,
    loginHint: params.login_hint ?? null,
    resource: state.resource,
    ...(state.dpopJkt === undefined ? {} : { dpopJkt: state.dpopJkt }),
    // OIDC Core §3.1.2.1: voluntary; the ID token then says which class the sign-in reached.
    ...(params.acr_values === undefined
      ? {}
      : { acrValues: params.acr_values.split(' ').filter((v) => v !== '') }),
  };
}
