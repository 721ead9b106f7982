import * as oauth from 'oauth4webapi';
import { openInBrowser } from './browser.js';
import type { DpopKey } from './dpop-key.js';
import { serverTakesDpop, withNonceRetry } from './dpop.js';
import { startListener, type ListenerOptions } from './loopback-listener.js';
import {
  discover,
  httpOptions,
  LoginError,
  requestSignal,
  type ServerOptions,
} from './server-metadata.js';
import { toStoredTokens, type StoredTokens } from './tokens.js';
import { withUserInfoEmail } from './userinfo.js';

export interface LoginOptions extends ServerOptions, ListenerOptions {
  readonly issuer: string | URL;
  readonly clientId: string;
  /**
   * Default `openid email offline_access`, trimmed to what the server supports. With
   * `offline_access`, `prompt=consent` is sent too (OIDC Core §11).
   */
  readonly scope?: string;
  /** RFC 8707 resource indicator, when the token is for a particular API. */
  readonly resource?: string;
  /** Default 5 minutes. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Told the authorization URL to show the user. Default: nothing is printed. The URL holds the
   * state, so a caller that logs it should print it to the terminal only.
   */
  readonly onAuthorizationUrl?: (url: string) => void;
  /** Open the system browser (default true). A function replaces the opener (tests drive a headless browser). */
  readonly openBrowser?: boolean | ((url: string) => Promise<unknown>);
  /**
   * Push the authorization request first (RFC 9126), even where the server does not require it.
   * It is pushed anyway where the metadata says `require_pushed_authorization_requests`.
   */
  readonly pushAuthorizationRequest?: boolean;
  /**
   * The profile's DPoP key (`profileDpopKey`). Where the server's metadata lists
   * `dpop_signing_alg_values_supported` with ES256, the code is bound to it (`dpop_jkt`, or the
   * proof on the pushed request: RFC 9449 §10) and every token request carries a proof, so the
   * tokens are bound to the key. Servers without DPoP get bearer requests as before.
   */
  readonly dpopKey?: DpopKey;
  /**
   * Scopes already held (step-up): the request asks for these and `scope` together, so the new
   * tokens keep what the old ones could do. `login({ accumulate: true })` fills it in.
   */
  readonly heldScope?: string;
}

interface PreparedAuthorization {
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly url: URL;
  readonly state: string;
  readonly nonce: string | undefined;
  readonly verifier: string;
  /** The key proofs are made with, where the server takes DPoP. */
  readonly dpop: DpopKey | undefined;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

async function prepare(options: LoginOptions, redirectUri: string): Promise<PreparedAuthorization> {
  const as = await discover(options.issuer, options);
  if (as.authorization_endpoint === undefined)
    throw new LoginError(`${as.issuer} has no authorization endpoint`, 'unsupported_server');
  const methods = as.code_challenge_methods_supported;
  // RFC 8414: absent means the server does not say; present without S256 means no PKCE we accept.
  if (methods !== undefined && !methods.includes('S256'))
    throw new LoginError(`${as.issuer} does not support PKCE with S256`, 'unsupported_server');
  const supported = as.scopes_supported;
  const wanted = (options.scope ?? 'openid email offline_access')
    .split(' ')
    .filter((s) => s !== '');
  const scope = accumulate(
    supported === undefined || options.scope !== undefined
      ? wanted
      : wanted.filter((s) => supported.includes(s)),
    options.heldScope,
  );
  const dpop = options.dpopKey !== undefined && serverTakesDpop(as) ? options.dpopKey : undefined;
  const openid = scope.includes('openid');

  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = openid ? oauth.generateRandomNonce() : undefined;
  const client: oauth.Client = { client_id: options.clientId };
  const params = new URLSearchParams();
  params.set('client_id', options.clientId);
  params.set('redirect_uri', redirectUri);
  params.set('response_type', 'code');
  if (scope.length > 0) params.set('scope', scope.join(' '));
  params.set('state', state);
  params.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  params.set('code_challenge_method', 'S256');
  if (nonce !== undefined) params.set('nonce', nonce);
  if (asksConsent(as, scope)) params.set('prompt', 'consent');
  if (options.resource !== undefined) params.set('resource', options.resource);
  const url = new URL(as.authorization_endpoint);
  const pushed = mustPush(as, options);
  // RFC 9449 §10: the code is bound to the key, so a code intercepted on its way back is useless
  // without it. A pushed request binds it by its proof; a request through the browser names it.
  if (dpop !== undefined && !pushed) params.set('dpop_jkt', dpop.jkt);
  if (pushed) {
    // RFC 9126 §4: the browser gets only client_id and the request_uri; the parameters (and so
    // the PKCE challenge, state and nonce, checked below exactly as without PAR) went to the
    // server directly. The push is itself the fail-fast check: a refused client or redirect URI
    // is its error answer. Not probed afterwards: the request_uri is one-time.
    const requestUri = await push(as, client, params, options, dpop);
    url.searchParams.set('client_id', options.clientId);
    url.searchParams.set('request_uri', requestUri);
  } else {
    for (const [name, value] of params) url.searchParams.set(name, value);
    await probeAuthorization(url);
  }
  return { as, client, url, state, nonce, verifier, dpop };
}

/** The scopes asked for, then the ones held that were not asked for again (in their order). */
export function accumulate(wanted: readonly string[], held: string | undefined): string[] {
  const scope = [...wanted];
  for (const s of (held ?? '').split(' ')) if (s !== '' && !scope.includes(s)) scope.push(s);
  return scope;
}

/**
 * Whether to push (RFC 9126): where the caller asks, and always where the server says it
 * requires pushed requests (§5: it refuses any other request). A requirement the server cannot
 * be met on, or a push it cannot take, is said plainly before any browser opens.
 */
function mustPush(as: oauth.AuthorizationServer, options: LoginOptions): boolean {
  const required = as.require_pushed_authorization_requests === true;
  if (!required && options.pushAuthorizationRequest !== true) return false;
  if (typeof as.pushed_authorization_request_endpoint !== 'string')
    throw new LoginError(
      required
        ? `${as.issuer} requires pushed authorization requests (require_pushed_authorization_requests) but its metadata names no pushed_authorization_request_endpoint`
        : `${as.issuer} offers no pushed authorization requests (its metadata names no pushed_authorization_request_endpoint)`,
      'unsupported_server',
    );
  return true;
}

/**
 * The pushed authorization request, through oauth4webapi. A native client is public: it
 * authenticates with its client_id alone (RFC 9126 §2, `none`), as at the token endpoint.
 */
async function push(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  params: URLSearchParams,
  options: LoginOptions,
  dpop: DpopKey | undefined,
): Promise<string> {
  try {
    return await withNonceRetry(async () => {
      const response = await oauth.pushedAuthorizationRequest(as, client, oauth.None(), params, {
        ...httpOptions(new URL(as.issuer), options),
        signal: requestSignal(options.signal),
        ...(dpop === undefined ? {} : { DPoP: dpop.handle }),
      });
      return (await oauth.processPushedAuthorizationResponse(as, client, response)).request_uri;
    });
  } catch (error) {
    if (error instanceof LoginError) throw error;
    if (options.signal?.aborted === true) throw new LoginError('sign-in cancelled', 'cancelled');
    if (error instanceof oauth.ResponseBodyError)
      throw new LoginError(
        // Bounded as the probe's answer is: the server's text becomes one line for a person.
        `the server refused the pushed authorization request: ${`${error.error}${error.error_description === undefined ? '' : ` (${error.error_description})`}`.slice(0, 500)}`,
        'authorization_refused',
      );
    throw new LoginError(
      `the pushed authorization request failed: ${error instanceof Error ? error.message : 'unknown error'}`,
      'par_failed',
    );
  }
}

/**
 * OIDC Core §11: a request for `offline_access` MUST carry `prompt=consent` unless other
 * conditions permit offline access; a server may otherwise ignore the scope and issue no refresh
 * token (oidc-provider does). Left out only where the server's metadata lists the prompt values
 * it supports and `consent` is not among them, since such a server would refuse the request.
 */
function asksConsent(as: oauth.AuthorizationServer, scope: readonly string[]): boolean {
  if (!scope.includes('offline_access')) return false;
  const prompts = as.prompt_values_supported;
  return !Array.isArray(prompts) || prompts.includes('consent');
}

const PROBE_TIMEOUT_MS = 10_000;

/**
 * Asks for the authorization URL once before anyone waits on the browser. A server that will not
 * even show a sign-in page (an unknown client_id, a redirect URI it does not accept: RFC 6749
 * §4.1.2.1 says it answers with an error instead of redirecting) answers 4xx; that answer is the
 * error, at once, instead of a wait until the timeout. Anything else (a sign-in page, a redirect,
 * no answer at all) goes on to the browser as before.
 */
async function probeAuthorization(url: URL): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      redirect: 'manual',
      headers: { accept: 'text/html, application/json;q=0.9' },
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
  } catch {
    return;
  }
  if (response.status < 400 || response.status >= 500) {
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  const reason = errorText(response.headers.get('content-type') ?? '', await response.text());
  throw new LoginError(
    `the server refused the authorization request (HTTP ${response.status})${reason === '' ? '' : `: ${reason}`}`,
    'authorization_refused',
  );
}

/** The error an authorization endpoint answered with, as one line: JSON or an HTML page. */
export function errorText(contentType: string, body: string): string {
  if (contentType.includes('json')) {
    try {
      const json = JSON.parse(body) as { error?: unknown; error_description?: unknown };
      return [json.error, json.error_description]
        .filter((v): v is string => typeof v === 'string')
        .join(': ');
    } catch {
      return '';
    }
  }
  const text = (fragment: string | undefined): string =>
    (fragment ?? '')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ')
      .trim();
  const alert = text(/<[^>]*role="alert"[^>]*>([\s\S]*?)<\/p>/i.exec(body)?.[1]);
  const main = alert !== '' ? alert : text(/<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(body)?.[1]);
  // Gatehouse adds the developer's detail in development environments.
  const detail = text(/id="dev"[\s\S]*?<p>([\s\S]*?)<\/p>/i.exec(body)?.[1]);
  return `${main}${detail === '' ? '' : ` (${detail})`}`.slice(0, 500);
}

/**
 * Checks the callback (state, RFC 9207 `iss`, error) and exchanges the code. oauth4webapi does
 * the checks; a mismatched `iss` is reported as the mix-up attack it is.
 */
async function complete(
  prepared: PreparedAuthorization,
  callback: URL,
  redirectUri: string,
  options: LoginOptions,
): Promise<StoredTokens> {
  const { as, client } = prepared;
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, callback, prepared.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      const description = error.error_description ?? '';
      throw new LoginError(
        `the server refused the sign-in: ${error.error}${description === '' ? '' : ` (${description})`}`,
        error.error,
      );
    }
    const message = error instanceof Error ? error.message : '';
    if (/"iss"/.test(message)) {
      throw new LoginError(
        `the response names another issuer than ${as.issuer}: refused as a possible mix-up attack (RFC 9207)`,
        'iss_mismatch',
      );
    }
    if (/"state"/.test(message))
      throw new LoginError(
        'the response does not belong to this sign-in (state mismatch)',
        'state_mismatch',
      );
    throw new LoginError(`invalid authorization response: ${message}`, 'invalid_response');
  }
  const http = httpOptions(new URL(as.issuer), options);
  const { dpop } = prepared;
  try {
    // A nonce challenge (RFC 9449 §8) comes before the code is looked at, so the retry can
    // still spend it.
    const result = await withNonceRetry(async () => {
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.None(),
        params,
        redirectUri,
        prepared.verifier,
        {
          ...http,
          signal: requestSignal(options.signal),
          ...(options.resource === undefined
            ? {}
            : { additionalParameters: { resource: options.resource } }),
          ...(dpop === undefined ? {} : { DPoP: dpop.handle }),
        },
      );
      return oauth.processAuthorizationCodeResponse(
        as,
        client,
        response,
        prepared.nonce === undefined ? {} : { expectedNonce: prepared.nonce, requireIdToken: true },
      );
    });
    return await withUserInfoEmail(
      as,
      toStoredTokens(
        as,
        client.client_id,
        result,
        Date.now(),
        undefined,
        options.allowHttpLoopbackIssuer,
        dpop?.jkt,
      ),
      options,
      dpop,
    );
  } catch (error) {
    if (options.signal?.aborted === true) throw new LoginError('sign-in cancelled', 'cancelled');
    if (error instanceof oauth.ResponseBodyError)
      throw new LoginError(
        `the token request failed: ${error.error}${error.error_description === undefined ? '' : ` (${error.error_description})`}`,
        error.error,
      );
    throw new LoginError(
      `the token request failed: ${error instanceof Error ? error.message : 'unknown error'}`,
      'token_request_failed',
    );
  }
}

function timeoutSignal(options: LoginOptions): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const ms = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = setTimeout(() => {
    controller.abort(
      new LoginError(
        `no sign-in within ${Math.round(ms / 1000)} s; run the command again, or use --device or --no-browser (paste mode) where no browser can reach this machine`,
        'timeout',
      ),
    );
  }, ms);
  timer.unref();
  const onAbort = () => {
    controller.abort(new LoginError('sign-in cancelled', 'cancelled'));
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * The RFC 8252 loopback flow: bind a one-shot listener on loopback, open the browser at the
 * authorization URL, take the first callback with our state, check it, exchange the code.
 */
export async function loopbackLogin(options: LoginOptions): Promise<StoredTokens> {
  const listener = await startListener(options);
  const { signal, clear } = timeoutSignal(options);
  try {
    const prepared = await prepare(options, listener.redirectUri);
    options.onAuthorizationUrl?.(prepared.url.href);
    const opener = options.openBrowser ?? true;
    if (typeof opener === 'function') void opener(prepared.url.href).catch(() => undefined);
    else if (opener) await openInBrowser(prepared.url.href);
    const callback = await listener.waitForCallback(prepared.state, signal);
    try {
      const tokens = await complete(prepared, callback, listener.redirectUri, options);
      listener.finish(true, `Signed in to ${prepared.as.issuer}.`);
      return tokens;
    } catch (error) {
      listener.finish(false, error instanceof Error ? error.message : 'The sign-in failed.');
      throw error;
    }
  } finally {
    clear();
    await listener.close();
  }
}

/**
 * Paste mode, where the browser is on another machine: the user opens the URL there and pastes
 * back the address the browser ended on. It gets the same state and `iss` checks.
 */
export async function pasteLogin(
  options: LoginOptions & {
    readonly redirectUri: string;
    readonly readPastedUrl: () => Promise<string>;
  },
): Promise<StoredTokens> {
  const prepared = await prepare(options, options.redirectUri);
  options.onAuthorizationUrl?.(prepared.url.href);
  const pasted = (await options.readPastedUrl()).trim();
  let callback: URL;
  try {
    callback = new URL(pasted);
  } catch {
    throw new LoginError(
      'that is not a URL: paste the whole address from the browser, starting with http',
      'invalid_paste',
    );
  }
  if (callback.searchParams.get('state') !== prepared.state)
    throw new LoginError(
      'the pasted address does not belong to this sign-in (state mismatch)',
      'state_mismatch',
    );
  return complete(prepared, callback, options.redirectUri, options);
}
