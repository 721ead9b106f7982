import { InvalidRequest } from '../../../errors.js';
import type { AuthorizeState } from '../state.js';

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)), 32 bytes, is 43 characters without padding. */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * check-pkce: OAuth 2.1 §4.1.1 requires code_challenge from every client. RFC 7636 §4.3: a missing
 * method means "plain", which OAuth 2.1 and Gatehouse refuse: only S256.
 */
export function checkPkce(state: AuthorizeState): void {
  const { code_challenge: challenge, code_challenge_method: method } = state.params;
  if (challenge === undefined)
    throw new InvalidRequest('code_challenge is required (PKCE with S256)');
  if (method !== 'S256') throw new InvalidRequest('code_challenge_method must be S256');
  if (!CODE_CHALLENGE.test(challenge))
    throw new InvalidRequest('code_challenge must be a base64url SHA-256 (43 characters)');
  state.codeChallenge = challenge;
}
