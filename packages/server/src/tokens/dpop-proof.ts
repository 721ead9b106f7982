import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  errors,
  jwtVerify,
  type JWTPayload,
} from 'jose';

/**
 * The algorithms a DPoP proof may be signed with, exactly what discovery advertises
 * (`dpop_signing_alg_values_supported`, RFC 9449 §5.1). Asymmetric only (RFC 9449 §4.3 item 5:
 * not `none`, not a MAC): the key travels in the proof itself, so a symmetric one would be no
 * proof of anything. Ed25519 keys sign as `EdDSA` (RFC 8037) or `Ed25519` (RFC 9864), as for
 * client assertions (http/client-assertion.ts).
 */
export const DPOP_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA', 'Ed25519'] as const;

/** RFC 9449 §4.2: the media type of a proof, in its `typ` header. */
export const DPOP_PROOF_TYP = 'dpop+jwt';

/**
 * How old a proof's `iat` may be (RFC 9449 §4.3 item 11: "within an acceptable window"; §11.1).
 * A proof is made for one request and sent at once; a minute leaves room for a slow network and
 * bounds how long a captured proof, and its jti row, live.
 */
export const DPOP_IAT_PAST_S = 60;
/** How far ahead of this server's clock a proof's `iat` may be: clock skew only. */
export const DPOP_IAT_FUTURE_S = 10;
/**
 * The longest proof read, in characters: an RSA 4096 key's proof is under 2 KB; anything far
 * larger is not a proof, and is refused before any parsing or signature work.
 */
export const MAX_DPOP_PROOF_LENGTH = 8192;
/** A jti is stored: room for any reasonable unique identifier, and no more. */
const MAX_JTI_LENGTH = 256;

/** A verified DPoP proof: what the token endpoint passes to the grants (GrantRequest.dpop). */
export interface DpopProofResult {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key, base64url: what `cnf.jkt` names. */
  readonly jkt: string;
  readonly jti: string;
  /** Seconds since the epoch, as the proof says. */
  readonly iat: number;
  /** The server-provided nonce the proof carried, if any (RFC 9449 §8). */
  readonly nonce?: string;
}

/** What the request the proof came with must match. */
export interface DpopExpectation {
  /** The request's method (RFC 9449 §4.3 item 8). */
  readonly htm: string;
  /** The endpoint's URL, without query or fragment (item 9). */
  readonly htu: string;
  /** The access token presented with the proof: its hash must be the proof's `ath` (item 12). */
  readonly accessToken?: string;
  readonly now: number;
}

/** A proof refused: the message says why, in words a client developer can act on. */
export class DpopProofError extends Error {
  override readonly name = 'DpopProofError';
}

const refused = (why: string) => new DpopProofError(`DPoP proof refused: ${why}`);

/** Members only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * `ath` (RFC 9449 §4.2): the base64url SHA-256 of the access token's ASCII octets.
 */
export function accessTokenHashForDpop(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/**
 * An `htu` or request URL in the form they are compared in (RFC 9449 §4.3 item 9: "ignoring any
 * query and fragment parts", with syntax- and scheme-based normalisation, RFC 3986 §6.2.2 and
 * §6.2.3): the WHATWG parser lowercases scheme and host, drops a default port, resolves dot
 * segments and normalises percent-encoding; then only origin and path are kept. Undefined when
 * it is no absolute http(s) URL.
 */
export function normalisedHtu(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  return `${url.origin}${url.pathname === '' ? '/' : url.pathname}`;
}

/**
 * Checks a DPoP proof JWT (RFC 9449 §4.3), all but its `jti` being new and its `nonce` (the
 * caller's, with storage and the nonce key): one JWT (item 2); `typ` dpop+jwt (item 4); `alg` on
 * DPOP_ALGS (item 5); the signature by the `jwk` header's key (item 6), a public key (item 7);
 * `htm` and `htu` those of this request (items 8, 9); `iat` within the window (item 11); `ath`
 * the presented access token's hash (item 12). Throws DpopProofError.
 */
export async function verifyDpopProof(
  proof: string,
  expected: DpopExpectation,
): Promise<DpopProofResult> {
  if (proof.length > MAX_DPOP_PROOF_LENGTH)
    throw refused(`it is longer than ${MAX_DPOP_PROOF_LENGTH} characters`);
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw refused('it is not a JWT');
  }
  if (header.typ !== DPOP_PROOF_TYP) throw refused(`its typ must be ${DPOP_PROOF_TYP}`);
  const alg = header.alg;
  if (typeof alg !== 'string' || !(DPOP_ALGS as readonly string[]).includes(alg))
    throw refused(
      `alg ${typeof alg === 'string' ? alg.slice(0, 16) : '(none)'} is not accepted; use one of ${DPOP_ALGS.join(', ')}`,
    );
  const jwk = header.jwk;
  if (jwk === undefined || typeof jwk !== 'object' || Array.isArray(jwk))
    throw refused('its header has no jwk (the public key)');
  // RFC 9449 §4.3 item 7: "the jwk JOSE Header Parameter does not contain a private key".
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member)))
    throw refused('its jwk must be a public key: it holds private or symmetric key material');
  if (weakRsaExponent(jwk))
    throw refused('its RSA key must have an odd public exponent above 65536 (such as 65537)');

  let payload: JWTPayload;
  try {
    payload = (
      await jwtVerify(proof, EmbeddedJWK, {
        algorithms: [...DPOP_ALGS],
        typ: DPOP_PROOF_TYP,
        currentDate: new Date(expected.now),
      })
    ).payload;
  } catch (error) {
    throw refused(reason(error));
  }

  const { htm, htu, iat, jti, ath, nonce } = payload as JWTPayload & Record<string, unknown>;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH || /\p{Cc}/u.test(jti))
    throw refused(
      `jti must be a string of 1 to ${MAX_JTI_LENGTH} characters, without control characters`,
    );
  if (htm !== expected.htm) throw refused(`htm must be the request's method, ${expected.htm}`);
  const presentedHtu = typeof htu === 'string' ? normalisedHtu(htu) : undefined;
  if (presentedHtu === undefined || presentedHtu !== normalisedHtu(expected.htu))
    throw refused(`htu must be this endpoint's URL, ${expected.htu}`);
  const nowS = Math.floor(expected.now / 1000);
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refused('it has no numeric iat');
  if (iat < nowS - DPOP_IAT_PAST_S)
    throw refused(`iat is more than ${DPOP_IAT_PAST_S} seconds old: make a proof per request`);
  if (iat > nowS + DPOP_IAT_FUTURE_S) throw refused('iat is in the future');
  if (expected.accessToken !== undefined) {
    if (typeof ath !== 'string') throw refused('ath (the access token hash) is required');
    if (ath !== accessTokenHashForDpop(expected.accessToken))
      throw refused('ath is not the hash of the access token presented');
  }
  if (nonce !== undefined && typeof nonce !== 'string') throw refused('nonce must be a string');

  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  return { jkt, jti, iat, ...(nonce === undefined ? {} : { nonce }) };
}

/**
 * An RSA public exponent no proof key may have: outside the bounds FIPS 186 sets for RSA keys
 * (odd, 2^16 < e < 2^256; every library makes 65537). With e = 1 the "signature" is the padded
 * message itself, which anyone who has seen the jwk (it rides in every proof) can write, so a
 * token bound to such a key is bound to nothing (RFC 9449 §11.1); the signature check alone does
 * not see it. An exponent that is no base64url number is refused too.
 */
function weakRsaExponent(jwk: Record<string, unknown>): boolean {
  if (jwk.kty !== 'RSA') return false;
  if (typeof jwk.e !== 'string' || !/^[A-Za-z0-9_-]{1,44}$/.test(jwk.e)) return true;
  const hex = Buffer.from(jwk.e, 'base64url').toString('hex');
  if (hex === '') return true;
  const e = BigInt(`0x${hex}`);
  return e % 2n === 0n || e <= 0x10000n || e >= 1n << 256n;
}

/** What went wrong with the signature or the key, without echoing either. */
function reason(error: unknown): string {
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its alg is not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'its signature does not verify with its jwk';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'typ') return `its typ must be ${DPOP_PROOF_TYP}`;
    return `its ${error.claim} claim is not acceptable`;
  }
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JOSENotSupported)
    return 'its jwk is not a usable public key for its alg';
  return 'it is not a valid signed JWT';
}
