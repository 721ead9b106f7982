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

const MISMATCH =
  'The redirect_uri is not one this client registered; the explanation is shown to operators in the console, and on this page in development environments.';

/**
 * Sentences that name no registration. The loopback-host refusal comes from the environment's
 * policy before any registration is looked at, so saying so reveals nothing about them.
 */
const PLAIN_REASONS: Readonly<Record<string, string>> = {
  no_registered_redirect_uris: 'The client has no registered redirect URIs.',
  loopback_host_not_allowed:
    "The environment's loopback policy does not accept this loopback host in redirect URIs (RFC 8252 §8.3 calls localhost NOT RECOMMENDED: the name is looked up and can resolve elsewhere; 127.0.0.1 is recommended); ask its operator which loopback hosts it allows.",
};

/**
 * What the header (and the PAR endpoint's error_description) says. Outside development only the
 * code and a fixed sentence: the explainer
 * names the closest registered URI, and even the kind of difference (trailing slash, letter case,
 * port) would let anyone holding the client_id guess the registrations one request at a time.
 * Operators see the full explanation in the console's refused redirects in every environment.
 */
export function refusalSignal(refusal: Refusal, development: boolean): RefusalSignal {
  if (development) return { code: refusal.code, reason: refusal.message, detailed: true };
  return { code: refusal.code, reason: PLAIN_REASONS[refusal.code] ?? MISMATCH, detailed: false };
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
