import { InvalidRequest } from '../../../errors.js';
import type { AuthorizeState } from '../state.js';

/** An RFC 7638 SHA-256 thumbprint, base64url without padding: 32 bytes, 43 characters. */
const JWK_THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/**
 * check-dpop-jkt: RFC 9449 §10: `dpop_jkt`, the thumbprint of the client's DPoP key, binds the
 * code to that key: the token request must then carry a proof made with it (storage/codes.ts,
 * the `dpop_jkt` rule). Optional (§10); a value that cannot be a thumbprint is refused rather than
 * stored, as it would make the code unredeemable. A pushed request's value is the key of its
 * PAR proof, or was checked against it (§10.1, endpoints/par).
 */
export function checkDpopJkt(state: AuthorizeState): void {
  const jkt = state.params.dpop_jkt;
  if (jkt === undefined) return;
  if (!JWK_THUMBPRINT.test(jkt))
    throw new InvalidRequest(
      'dpop_jkt must be the base64url SHA-256 JWK thumbprint of the DPoP key (RFC 9449 §10)',
    );
  state.dpopJkt = jkt;
}
