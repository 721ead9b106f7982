import { InvalidRequest } from '../../../errors.js';
import { pkceExempt } from '../../../grants/authorization-code.js';
import { scopeList } from '../../../protocol.js';
import { NO_CODE_CHALLENGE } from '../../../storage/codes.js';
import { clientOf, type AuthorizeState } from '../state.js';

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)), 32 bytes, is 43 characters without padding. */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * check-pkce: OAuth 2.1 §4.1.1 requires code_challenge from every client. RFC 7636 §4.3: a missing
 * method means "plain", which OAuth 2.1 and Gatehouse refuse: only S256.
 *
 * The one exception, OAuth 2.1 §7.5.1 (legacy relying parties such as passport-openidconnect):
 * a confidential client an operator marked pkce_exempt_with_nonce may send no challenge at all
 * when the request is an OpenID Connect one (scope openid) with a nonce, which then binds the ID
 * token to the browser session. Never for a public client. Such a code must be redeemed without a
 * code_verifier (storage/codes.ts, NO_CODE_CHALLENGE): the PKCE downgrade attack is refused.
 */
export function checkPkce(state: AuthorizeState): void {
  const { code_challenge: challenge, code_challenge_method: method } = state.params;
  if (challenge === undefined && method === undefined && legacyException(state)) {
    state.codeChallenge = NO_CODE_CHALLENGE;
    return;
  }
  if (challenge === undefined)
    throw new InvalidRequest('code_challenge is required (PKCE with S256)');
  if (method !== 'S256') throw new InvalidRequest('code_challenge_method must be S256');
  if (!CODE_CHALLENGE.test(challenge))
    throw new InvalidRequest('code_challenge must be a base64url SHA-256 (43 characters)');
  state.codeChallenge = challenge;
}

function legacyException(state: AuthorizeState): boolean {
  const { nonce, scope } = state.params;
  return (
    pkceExempt(clientOf(state)) &&
    scopeList(scope).includes('openid') &&
    nonce !== undefined &&
    nonce !== ''
  );
}
