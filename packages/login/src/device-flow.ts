import * as oauth from 'oauth4webapi';
import type { DpopKey } from './dpop-key.js';
import { serverTakesDpop } from './dpop.js';
import { accumulate } from './login-flow.js';
import {
  discover,
  httpOptions,
  LoginError,
  requestSignal,
  type ServerOptions,
} from './server-metadata.js';
import { toStoredTokens, type StoredTokens } from './tokens.js';
import { withUserInfoEmail } from './userinfo.js';

export interface DeviceCodeDisplay {
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete?: string;
  readonly expiresIn: number;
}

export interface DeviceLoginOptions extends ServerOptions {
  readonly issuer: string | URL;
  readonly clientId: string;
  readonly scope?: string;
  readonly resource?: string;
  readonly signal?: AbortSignal;
  /** The profile's DPoP key: the token requests carry proofs where the server takes DPoP. */
  readonly dpopKey?: DpopKey;
  /** Scopes already held (step-up): asked for together with `scope`. */
  readonly heldScope?: string;
  /** Told the code and where to enter it: show both to the user. */
  readonly onUserCode: (display: DeviceCodeDisplay) => void;
}

/** Whether the server offers the device grant (RFC 8628 §4: `device_authorization_endpoint`). */
export async function supportsDeviceFlow(
  issuer: string | URL,
  options: ServerOptions = {},
): Promise<boolean> {
  return (await discover(issuer, options)).device_authorization_endpoint !== undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new LoginError('sign-in cancelled', 'cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The device authorization grant (RFC 8628), for where no browser can reach this machine: show a
 * code, let the user approve on any device, poll politely (`slow_down` adds five seconds).
 */
export async function deviceLogin(options: DeviceLoginOptions): Promise<StoredTokens> {
  const as = await discover(options.issuer, options);
  if (as.device_authorization_endpoint === undefined) {
    throw new LoginError(
      `${as.issuer} does not offer the device flow; use --no-browser to paste the final address instead`,
      'device_unsupported',
    );
  }
  const client: oauth.Client = { client_id: options.clientId };
  const http = httpOptions(new URL(as.issuer), options);
  // Like the loopback flow: the default scope is trimmed to what the server lists.
  const supported = as.scopes_supported;
  const defaultScope = ['openid', 'email', 'offline_access']
    .filter((s) => supported === undefined || supported.includes(s))
    .join(' ');
  const scope = accumulate(
    (options.scope ?? defaultScope).split(' ').filter((s) => s !== ''),
    options.heldScope,
  ).join(' ');
  const parameters: Record<string, string> = { scope };
  const dpop = options.dpopKey !== undefined && serverTakesDpop(as) ? options.dpopKey : undefined;
  if (options.resource !== undefined) parameters.resource = options.resource;
  let authorization: oauth.DeviceAuthorizationResponse;
  try {
    authorization = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await oauth.deviceAuthorizationRequest(as, client, oauth.None(), parameters, {
        ...http,
        signal: requestSignal(options.signal),
      }),
    );
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError)
      throw new LoginError(
        `the server refused the device flow: ${error.error}${error.error_description === undefined ? '' : ` (${error.error_description})`}`,
        error.error,
      );
    throw new LoginError(
      `the device authorization request failed: ${error instanceof Error ? error.message : 'unknown error'}`,
      'device_request_failed',
    );
  }
  options.onUserCode({
    userCode: authorization.user_code,
    verificationUri: authorization.verification_uri,
    ...(authorization.verification_uri_complete === undefined
      ? {}
      : { verificationUriComplete: authorization.verification_uri_complete }),
    expiresIn: authorization.expires_in,
  });

  let interval = (authorization.interval ?? 5) * 1000;
  const deadline = Date.now() + authorization.expires_in * 1000;
  while (Date.now() < deadline) {
    await sleep(interval, options.signal);
    try {
      const response = await oauth.deviceCodeGrantRequest(
        as,
        client,
        oauth.None(),
        authorization.device_code,
        {
          ...http,
          signal: requestSignal(options.signal),
          ...(dpop === undefined ? {} : { DPoP: dpop.handle }),
        },
      );
      const result = await oauth.processDeviceCodeResponse(as, client, response);
      return await withUserInfoEmail(
        as,
        toStoredTokens(
          as,
          options.clientId,
          result,
          Date.now(),
          undefined,
          options.allowHttpLoopbackIssuer,
          dpop?.jkt,
        ),
        options,
        dpop,
      );
    } catch (error) {
      if (options.signal?.aborted === true) throw new LoginError('sign-in cancelled', 'cancelled');
      if (!(error instanceof oauth.ResponseBodyError))
        throw new LoginError(
          `polling for the token failed: ${error instanceof Error ? error.message : 'unknown error'}`,
          'token_request_failed',
        );
      // RFC 9449 §8: the handle kept the nonce; the next poll's proof carries it.
      if (error.error === 'authorization_pending' || oauth.isDPoPNonceError(error)) continue;
      if (error.error === 'slow_down') {
        interval += 5000;
        continue;
      }
      if (error.error === 'access_denied')
        throw new LoginError('the sign-in was denied on the other device', 'access_denied');
      if (error.error === 'expired_token') break;
      throw new LoginError(`the server refused the device flow: ${error.error}`, error.error);
    }
  }
  throw new LoginError(
    'the code expired before it was approved; run the command again',
    'expired_token',
  );
}
