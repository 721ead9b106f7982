import { asksForNonce, dpopProof, rememberNonce } from './dpop-proof.js';
import type { DpopKey } from './dpop-key.js';
import { bindingKey } from './dpop.js';
import { LoginError } from './server-metadata.js';
import { validAccessToken } from './session.js';
import type { TokenStore } from './token-store.js';

export interface ApiRequestTarget {
  /** The method the request will use (a DPoP proof names it: `htm`). Default GET. */
  readonly method?: string;
  /** The URL the request goes to (a DPoP proof names it without query: `htu`). */
  readonly url: string | URL;
  /** A nonce the API asked for (RFC 9449 §9, its `DPoP-Nonce` header). */
  readonly nonce?: string;
}

export interface AuthorizationHeaders {
  /** `DPoP <token>` for a bound token (RFC 9449 §7.1), else `Bearer <token>`. */
  readonly authorization: string;
  /** The proof, for a bound token: one request, this method and URL, about a minute. */
  readonly dpop?: string;
}

/** RFC 9110 §11.2 token68, the syntax of a `Bearer` (RFC 6750 §2.1) or `DPoP` (RFC 9449 §7.1) credential. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The access token as an Authorization credential. The server chose this text; one with a line
 * break or a space would end the header line it is printed on (`gatehouse token --url … | curl
 * -H @-`) and add headers of the server's choosing to a request to another party's API.
 */
export function credential(accessToken: string): string {
  if (!TOKEN68.test(accessToken))
    throw new LoginError(
      'the access token is not a valid credential (RFC 6750 §2.1: letters, digits and -._~+/ only); it is not sent; run gatehouse login again',
      'invalid_token',
    );
  return accessToken;
}

export interface ProfileOptions {
  readonly lockDir?: string;
  readonly now?: () => number;
}

/**
 * The headers for one API call with the profile's access token, refreshed first when about to
 * expire. A DPoP-bound token gets the `DPoP` scheme and a fresh proof for this method and URL,
 * with `ath` (RFC 9449 §7); a bearer token the `Bearer` scheme (RFC 6750). Bound tokens whose key
 * is not in the store fail (`dpop_key_missing`) instead of being sent as bearer tokens.
 */
export async function authorizationHeaders(
  store: TokenStore,
  profile: string,
  target: ApiRequestTarget,
  options: ProfileOptions = {},
): Promise<AuthorizationHeaders> {
  return (await headersAndKey(store, profile, target, options)).headers;
}

async function headersAndKey(
  store: TokenStore,
  profile: string,
  target: ApiRequestTarget,
  options: ProfileOptions,
): Promise<{ headers: AuthorizationHeaders; key: DpopKey | undefined }> {
  const tokens = await validAccessToken(store, profile, options);
  const key = await bindingKey(store, profile, tokens);
  const token = credential(tokens.accessToken);
  if (key === undefined) return { headers: { authorization: `Bearer ${token}` }, key };
  const dpop = await dpopProof(key, {
    method: target.method ?? 'GET',
    url: target.url,
    accessToken: tokens.accessToken,
    ...(target.nonce === undefined ? {} : { nonce: target.nonce }),
  });
  return { headers: { authorization: `DPoP ${token}`, dpop }, key };
}

export interface ApiRequestInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Sent again on a nonce retry, so a replayable body only. */
  readonly body?: string | Uint8Array | URLSearchParams;
  readonly signal?: AbortSignal;
}

/**
 * An API call with the profile's token: the headers of `authorizationHeaders`, and for a bound
 * token one retry when the API answers 401 asking for a nonce (RFC 9449 §9); every nonce an API
 * sends is kept for the next proof to it in this process.
 */
export async function fetchWithProfile(
  store: TokenStore,
  profile: string,
  url: string | URL,
  init: ApiRequestInit = {},
  options: ProfileOptions = {},
): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const send = async (): Promise<Response> => {
    const { headers: auth, key } = await headersAndKey(store, profile, { method, url }, options);
    const response = await fetch(url, {
      method,
      headers: {
        ...init.headers,
        authorization: auth.authorization,
        ...(auth.dpop === undefined ? {} : { dpop: auth.dpop }),
      },
      redirect: 'manual',
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
    if (key !== undefined) rememberNonce(key, url, response);
    return response;
  };
  const first = await send();
  if (!asksForNonce(first)) return first;
  await first.body?.cancel().catch(() => undefined);
  return send();
}
