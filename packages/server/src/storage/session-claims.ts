/**
 * What an ID token says of the sign-in a grant came from, kept with the authorization code, the
 * device code and every refresh token of the grant (column `session_claims`, migration 0013), so
 * that an ID token issued later (at the token endpoint, or on refresh) says the same:
 * - `sid`: the browser session's public id (OIDC Back-Channel Logout 1.0 §2.1; RP-Initiated
 *   Logout), absent for a session from before 0013 and for an impersonation;
 * - `amr`: how the user authenticated (RFC 8176 values; OIDC Core §2);
 * - `acr`: the authentication context class, kept only when the request asked for one (OIDC Core
 *   §3.1.2.1 `acr_values`).
 */
export interface SessionClaims {
  readonly sid?: string;
  readonly amr?: readonly string[];
  readonly acr?: string;
}

/** As stored: JSON, or null when there is nothing to say. */
export function encodeSessionClaims(claims: SessionClaims | undefined): string | null {
  if (claims === undefined) return null;
  const { sid, amr, acr } = claims;
  if (sid === undefined && amr === undefined && acr === undefined) return null;
  return JSON.stringify({
    ...(sid === undefined ? {} : { sid }),
    ...(amr === undefined ? {} : { amr }),
    ...(acr === undefined ? {} : { acr }),
  });
}

/** The stored claims; a row from before 0013 (null) or anything malformed says nothing. */
export function decodeSessionClaims(text: string | null): SessionClaims {
  if (text === null) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null) return {};
  const { sid, amr, acr } = value as Record<string, unknown>;
  return {
    ...(typeof sid === 'string' ? { sid } : {}),
    ...(Array.isArray(amr) && amr.every((v) => typeof v === 'string') ? { amr } : {}),
    ...(typeof acr === 'string' ? { acr } : {}),
  };
}
