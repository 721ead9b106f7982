import type { SessionClaims } from '../storage/session-claims.js';
import type { Session } from '../storage/sessions.js';

/**
 * RFC 8176 §2 `pwd`: every browser session is made by a password sign-in (http/sign-in.ts).
 */
export const AMR_PASSWORD = 'pwd';
/**
 * What an operator's impersonation says instead: the user did not authenticate at all. Not an
 * RFC 8176 value (none fits); documented, and the ID token carries the operator in `act` too.
 */
export const AMR_IMPERSONATION = 'impersonation';

/**
 * The authentication context classes Gatehouse reports (OIDC Core §2 `acr`), advertised exactly
 * as `acr_values_supported`: a password sign-in, or an operator's impersonation.
 */
export const ACR_PASSWORD = 'urn:gatehouse:acr:password';
export const ACR_IMPERSONATION = 'urn:gatehouse:acr:impersonation';
export const ACR_VALUES_SUPPORTED: readonly string[] = [ACR_PASSWORD, ACR_IMPERSONATION];

/**
 * What the ID tokens of a grant made under this browser session say of the sign-in: its `sid`
 * (absent for a session from before migration 0013), `amr`, and `acr` when the request asked for
 * one with `acr_values` (OIDC Core §3.1.2.1: a voluntary request, answered with the class this
 * sign-in reached whatever values were asked).
 */
export function sessionClaimsOf(
  session: Pick<Session, 'sid'>,
  acrRequested: boolean,
): SessionClaims {
  return {
    ...(session.sid === null ? {} : { sid: session.sid }),
    amr: [AMR_PASSWORD],
    ...(acrRequested ? { acr: ACR_PASSWORD } : {}),
  };
}

/** The same for a grant an operator's impersonation made: no user session, so no sid. */
export function impersonationClaims(acrRequested: boolean): SessionClaims {
  return { amr: [AMR_IMPERSONATION], ...(acrRequested ? { acr: ACR_IMPERSONATION } : {}) };
}
