import * as oauth from 'oauth4webapi';
import { boundedFetch } from './bounded-fetch.js';

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
    /** What underlay it (the socket error of a failed bind), for a diagnosis such as the doctor's. */
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const LOOPBACK_HOSTS = ['127.0.0.1', '[::1]', 'localhost'];

/** How long one request to the server may take, its body included. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The signal for one request to the server: bounded, so a server that takes the request and
 * never answers cannot hold the command, and ended by the caller's signal too (the CLI's Ctrl-C
 * handler aborts it instead of ending the process).
 */
export function requestSignal(signal?: AbortSignal, ms = REQUEST_TIMEOUT_MS): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}

export function httpOptions(
  issuer: URL,
  options: ServerOptions,
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- deliberate: plain http on loopback only
): { [oauth.allowInsecureRequests]?: boolean } {
  if (issuer.protocol === 'https:') return {};
  const loopback = LOOPBACK_HOSTS.includes(issuer.hostname);
  if (issuer.protocol === 'http:' && loopback && options.allowHttpLoopbackIssuer === true) {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deliberate: plain http on loopback only
    return { [oauth.allowInsecureRequests]: true };
  }
  throw new LoginError(
    `the issuer ${issuer.href} must use https${loopback ? ' (or allow http on loopback explicitly)' : ''}`,
    'insecure_issuer',
  );
}

/**
 * Whether a request may go to `endpoint`: https anywhere, plain http only on a loopback host. The
 * allowance for a plain-http loopback issuer (`allowInsecureRequests` in oauth4webapi) covers
 * every endpoint its metadata names, so without this check a loopback server's metadata could
 * send codes, refresh tokens and bearer tokens in clear to any host on the network.
 */
export function endpointAllowed(endpoint: string): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.includes(url.hostname))
  );
}

/** Every metadata member a request (or the browser) is sent to. */
function endpointsOf(as: oauth.AuthorizationServer): [string, string][] {
  const members = Object.entries(as).filter(
    ([name, value]) =>
      (name.endsWith('_endpoint') || name === 'jwks_uri') && typeof value === 'string',
  ) as [string, string][];
  const aliases = as.mtls_endpoint_aliases ?? {};
  for (const [name, value] of Object.entries(aliases))
    if (typeof value === 'string') members.push([`mtls_endpoint_aliases.${name}`, value]);
  return members;
}

/** RFC 8414 / OpenID discovery through oauth4webapi, which checks that the issuer matches. */
export async function discover(
  issuer: string | URL,
  options: ServerOptions = {},
): Promise<oauth.AuthorizationServer> {
  const url = new URL(issuer);
  const as = await readMetadata(url, httpOptions(url, options));
  // Plain http is allowed for a loopback issuer only, and so only for loopback endpoints. (A
  // member that is no URL at all is refused by oauth4webapi if it is ever used.)
  const insecure = endpointsOf(as).find(
    ([, value]) =>
      URL.canParse(value) && new URL(value).protocol === 'http:' && !endpointAllowed(value),
  );
  if (insecure !== undefined)
    throw new LoginError(
      `the metadata of ${url.href} names ${insecure[0]} ${insecure[1]}: plain http is accepted on a loopback host only, so tokens never cross the network in clear`,
      'insecure_endpoint',
    );
  return as;
}

/** A metadata document is a few kilobytes; one larger than this is not read into memory. */
const MAX_METADATA_BYTES = 256 * 1024;

async function readMetadata(
  url: URL,
  http: ReturnType<typeof httpOptions>,
): Promise<oauth.AuthorizationServer> {
  let response: Response;
  const bounded = { [oauth.customFetch]: boundedFetch(MAX_METADATA_BYTES, 'the metadata') };
  try {
    response = await oauth.discoveryRequest(url, {
      algorithm: 'oidc',
      ...http,
      ...bounded,
      signal: requestSignal(),
    });
    return await oauth.processDiscoveryResponse(url, response);
  } catch (oidcError) {
    // Not every server publishes OpenID discovery: fall back to RFC 8414.
    try {
      response = await oauth.discoveryRequest(url, {
        algorithm: 'oauth2',
        ...http,
        ...bounded,
        signal: requestSignal(),
      });
      return await oauth.processDiscoveryResponse(url, response);
    } catch {
      throw new LoginError(
        `cannot read the metadata of ${url.href}: ${oidcError instanceof Error ? oidcError.message : 'unknown error'}`,
        'discovery_failed',
      );
    }
  }
}
