import { sign as signBytes, verify as verifyBytes, type KeyObject } from 'node:crypto';

/**
 * Compact ES256 (and RS256) JWS with node:crypto, by hand. jose signs through WebCrypto, which hands every
 * signature to the thread pool and back: under load that hand-off cost as much as the signature
 * itself (a fifth of a token request). Signing is a few lines; verifying is stricter than a
 * general library needs to be, since Gatehouse only ever verifies tokens it issued itself:
 * ES256 (low-S only) or RS256, each key bound to its one algorithm, a known `kid`, no `crit`, the
 * expected `typ`, and the registered time claims. RS256 exists for ID tokens: OIDC Core §15.1 makes
 * it mandatory to implement and the default for clients (OIDC Registration §2).
 * jose stays the reference: the tests check that it accepts what this signs.
 */

export const ES256 = 'ES256';
export const RS256 = 'RS256';
export type SigningAlg = typeof ES256 | typeof RS256;
export const SIGNING_ALGS: readonly SigningAlg[] = [ES256, RS256];
/** A P-256 signature in JWS form (r || s, RFC 7518 §3.4). */
const SIGNATURE_BYTES = 64;
/** The order of P-256's base point. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

const scalar = (bytes: Buffer): bigint => BigInt(`0x${bytes.toString('hex')}`);

/** n and n/2 as 32 big-endian bytes, to compare and subtract without BigInt on the signing path. */
const P256_N_BYTES = Buffer.from(P256_N.toString(16).padStart(64, '0'), 'hex');
const P256_HALF_N_BYTES = Buffer.from(P256_HALF_N.toString(16).padStart(64, '0'), 'hex');

/**
 * ECDSA is malleable: if (r, s) verifies, so does (r, n - s). Gatehouse signs with the low s
 * (s <= n/2, as Bitcoin's BIP 62 and many JOSE deployments do) and refuses the high one, so each
 * token has exactly one valid spelling: nothing keyed on the token string (a revocation or replay
 * list, a cache) can be sidestepped by presenting the other spelling.
 *
 * Every token is signed here, so it works on the bytes: a big-endian comparison, and n - s by
 * schoolbook subtraction (s < n, so no borrow is left over).
 */
function toLowS(signature: Buffer): Buffer {
  const s = signature.subarray(32);
  if (s.compare(P256_HALF_N_BYTES) <= 0) return signature;
  const low = Buffer.alloc(32);
  let borrow = 0;
  for (let i = 31; i >= 0; i--) {
    const difference = (P256_N_BYTES[i] ?? 0) - (s[i] ?? 0) - borrow;
    borrow = difference < 0 ? 1 : 0;
    low[i] = difference + (borrow << 8);
  }
  return Buffer.concat([signature.subarray(0, 32), low]);
}

/** r and s in [1, n/2] for s, [1, n) for r: the one canonical spelling of a signature. */
function isCanonicalSignature(signature: Buffer): boolean {
  const r = scalar(signature.subarray(0, 32));
  const s = scalar(signature.subarray(32));
  return r > 0n && r < P256_N && s > 0n && s <= P256_HALF_N;
}

function encodeJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Header segments, by kid and typ: they are the same for every token a key signs. */
const headerCache = new Map<string, string>();

function encodedHeader(alg: SigningAlg, kid: string, typ: string): string {
  const cacheKey = `${alg}\u0000${kid}\u0000${typ}`;
  let header = headerCache.get(cacheKey);
  if (header === undefined) {
    header = encodeJson({ alg, typ, kid });
    if (headerCache.size >= 1_000) headerCache.clear();
    headerCache.set(cacheKey, header);
  }
  return header;
}

export function signES256(
  key: KeyObject,
  header: { kid: string; typ: string },
  claims: Readonly<Record<string, unknown>>,
): string {
  const input = `${encodedHeader(ES256, header.kid, header.typ)}.${encodeJson(claims)}`;
  const signature = toLowS(
    signBytes('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }),
  );
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * RS256 (RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256). PKCS#1 v1.5 signatures are deterministic,
 * so a token has one spelling without any normalisation.
 */
export function signRS256(
  key: KeyObject,
  header: { kid: string; typ: string },
  claims: Readonly<Record<string, unknown>>,
): string {
  const input = `${encodedHeader(RS256, header.kid, header.typ)}.${encodeJson(claims)}`;
  const signature = signBytes('sha256', Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * RS256 in libuv's thread pool (node:crypto `sign` with a callback): an RSA 2048 signature costs
 * about ten times an ES256 one (0.28 ms against 0.03 ms here), and every ID token is RS256 by
 * default, so it is kept off the event loop, which goes on serving meanwhile. ES256 stays inline:
 * it costs less than the hop to the pool.
 */
export function signRS256Off(
  key: KeyObject,
  header: { kid: string; typ: string },
  claims: Readonly<Record<string, unknown>>,
): Promise<string> {
  const input = `${encodedHeader(RS256, header.kid, header.typ)}.${encodeJson(claims)}`;
  return new Promise((resolve, reject) => {
    signBytes('sha256', Buffer.from(input), key, (error, signature) => {
      if (error !== null) reject(error);
      else resolve(`${input}.${signature.toString('base64url')}`);
    });
  });
}

/** Signs with the algorithm the key is for. */
export function signJws(
  alg: SigningAlg,
  key: KeyObject,
  header: { kid: string; typ: string },
  claims: Readonly<Record<string, unknown>>,
): string {
  return alg === RS256 ? signRS256(key, header, claims) : signES256(key, header, claims);
}

/** A public key and the one algorithm it verifies (RFC 8725 §3.1: never taken from the token). */
export interface VerificationKey {
  readonly key: KeyObject;
  readonly alg: SigningAlg;
}

export interface VerifyOptions {
  /** Public keys by kid. */
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly issuer: string;
  /** The `typ` header, compared as RFC 8725 §3.11 asks (case-insensitive, `application/` optional). */
  readonly typ: string;
  /** Now, in ms. */
  readonly now: number;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  if (!BASE64URL.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function normalisedTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/**
 * The payload of a compact ES256 JWS signed by one of `keys`, issued by `issuer`, of type `typ`,
 * and valid at `now`; undefined for anything else.
 */
export function verifyES256(
  token: string,
  options: VerifyOptions,
): Record<string, unknown> | undefined {
  const keys = new Map<string, VerificationKey>();
  for (const [kid, key] of options.keys) keys.set(kid, { key, alg: ES256 });
  return verifyJws(token, { ...options, keys });
}

/**
 * The payload of a compact JWS signed by one of `keys` with that key's own algorithm (ES256 or
 * RS256: a token whose `alg` is not its key's is refused, so no algorithm confusion), issued by
 * `issuer`, of type `typ`, and valid at `now`; undefined for anything else.
 */
export function verifyJws(
  token: string,
  options: Omit<VerifyOptions, 'keys'> & {
    readonly keys: ReadonlyMap<string, VerificationKey>;
    /**
     * Accept a token past its exp: only for an ID token used as a hint of who was signed in
     * (OIDC RP-Initiated Logout 1.0 §2: an expired id_token_hint is still a hint).
     */
    readonly acceptExpired?: boolean;
  },
): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = decodeJsonObject(headerPart);
  if (header === undefined) return undefined;
  // An extension this verifier does not know must fail closed (RFC 7515 §4.1.11); b64 is one.
  if ('crit' in header || 'b64' in header) return undefined;
  if (typeof header.typ !== 'string' || normalisedTyp(header.typ) !== normalisedTyp(options.typ))
    return undefined;
  if (typeof header.kid !== 'string') return undefined;
  const verification = options.keys.get(header.kid);
  if (verification === undefined || header.alg !== verification.alg) return undefined;
  if (!BASE64URL.test(signaturePart)) return undefined;
  const signature = Buffer.from(signaturePart, 'base64url');
  // The last base64url character carries bits nobody reads: only the one spelling that
  // re-encodes identically is the token, so a token has exactly one valid string.
  if (signature.toString('base64url') !== signaturePart) return undefined;
  const input = Buffer.from(`${headerPart}.${payloadPart}`);
  const { key, alg } = verification;
  let valid: boolean;
  if (alg === ES256) {
    if (signature.length !== SIGNATURE_BYTES || !isCanonicalSignature(signature)) return undefined;
    valid = verifyBytes('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } else {
    // RFC 8017 §8.2.2: the signature is exactly as long as the modulus.
    const modulusBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (signature.length !== Math.ceil(modulusBits / 8)) return undefined;
    valid = verifyBytes('sha256', input, key, signature);
  }
  if (!valid) return undefined;
  const payload = decodeJsonObject(payloadPart);
  if (payload === undefined || payload.iss !== options.issuer) return undefined;
  const now = Math.floor(options.now / 1000);
  // Every token Gatehouse issues expires; one without exp is not one of them.
  if (!isNumber(payload.exp) || (payload.exp <= now && options.acceptExpired !== true))
    return undefined;
  if ('nbf' in payload && (!isNumber(payload.nbf) || payload.nbf > now)) return undefined;
  if ('iat' in payload && !isNumber(payload.iat)) return undefined;
  return payload;
}
