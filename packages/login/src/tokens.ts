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
}

export function toStoredTokens(
  as: oauth.AuthorizationServer,
  clientId: string,
  response: oauth.TokenEndpointResponse,
  now: number,
  previous?: StoredTokens,
  allowHttpLoopbackIssuer?: boolean,
): StoredTokens {
  const claims = oauth.getValidatedIdTokenClaims(response);
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  const idToken = response.id_token ?? previous?.idToken;
  const scope = response.scope ?? previous?.scope;
  const subject = claims?.sub ?? previous?.subject;
  const email = typeof claims?.email === 'string' ? claims.email : previous?.email;
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
  };
}
