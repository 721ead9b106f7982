import * as oauth from 'oauth4webapi';

export interface ServerOptions {
  /**
   * Allow plain http to the authorization server. Only for an issuer on a loopback host (local
   * development and tests); refused for any other host.
   */
  readonly allowHttpLoopbackIssuer?: boolean;
}

/** A mistake a person can fix: the message is one sentence naming the fix. */
export class LoginError extends Error {
  override readonly name = 'LoginError';
  constructor(
    message: string,
    /** A stable code for programs: `timeout`, `port_in_use`, `state_mismatch`, `iss_mismatch`, ... */
    readonly code: string,
  ) {
    super(message);
  }
}

export function httpOptions(
  issuer: URL,
  options: ServerOptions,
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- deliberate: plain http on loopback only
): { [oauth.allowInsecureRequests]?: boolean } {
  if (issuer.protocol === 'https:') return {};
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(issuer.hostname);
  if (issuer.protocol === 'http:' && loopback && options.allowHttpLoopbackIssuer === true) {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deliberate: plain http on loopback only
    return { [oauth.allowInsecureRequests]: true };
  }
  throw new LoginError(
    `the issuer ${issuer.href} must use https${loopback ? ' (or allow http on loopback explicitly)' : ''}`,
    'insecure_issuer',
  );
}

/** RFC 8414 / OpenID discovery through oauth4webapi, which checks that the issuer matches. */
export async function discover(
  issuer: string | URL,
  options: ServerOptions = {},
): Promise<oauth.AuthorizationServer> {
  const url = new URL(issuer);
  const http = httpOptions(url, options);
  let response: Response;
  try {
    response = await oauth.discoveryRequest(url, { algorithm: 'oidc', ...http });
    return await oauth.processDiscoveryResponse(url, response);
  } catch (oidcError) {
    // Not every server publishes OpenID discovery: fall back to RFC 8414.
    try {
      response = await oauth.discoveryRequest(url, { algorithm: 'oauth2', ...http });
      return await oauth.processDiscoveryResponse(url, response);
    } catch {
      throw new LoginError(
        `cannot read the metadata of ${url.href}: ${oidcError instanceof Error ? oidcError.message : 'unknown error'}`,
        'discovery_failed',
      );
    }
  }
}
