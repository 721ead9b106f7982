/**
 * Checks on the URLs a resource server is configured with. A bad value is the developer's
 * mistake, found at start-up: it throws a `TypeError` naming the option.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** `http` is allowed for a loopback host only (local development); everything else is `https`. */
export function checkSecureUrl(value: string, option: string): URL {
  if (!URL.canParse(value)) throw new TypeError(`${option} must be an absolute URL: ${value}`);
  const url = new URL(value);
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return url;
  throw new TypeError(`${option} must use https (http only on a loopback host): ${value}`);
}

/**
 * A resource identifier: RFC 9728 §1.2 and RFC 8707 §2 say an absolute `https` URL without a
 * fragment. It is kept exactly as given, because `aud` is compared with it as a string.
 */
export function checkResourceIdentifier(value: string, option = 'resource'): URL {
  const url = checkSecureUrl(value, option);
  if (value.includes('#')) throw new TypeError(`${option} must not have a fragment: ${value}`);
  if (url.username !== '' || url.password !== '')
    throw new TypeError(`${option} must not carry user information: ${value}`);
  return url;
}

/** An issuer identifier: RFC 8414 §2 says `https`, no query, no fragment. */
export function checkIssuer(value: string, option = 'issuer'): URL {
  const url = checkSecureUrl(value, option);
  if (value.includes('?') || value.includes('#'))
    throw new TypeError(`${option} must have no query or fragment: ${value}`);
  return url;
}

/**
 * Where a resource's metadata lives (RFC 9728 §3.1): the well-known segment goes between the
 * host and the resource's path; a path of just `/` is dropped. `https://api.example.com/mcp` →
 * `https://api.example.com/.well-known/oauth-protected-resource/mcp`.
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = checkResourceIdentifier(resource);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/oauth-protected-resource${path}${url.search}`;
}

/**
 * Where an issuer's RFC 8414 metadata lives (RFC 8414 §3.1): like above, the well-known segment
 * goes before the issuer's path (`/e/development`).
 */
export function authorizationServerMetadataUrl(issuer: URL): string {
  const path = issuer.pathname === '/' ? '' : issuer.pathname.replace(/\/$/, '');
  return `${issuer.origin}/.well-known/oauth-authorization-server${path}`;
}

/** OpenID Connect Discovery §4: the suffix is appended to the issuer. */
export function openIdConfigurationUrl(issuer: URL): string {
  return `${issuer.href.replace(/\/$/, '')}/.well-known/openid-configuration`;
}
