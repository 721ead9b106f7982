/**
 * RFC 9126 §2.2: the form of a request_uri this server hands out for a pushed request. The random
 * part is the secret; it is stored only as a hash.
 */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

/**
 * RFC 9126 §2.2: "a short lifetime ... between 5 and 600 seconds". Long enough for the client to
 * redirect the browser, short enough that a leaked one is soon useless; it is taken at the first
 * /authorize, after which the parked request has its own lifetime.
 */
export const PUSHED_REQUEST_TTL_S = 90;

/**
 * Parameters that authenticate the client at the PAR endpoint (RFC 6749 §2.3.1, RFC 7523 §2.2):
 * they are not part of the authorization request and are never stored with it.
 */
export const CLIENT_AUTH_PARAMS = ['client_secret', 'client_assertion', 'client_assertion_type'];
