import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthInfo } from './auth-info.js';
import { MetadataUnavailable } from './discovery.js';
import { parseScopeClaim } from './scopes.js';

export interface VerifyOptions {
  readonly issuer: string;
  readonly resource: string;
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly requireAtJwt: boolean;
  readonly clock: () => number;
}

export type VerifyResult =
  | { readonly ok: true; readonly auth: AuthInfo; readonly claims: JWTPayload }
  | { readonly ok: false; readonly reason: 'invalid_token'; readonly description: string }
  /** The keys could not be fetched: not the token's fault, so not answered as `invalid_token`. */
  | {
      readonly ok: false;
      readonly reason: 'unavailable';
      readonly description: string;
      readonly cause: unknown;
    };

/** RFC 9068 §2.2: the claims every JWT access token carries. */
const RFC9068_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

/**
 * Verifies a JWT access token as RFC 9068 §4 says a resource server MUST: the `typ` header, the
 * signature with the issuer's keys and an allowed algorithm, `iss` identical to the issuer, `aud`
 * containing this resource (RFC 8707), and `exp`/`nbf`. Returns what is wrong rather than throwing;
 * the descriptions are fixed texts, never anything read from the token.
 */
// ECDSA signatures are malleable ((r, s) and (r, n - s) both verify). Gatehouse signs low-S and its
// own verifier refuses high-S; this library does not, because it verifies the tokens of any
// RFC 9068 authorization server and RFC 7518 does not require low-S: about half the ES256 tokens
// of a conformant server that does not normalise would be refused. A resource keyed on the token
// string (a replay or revocation list) should key on `jti` instead.
export async function verifyAccessToken(
  token: string,
  getKey: JWTVerifyGetKey,
  options: VerifyOptions,
): Promise<VerifyResult> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      issuer: options.issuer,
      audience: options.resource,
      algorithms: [...options.algorithms],
      clockTolerance: options.clockToleranceSeconds,
      currentDate: new Date(options.clock()),
      // RFC 9068 §4: the resource server MUST verify that `typ` is `at+jwt` (or
      // `application/at+jwt`, which jose treats alike), so an ID token or any other JWT signed
      // by the same keys is not taken for an access token.
      ...(options.requireAtJwt
        ? { typ: 'at+jwt', requiredClaims: RFC9068_CLAIMS }
        : { requiredClaims: ['exp'] }),
    }));
  } catch (error) {
    return classify(error);
  }
  const scopes = parseScopeClaim(payload.scope);
  if (scopes === undefined)
    return invalidToken('the scope claim of the access token is not a string');
  const clientId = payload.client_id ?? (options.requireAtJwt ? undefined : (payload.azp ?? ''));
  if (typeof clientId !== 'string')
    return invalidToken('the client_id claim of the access token is not a string');
  return {
    ok: true,
    claims: payload,
    auth: {
      token,
      clientId,
      scopes,
      // Required above, and checked to be a number by jose.
      ...(payload.exp === undefined ? {} : { expiresAt: payload.exp }),
      resource: new URL(options.resource),
      extra: {
        ...(payload.sub === undefined ? {} : { subject: payload.sub }),
        issuer: options.issuer,
        claims: payload,
      },
    },
  };
}

function invalidToken(description: string): VerifyResult {
  return { ok: false, reason: 'invalid_token', description };
}

/** Claim names are from our own fixed lists, so naming one reflects nothing the client chose. */
const KNOWN_CLAIMS = new Set([...RFC9068_CLAIMS, 'nbf', 'typ']);

function classify(error: unknown): VerifyResult {
  if (error instanceof errors.JWTExpired) return invalidToken('the access token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = KNOWN_CLAIMS.has(error.claim) ? error.claim : 'a';
    if (error.reason === 'missing') return invalidToken(`the access token has no ${claim} claim`);
    switch (claim) {
      case 'typ':
        return invalidToken('not an access token: the typ header must be at+jwt (RFC 9068)');
      case 'iss':
        return invalidToken('the access token was issued by another authorization server');
      case 'aud':
        return invalidToken('the access token was not issued for this resource');
      case 'nbf':
        return invalidToken('the access token is not valid yet');
      default:
        return invalidToken(`the ${claim} claim of the access token is invalid`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return invalidToken(
      'the access token is signed with an algorithm this resource does not accept',
    );
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalidToken('the access token signature is invalid');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return invalidToken('the access token is not signed with a key of the issuer');
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  )
    return invalidToken('the access token is malformed');
  // Anything else is about fetching keys (timeouts, HTTP errors, a broken key set): the token
  // may well be fine, so the caller answers 503 and logs the cause.
  return {
    ok: false,
    reason: 'unavailable',
    description:
      error instanceof MetadataUnavailable
        ? 'the authorization server metadata could not be read'
        : 'the authorization server keys could not be fetched',
    cause: error,
  };
}
