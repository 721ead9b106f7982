import { InvalidRequest } from '../errors.js';

/**
 * Request parameters as single strings. RFC 6749 §3.1: "Request and response parameters MUST NOT
 * be included more than once", so a repeated parameter is refused rather than guessed at.
 */
export function singleParams(input: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof input !== 'object' || input === null) return out;
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (Array.isArray(value))
      throw new InvalidRequest(`the ${key.slice(0, 40)} parameter is repeated`);
    if (typeof value !== 'string') continue;
    // NUL is never valid in an OAuth parameter, and PostgreSQL text cannot hold it.
    if (key.includes('\0') || value.includes('\0'))
      throw new InvalidRequest('parameters must not contain NUL characters');
    out[key] = value;
  }
  return out;
}

/** The media type RFC 6749 §3.2 (and RFC 7009, 7662, 8628, 9126 after it) requires of a body. */
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * The parameters of a back-channel POST (token, PAR, revocation, introspection, device
 * authorization): RFC 6749 §3.2 says the client MUST use the "application/x-www-form-urlencoded"
 * format, so any other body (JSON above all, which the framework would otherwise parse) is
 * refused as invalid_request rather than read.
 */
export function formParams(request: {
  readonly headers: { readonly 'content-type'?: string | undefined };
  readonly body: unknown;
}): Record<string, string> {
  const type = request.headers['content-type'];
  if (type === undefined || !FORM_TYPE.test(type))
    throw new InvalidRequest('the request body must be application/x-www-form-urlencoded');
  return singleParams(request.body);
}
