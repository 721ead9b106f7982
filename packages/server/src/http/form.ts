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
