import * as oauth from 'oauth4webapi';
import { boundedFetch } from '../bounded-fetch.js';
import { errorText } from '../login-flow.js';
import {
  discover,
  httpOptions,
  LoginError,
  requestSignal,
  type ServerOptions,
} from '../server-metadata.js';
import type { Check } from './types.js';

/** The header a Gatehouse refused-redirect page carries (server: authorization/refusal-signal.ts). */
export const REFUSAL_SIGNAL_HEADER = 'gatehouse-redirect-refusal';

export interface ServerFindings {
  readonly checks: Check[];
  /** Whether the server offers the device grant (RFC 8628): the fallback `--device` needs it. */
  readonly deviceGrant: boolean;
}

/**
 * What the server says about itself (RFC 8414 / OpenID discovery) that the loopback flow needs,
 * and, with a client_id, whether its registration accepts `redirectUri`.
 */
export async function checkServer(
  issuer: string,
  clientId: string | undefined,
  redirectUri: string,
  options: ServerOptions & { readonly signal?: AbortSignal },
): Promise<ServerFindings> {
  let as: oauth.AuthorizationServer;
  try {
    as = await discover(issuer, options);
  } catch (error) {
    const message = error instanceof Error ? error.message : 'unknown error';
    return {
      deviceGrant: false,
      checks: [
        {
          id: 'server.discovery',
          group: 'server',
          status: 'fail',
          summary: `discovery failed: ${message}`,
          data: { code: error instanceof LoginError ? error.code : null },
        },
      ],
    };
  }
  const checks: Check[] = [
    {
      id: 'server.discovery',
      group: 'server',
      status: 'ok',
      summary: `metadata read; the issuer is ${as.issuer}`,
      data: { issuer: as.issuer },
    },
  ];
  checks.push(
    as.authorization_response_iss_parameter_supported === true
      ? {
          id: 'server.iss',
          group: 'server',
          status: 'ok',
          summary:
            'the authorization response names its issuer (RFC 9207): mix-up attacks are detected',
        }
      : {
          id: 'server.iss',
          group: 'server',
          status: 'warn',
          summary:
            'the server does not say it names its issuer in the authorization response (authorization_response_iss_parameter_supported, RFC 9207): login works, but cannot detect a mix-up attack between servers',
        },
  );
  const methods = as.code_challenge_methods_supported;
  checks.push(
    methods === undefined
      ? {
          id: 'server.pkce',
          group: 'server',
          status: 'warn',
          summary:
            'the metadata does not list code_challenge_methods_supported: login sends PKCE S256 anyway, but cannot tell the server checks it',
        }
      : methods.includes('S256')
        ? {
            id: 'server.pkce',
            group: 'server',
            status: 'ok',
            summary: 'PKCE with S256 is supported',
          }
        : {
            id: 'server.pkce',
            group: 'server',
            status: 'fail',
            summary: `PKCE S256 is not supported (code_challenge_methods_supported: ${methods.join(', ') || 'none'}): login refuses this server`,
          },
  );
  const deviceGrant = typeof as.device_authorization_endpoint === 'string';
  checks.push({
    id: 'server.device',
    group: 'server',
    status: deviceGrant ? 'ok' : 'skip',
    summary: deviceGrant
      ? 'the device authorization grant is offered (RFC 8628): gatehouse login --device works where no browser can reach this machine'
      : 'no device authorization grant (no device_authorization_endpoint): where no browser can reach this machine, paste mode (--no-browser) is the way',
  });
  if (as.authorization_endpoint === undefined) {
    checks.push({
      id: 'server.authorization_endpoint',
      group: 'server',
      status: 'fail',
      summary: 'the metadata names no authorization_endpoint',
    });
    return { checks, deviceGrant };
  }
  if (clientId !== undefined)
    checks.push(await checkRegistration(as, clientId, redirectUri, options));
  return { checks, deviceGrant };
}

/** The parameters of the request login would send, with a fresh PKCE challenge and state. */
async function probeParameters(clientId: string, redirectUri: string): Promise<URLSearchParams> {
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid',
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
    code_challenge_method: 'S256',
  });
  return params;
}

/**
 * A harmless authorization request: what login would send (PKCE S256, a random state, the
 * redirect URI it would use), never followed and never completed. RFC 6749 §4.1.2.1: a server
 * that refuses the redirect URI (or the client) answers with an error itself instead of
 * redirecting; anything else (a sign-in page, a redirect to sign-in or to us) means it took the
 * redirect URI. Where the server requires pushed requests (RFC 9126), the push is the probe.
 */
async function checkRegistration(
  as: oauth.AuthorizationServer,
  clientId: string,
  redirectUri: string,
  options: ServerOptions & { readonly signal?: AbortSignal },
): Promise<Check> {
  const id = 'client.redirect_uri';
  const params = await probeParameters(clientId, redirectUri);
  if (as.require_pushed_authorization_requests === true) return pushProbe(as, params, options);
  const url = new URL(as.authorization_endpoint as string);
  for (const [name, value] of params) url.searchParams.set(name, value);
  let response: Response;
  try {
    response = await fetch(url, {
      redirect: 'manual',
      headers: { accept: 'text/html, application/json;q=0.9' },
      signal: requestSignal(options.signal, 10_000),
    });
  } catch (error) {
    return {
      id,
      group: 'server',
      status: 'warn',
      summary: `the authorization endpoint did not answer (${error instanceof Error ? error.message : 'unknown error'}), so the registration could not be checked`,
    };
  }
  const location = response.headers.get('location');
  const signal = response.headers.get(REFUSAL_SIGNAL_HEADER);
  let body = '';
  if (response.status >= 400) {
    try {
      body = await readCapped(response, MAX_ERROR_PAGE_BYTES);
    } catch (error) {
      // The page stopped half way and the time ran out (or the caller gave up).
      return {
        id,
        group: 'server',
        status: 'warn',
        summary: `the authorization endpoint's answer (HTTP ${response.status}) did not finish (${error instanceof Error ? error.message : 'unknown error'}), so the registration could not be checked`,
        data: { status: response.status },
      };
    }
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status < 400) {
    const back = location !== null && sameEndpoint(location, redirectUri, url);
    const error = back ? new URL(location, url).searchParams.get('error') : null;
    return {
      id,
      group: 'server',
      status: 'ok',
      summary: back
        ? `the registration of ${clientId} accepts ${redirectUri} (the server redirected to it${error === null ? '' : ` with error=${error.slice(0, 100)}`})`
        : `the registration of ${clientId} accepts ${redirectUri} (the server went on to sign-in: HTTP ${response.status})`,
      data: { accepted: true, status: response.status, redirectUri },
    };
  }
  if (response.status >= 500)
    return {
      id,
      group: 'server',
      status: 'warn',
      summary: `the authorization endpoint failed (HTTP ${response.status}), so the registration could not be checked`,
      data: { status: response.status },
    };
  const gatehouse = parseRefusal(signal);
  if (gatehouse !== undefined)
    return {
      id,
      group: 'server',
      status: 'fail',
      summary: `the registration of ${clientId} refuses ${redirectUri} (${gatehouse.code}): ${gatehouse.reason}`,
      data: { accepted: false, status: response.status, redirectUri, gatehouse },
    };
  const reason = refusalText(response.headers.get('content-type') ?? '', body);
  return {
    id,
    group: 'server',
    status: 'fail',
    summary: `the server refused the authorization request for ${clientId} with ${redirectUri} (HTTP ${response.status})${reason === '' ? '' : `: ${reason}`}`,
    data: { accepted: false, status: response.status, redirectUri, serverSays: reason },
  };
}

/** The push (RFC 9126 §2) with the same parameters; its request_uri is left to expire unused. */
async function pushProbe(
  as: oauth.AuthorizationServer,
  params: URLSearchParams,
  options: ServerOptions & { readonly signal?: AbortSignal },
): Promise<Check> {
  const id = 'client.redirect_uri';
  const clientId = params.get('client_id') ?? '';
  const redirectUri = params.get('redirect_uri') ?? '';
  const client: oauth.Client = { client_id: clientId };
  try {
    const response = await oauth.pushedAuthorizationRequest(as, client, oauth.None(), params, {
      ...httpOptions(new URL(as.issuer), options),
      [oauth.customFetch]: boundedFetch(MAX_ERROR_PAGE_BYTES, 'the answer to the push'),
      signal: requestSignal(options.signal),
    });
    await oauth.processPushedAuthorizationResponse(as, client, response);
    return {
      id,
      group: 'server',
      status: 'ok',
      summary: `the registration of ${clientId} accepts ${redirectUri} (the server requires pushed requests and took the push)`,
      data: { accepted: true, pushed: true, redirectUri },
    };
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError)
      return {
        id,
        group: 'server',
        status: 'fail',
        summary: `the server refused the pushed request for ${clientId} with ${redirectUri}: ${`${error.error}${error.error_description === undefined ? '' : ` (${error.error_description})`}`.slice(0, 500)}`,
        data: { accepted: false, pushed: true, redirectUri, error: error.error },
      };
    return {
      id,
      group: 'server',
      status: 'warn',
      summary: `the pushed request failed (${error instanceof Error ? error.message : 'unknown error'}), so the registration could not be checked`,
    };
  }
}

/** An error page is a few kilobytes; a server that sends more is not read further. */
const MAX_ERROR_PAGE_BYTES = 64 * 1024;

/**
 * The first `max` bytes of the body as text, then the connection is let go: a hostile or broken
 * server's endless page can neither fill memory nor hold the doctor until the timeout.
 */
async function readCapped(response: Response, max: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const read = await reader.read();
      if (read.done) break;
      // A fetch body's chunks are bytes (Fetch standard §5.2); Node's types leave them untyped.
      const chunk = read.value as Uint8Array;
      chunks.push(chunk);
      size += chunk.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, max));
}

/** Whether `location` is our callback (any query): the server sent the browser back to us. */
function sameEndpoint(location: string, redirectUri: string, base: URL): boolean {
  try {
    const target = new URL(location, base);
    const ours = new URL(redirectUri);
    return target.origin === ours.origin && target.pathname === ours.pathname;
  } catch {
    return false;
  }
}

function parseRefusal(
  value: string | null,
): { code: string; reason: string; detailed: boolean } | undefined {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(value) as { code?: unknown; reason?: unknown; detailed?: unknown };
    if (typeof parsed.code !== 'string' || typeof parsed.reason !== 'string') return undefined;
    return {
      code: parsed.code.slice(0, 100),
      reason: parsed.reason.slice(0, 1000),
      detailed: parsed.detailed === true,
    };
  } catch {
    return undefined;
  }
}

/**
 * The server's reason as one line. Pages that list the error fields (oidc-provider's default
 * error page: `error: invalid_redirect_uri`, `error_description: ...`) are read field by field;
 * otherwise the page's alert or heading (login's own reading of a refused probe).
 */
function refusalText(contentType: string, body: string): string {
  if (!contentType.includes('json')) {
    const text = body
      .replace(/<[^>]*>/g, '\n')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
    const field = (name: string) =>
      new RegExp(`^\\s*${name}\\s*\\n*\\s*:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
    const error = field('error');
    if (error !== undefined) {
      const description = field('error_description');
      return `${error}${description === undefined ? '' : `: ${description}`}`.slice(0, 500);
    }
  }
  return errorText(contentType, body);
}
