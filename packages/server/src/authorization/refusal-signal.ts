import type { Refusal } from './refused-redirect.js';

/**
 * The response header a refused-redirect page carries for programs (`gatehouse login doctor`,
 * any CLI's self-check): the redirect policy's code and a sentence why, as JSON.
 */
export const REFUSAL_HEADER = 'gatehouse-redirect-refusal';

export interface RefusalSignal {
  /** The redirect policy's code: `redirect_uri_mismatch`, `no_registered_redirect_uris`, ... */
  readonly code: string;
  /** The explainer's sentence in development; elsewhere one that names no registered URI. */
  readonly reason: string;
  /** Whether `reason` is the explainer's own sentence (development only). */
  readonly detailed: boolean;
}

/**
 * What the header says. Outside development only the code and a fixed sentence: the explainer
 * names the closest registered URI, and even the kind of difference (trailing slash, letter case,
 * port) would let anyone holding the client_id guess the registrations one request at a time.
 * Operators see the full explanation in the console's refused redirects in every environment.
 */
export function refusalSignal(refusal: Refusal, development: boolean): RefusalSignal {
  if (development) return { code: refusal.code, reason: refusal.message, detailed: true };
  return {
    code: refusal.code,
    reason:
      refusal.code === 'no_registered_redirect_uris'
        ? 'The client has no registered redirect URIs.'
        : 'The redirect_uri is not one this client registered (or the environment allows); the explanation is shown to operators in the console, and on this page in development environments.',
    detailed: false,
  };
}

/**
 * The header value: JSON with everything outside printable ASCII escaped, so that a requested
 * URI quoted by the explainer can never break the header (Node refuses CR, LF and non-Latin-1).
 */
export function refusalHeaderValue(signal: RefusalSignal): string {
  return JSON.stringify(signal).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
