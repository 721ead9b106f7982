/**
 * The OAuth 2.1 / OpenID Connect names this server speaks, each list kept here once. Discovery
 * metadata, client validation, the declarative file, the admin API schema, the token endpoint's
 * grant map and the CLI all read these, so they cannot disagree about what is supported.
 * Nothing here imports anything: every layer, storage included, may use it.
 */

/** RFC 8628 §3.4. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8693 §2.1. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Every grant type the token endpoint serves, in the order discovery lists them. */
export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  DEVICE_CODE_GRANT,
  TOKEN_EXCHANGE_GRANT,
] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/**
 * The OpenID Connect scopes (OIDC Core §5.4, §11). They are about the user, never a resource: no
 * client_credentials token carries them, and they are never suffixed with a resource in consents.
 * Typed as plain strings so any requested scope can be looked up in it.
 */
export const OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'offline_access'];

/** A space-delimited scope parameter (RFC 6749 §3.3) as a list, repeats dropped. */
export function scopeList(scope: string | undefined): string[] {
  return [...new Set((scope ?? '').split(' ').filter((s) => s !== ''))];
}
