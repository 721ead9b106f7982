import * as oauth from 'oauth4webapi';

/** What a sign-in yields and what the token store keeps, per profile. */
export interface StoredTokens {
  readonly issuer: string;
  readonly clientId: string;
  readonly accessToken: string;
  readonly tokenType: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly refreshToken?: string;
  readonly idToken?: string;
  readonly scope?: string;
  /** Who signed in: from the ID token, when there is one (the email else from UserInfo: userinfo.ts). */
  readonly subject?: string;
  readonly email?: string;
  /** The host the server was reached through with plain http, if allowed (loopback development). */
  readonly allowHttpLoopbackIssuer?: boolean;
  /**
   * Where the tokens are DPoP-bound (RFC 9449, `token_type` DPoP): the thumbprint of the profile's
   * key they are bound to. Every use needs a proof with that key, which the store keeps apart.
   */
  readonly dpopJkt?: string;
  /**
   * The thumbprint of the key whose proof went with the request that issued the refresh token: a
   * public client's refresh token is bound to it even where the access token came back Bearer
   * (RFC 9449 §5), so every refresh carries a proof of it.
   */
  readonly refreshJkt?: string;
}

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets. */
const MAX_EMAIL_LENGTH = 254;

/**
 * The email claim if it is fit to keep and show: a string of sane length with no control
 * characters (C0, DEL, C1: terminal escape sequences such as CSI or OSC 52, which writes the
 * clipboard) and no bidirectional overrides (which make a printed name read as another). The
 * server chooses this text, and `whoami` prints it; anything else is dropped, not repaired.
 */
export function displayableEmail(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || value.length > MAX_EMAIL_LENGTH)
    return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/.test(value)
    ? undefined
    : value;
}

export function toStoredTokens(
  as: oauth.AuthorizationServer,
  clientId: string,
  response: oauth.TokenEndpointResponse,
  now: number,
  previous?: StoredTokens,
  allowHttpLoopbackIssuer?: boolean,
  /** The thumbprint of the key whose proof went with the request, if one did. */
  proofJkt?: string,
): StoredTokens {
  const claims = oauth.getValidatedIdTokenClaims(response);
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  const idToken = response.id_token ?? previous?.idToken;
  const scope = response.scope ?? previous?.scope;
  const subject = claims?.sub ?? previous?.subject;
  const email = displayableEmail(claims?.email) ?? previous?.email;
  // RFC 9449 §5: token_type DPoP says the access token is bound to the proof's key. A server that
  // answered Bearer to a proof issued an unbound token (it may not support DPoP for this client).
  const dpopJkt = response.token_type.toLowerCase() === 'dpop' ? proofJkt : undefined;
  // RFC 9449 §5: the refresh token of a public client is bound to the proof's key whatever the
  // access token's type; one kept from before keeps the key it was bound to.
  const refreshJkt =
    response.refresh_token !== undefined ? proofJkt : (previous?.refreshJkt ?? previous?.dpopJkt);
  return {
    issuer: as.issuer,
    clientId,
    accessToken: response.access_token,
    tokenType: response.token_type,
    // Without expires_in, assume the common ten minutes rather than forever.
    expiresAt: now + (response.expires_in ?? 600) * 1000,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(idToken === undefined ? {} : { idToken }),
    ...(scope === undefined ? {} : { scope }),
    ...(subject === undefined ? {} : { subject }),
    ...(email === undefined ? {} : { email }),
    ...(allowHttpLoopbackIssuer === true ? { allowHttpLoopbackIssuer } : {}),
    ...(dpopJkt === undefined ? {} : { dpopJkt }),
    ...(refreshJkt === undefined || refreshToken === undefined ? {} : { refreshJkt }),
  };
}
