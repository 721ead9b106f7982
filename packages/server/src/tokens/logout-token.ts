import type { IdTokenAlg } from '../storage/clients.js';
import type { Signer } from './signer.js';

/** OIDC Back-Channel Logout 1.0 §2.4: the one event a logout token carries. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** §2.4: `typ` is `logout+jwt` (explicit typing, RFC 8725 §3.11), so it is never taken for an ID token. */
export const LOGOUT_TOKEN_TYP = 'logout+jwt';
/** A logout token is delivered at once; two minutes covers the receiver's clock skew. */
export const LOGOUT_TOKEN_TTL_S = 120;

/**
 * A Logout Token (Back-Channel Logout §2.4): iss, aud, iat, exp, jti, events, sub and sid (both
 * when the session is known, §2.4 requires at least one), never a nonce (§2.4: its absence is what
 * tells it apart from an ID token). Signed with the keys and the algorithm of the client's ID
 * tokens, since the receiver validates it as it validates an ID token (§2.6 item 3).
 */
export function issueLogoutToken(
  signer: Signer,
  request: {
    readonly environment: string;
    readonly issuer: string;
    readonly clientId: string;
    readonly sub: string;
    readonly sid: string | null;
    /** The delivery's id: the same jti on every attempt, so a receiver can spot a repeat. */
    readonly jti: string;
    /** The client's id_token_signed_response_alg; absent or null: RS256 (OIDC Core default). */
    readonly alg: IdTokenAlg | null | undefined;
    /** Now, in ms. */
    readonly now: number;
  },
): Promise<string> {
  const iat = Math.floor(request.now / 1000);
  return signer.sign(
    request.environment,
    LOGOUT_TOKEN_TYP,
    {
      iss: request.issuer,
      aud: request.clientId,
      iat,
      exp: iat + LOGOUT_TOKEN_TTL_S,
      jti: request.jti,
      sub: request.sub,
      ...(request.sid === null ? {} : { sid: request.sid }),
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    },
    request.alg ?? 'RS256',
  );
}
