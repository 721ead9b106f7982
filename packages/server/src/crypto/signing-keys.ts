import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import { randomToken } from './random.js';

/** What access tokens are signed with unless a resource asks otherwise. */
export const SIGNING_ALG = 'ES256';
/**
 * OIDC Core §15.1 makes RS256 mandatory for ID tokens and OIDC Registration §2 the default for a
 * client that asks for nothing else: every environment has an RSA key next to its EC key.
 */
export const RSA_SIGNING_ALG = 'RS256';
export type KeyAlg = typeof SIGNING_ALG | typeof RSA_SIGNING_ALG;
/** The algorithms every environment has a key for, each rotated and retired with the others. */
export const KEY_ALGS: readonly KeyAlg[] = [SIGNING_ALG, RSA_SIGNING_ALG];
/** RFC 7518 §3.3: at least 2048 bits. */
const RSA_MODULUS_BITS = 2048;

export interface GeneratedKey {
  readonly kid: string;
  readonly privateJwk: string;
  readonly publicJwk: string;
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A new key pair as JWKs: P-256 for ES256 (the default) or RSA 2048 for RS256. Private keys are
 * encrypted at rest with issue #7.
 *
 * Generated in libuv's thread pool, never on the event loop: an RSA 2048 key takes 40-700 ms of
 * CPU (finding two large primes), and a serving process that creates an environment, rotates
 * keys or repairs a missing key in housekeeping keeps answering requests meanwhile. The pool has
 * 4 threads by default (UV_THREADPOOL_SIZE), shared with file I/O, DNS and scrypt/argon2:
 * callers that make many keys bound how many they ask for at once (ensureKeysOfEveryAlg).
 */
export async function generateSigningKey(alg: KeyAlg = SIGNING_ALG): Promise<GeneratedKey> {
  const { privateKey, publicKey } =
    alg === RSA_SIGNING_ALG
      ? await generateKeyPairAsync('rsa', { modulusLength: RSA_MODULUS_BITS })
      : await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const kid = randomToken(12);
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg };
  return { kid, privateJwk: JSON.stringify(privateJwk), publicJwk: JSON.stringify(publicJwk) };
}

/** One key of each algorithm (KEY_ALGS order), generated at the same time. */
export function generateKeysOfEveryAlg(): Promise<GeneratedKey[]> {
  return Promise.all(KEY_ALGS.map((alg) => generateSigningKey(alg)));
}

/** A node:crypto key: signing with it is far cheaper than through WebCrypto. */
export function privateKeyObject(privateJwk: string): KeyObject {
  return createPrivateKey({ key: JSON.parse(privateJwk) as JWK & { kty: string }, format: 'jwk' });
}
