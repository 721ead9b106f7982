/**
 * The resource's own client credentials, for what it asks the authorization server (the
 * revocation feed, introspection), and the one place requests carrying them are made. The secret
 * is only ever put in an `Authorization` header: never in an error, a log line or a URL.
 */
import { checkSecureUrl } from './urls.js';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The authorization server could not give an answer: it, or the network, is at fault. */
export class AuthorizationServerUnavailable extends Error {
  override readonly name = 'AuthorizationServerUnavailable';
}

/** Checks the credentials of an options object; the message names the option, never the value. */
export function checkClientCredentials(
  value: { readonly clientId?: unknown; readonly clientSecret?: unknown },
  option: string,
): ClientCredentials {
  if (typeof value.clientId !== 'string' || value.clientId === '')
    throw new TypeError(`${option}.clientId must be a non-empty string`);
  if (typeof value.clientSecret !== 'string' || value.clientSecret === '')
    throw new TypeError(`${option}.clientSecret must be a non-empty string`);
  return { clientId: value.clientId, clientSecret: value.clientSecret };
}

/**
 * An endpoint given in the options: a secure URL (like `jwksUri`) with no user information, since
 * credentials go in the `Authorization` header only.
 */
export function checkEndpointUrl(value: unknown, option: string): string {
  if (typeof value !== 'string') throw new TypeError(`${option} must be a string`);
  // Before any message that repeats the URL: user information may hold a password.
  const parsed = URL.parse(value);
  if (parsed !== null && (parsed.username !== '' || parsed.password !== ''))
    throw new TypeError(`${option} must not carry user information`);
  const url = checkSecureUrl(value, option);
  if (url.hash !== '') throw new TypeError(`${option} must not have a fragment: ${value}`);
  return url.href;
}

/** application/x-www-form-urlencoded encoding of one value. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * RFC 6749 §2.3.1 HTTP Basic: the client id and the secret are each form-urlencoded (Appendix B)
 * before `id:secret` is base64-encoded, so a `:` or non-ASCII character in either survives.
 */
export function basicAuthorization(credentials: ClientCredentials): string {
  const pair = `${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret)}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

/**
 * A request to the authorization server with the client's credentials. Redirects are not
 * followed: credentials go to the configured or discovered URL only. Any failure to get a
 * response becomes an `AuthorizationServerUnavailable` naming what was asked (`what`) and the
 * URL, never the credentials.
 */
export async function requestWithCredentials(
  what: string,
  url: string,
  credentials: ClientCredentials,
  init: { readonly method: 'GET' | 'POST'; readonly body?: URLSearchParams },
  signal: AbortSignal,
): Promise<Response> {
  try {
    return await fetch(url, {
      method: init.method,
      headers: {
        accept: 'application/json',
        authorization: basicAuthorization(credentials),
        ...(init.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(init.body === undefined ? {} : { body: init.body.toString() }),
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? 'timed out'
        : error instanceof Error && error.name === 'AbortError'
          ? 'aborted'
          : describeNetworkError(error);
    // The cause is fetch's own error (it names no header), kept for the application's log.
    throw new AuthorizationServerUnavailable(`${what} failed: ${url}: ${reason}`, {
      cause: error,
    });
  }
}

/**
 * The JSON body of a response, or undefined when it is not JSON. A body cut off by `signal`
 * (the timeout, or closing) is a failure to get an answer, reported as such rather than as a
 * malformed answer.
 */
export async function readJson(
  what: string,
  url: string,
  response: Response,
  signal: AbortSignal,
): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    if (!signal.aborted) return undefined;
    const reason =
      signal.reason instanceof Error && signal.reason.name === 'TimeoutError'
        ? 'timed out'
        : 'aborted';
    throw new AuthorizationServerUnavailable(`${what} failed: ${url}: ${reason}`, {
      cause: error,
    });
  }
}

function describeNetworkError(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : 'fetch failed';
}

/** RFC 6749 §5.2 error codes are NQCHAR; anything else from the server is not repeated. */
const ERROR_CODE = /^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

/**
 * The refusal to report for a response that is not the expected one: the status and the
 * server's RFC 6749 §5.2 `error` code, if it sent one. The body is read and discarded.
 */
export async function refusal(what: string, url: string, response: Response): Promise<Error> {
  const text = await response.text().catch(() => '');
  let code: string | undefined;
  try {
    const body: unknown = JSON.parse(text);
    const error = (body as { error?: unknown } | null)?.error;
    if (typeof error === 'string' && ERROR_CODE.test(error)) code = error;
  } catch {
    // Not JSON: the status says enough.
  }
  const hint =
    response.status === 401
      ? ' (are clientId and clientSecret those of a confidential client?)'
      : response.status === 403
        ? ' (is the client linked to a registered resource of this environment?)'
        : '';
  return new AuthorizationServerUnavailable(
    `${what} failed: ${url}: HTTP ${response.status}${code === undefined ? '' : ` ${code}`}${hint}`,
  );
}
