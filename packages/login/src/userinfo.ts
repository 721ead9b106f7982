import * as oauth from 'oauth4webapi';
import { boundedFetch } from './bounded-fetch.js';
import type { DpopKey } from './dpop-key.js';
import { withNonceRetry } from './dpop.js';
import { endpointAllowed, httpOptions, type ServerOptions } from './server-metadata.js';
import { displayableEmail, type StoredTokens } from './tokens.js';

/** Covers the whole exchange, body included: fetch's signal aborts a body still being read. */
const USERINFO_TIMEOUT_MS = 10_000;
/** A UserInfo answer is a handful of claims; anything larger is not read into memory. */
const MAX_USERINFO_BYTES = 64 * 1024;

/**
 * Fills in the email from the UserInfo endpoint where the ID token did not carry it. Servers may
 * put scope-requested claims only in UserInfo when an access token is issued (OIDC Core §5.4; for
 * example oidc-provider's default), so the ID token alone often says who signed in but not their
 * email. The email is for showing the user (`whoami`): any failure leaves the tokens as they are.
 *
 * The UserInfo `sub` must equal the ID token's, else the response is not used (OIDC Core §5.3.4:
 * a token substitution attack); without an ID token subject there is nothing to compare with, so
 * UserInfo is not asked at all.
 */
export async function withUserInfoEmail(
  as: oauth.AuthorizationServer,
  tokens: StoredTokens,
  options: ServerOptions,
  /** The key a DPoP-bound token was bound to: UserInfo gets it with a proof (RFC 9449 §7). */
  dpop?: DpopKey,
): Promise<StoredTokens> {
  const subject = tokens.subject;
  if (tokens.email !== undefined || subject === undefined) return tokens;
  if (as.userinfo_endpoint === undefined) return tokens;
  // The bearer token goes to the issuer's own metadata's endpoint only, and in clear only on
  // loopback (discover refuses such metadata already; this holds for any caller's metadata).
  if (!endpointAllowed(as.userinfo_endpoint)) return tokens;
  // UserInfo is an OpenID Connect endpoint: without the openid scope it owes us nothing.
  if (tokens.scope !== undefined && !tokens.scope.split(' ').includes('openid')) return tokens;
  // A bound token goes with a proof of its key (the DPoP scheme, `ath`: RFC 9449 §7.1); a token
  // of another type than these two is not sent at all.
  const proofKey = tokens.dpopJkt !== undefined && dpop?.jkt === tokens.dpopJkt ? dpop : undefined;
  if (tokens.tokenType.toLowerCase() !== 'bearer' && proofKey === undefined) return tokens;
  const client: oauth.Client = { client_id: tokens.clientId };
  try {
    const claims = await withNonceRetry(async () => {
      const response = await oauth.userInfoRequest(as, client, tokens.accessToken, {
        ...httpOptions(new URL(as.issuer), options),
        signal: AbortSignal.timeout(USERINFO_TIMEOUT_MS),
        [oauth.customFetch]: boundedFetch(MAX_USERINFO_BYTES, 'the UserInfo answer'),
        ...(proofKey === undefined ? {} : { DPoP: proofKey.handle }),
      });
      return oauth.processUserInfoResponse(as, client, subject, response);
    });
    const email = displayableEmail(claims.email);
    return email === undefined ? tokens : { ...tokens, email };
  } catch {
    // A refusal, a mismatched sub or no answer: the sign-in itself succeeded; show the subject.
    return tokens;
  }
}
