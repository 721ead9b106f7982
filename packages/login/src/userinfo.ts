import * as oauth from 'oauth4webapi';
import { httpOptions, type ServerOptions } from './server-metadata.js';
import type { StoredTokens } from './tokens.js';

const USERINFO_TIMEOUT_MS = 10_000;

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
): Promise<StoredTokens> {
  if (tokens.email !== undefined || tokens.subject === undefined) return tokens;
  if (as.userinfo_endpoint === undefined) return tokens;
  // UserInfo is an OpenID Connect endpoint: without the openid scope it owes us nothing.
  if (tokens.scope !== undefined && !tokens.scope.split(' ').includes('openid')) return tokens;
  // A DPoP-bound token needs a proof this kit does not make; only bearer tokens are sent.
  if (tokens.tokenType.toLowerCase() !== 'bearer') return tokens;
  const client: oauth.Client = { client_id: tokens.clientId };
  try {
    const response = await oauth.userInfoRequest(as, client, tokens.accessToken, {
      ...httpOptions(new URL(as.issuer), options),
      signal: AbortSignal.timeout(USERINFO_TIMEOUT_MS),
    });
    const claims = await oauth.processUserInfoResponse(as, client, tokens.subject, response);
    return typeof claims.email === 'string' && claims.email !== ''
      ? { ...tokens, email: claims.email }
      : tokens;
  } catch {
    // A refusal, a mismatched sub or no answer: the sign-in itself succeeded; show the subject.
    return tokens;
  }
}
