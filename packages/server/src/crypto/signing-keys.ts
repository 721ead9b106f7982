import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { randomToken } from './random.js';

export const SIGNING_ALG = 'ES256';

export interface GeneratedKey {
  readonly kid: string;
  readonly privateJwk: string;
  readonly publicJwk: string;
}

/** A new P-256 key pair for ES256, as JWKs. Private keys are encrypted at rest with issue #7. */
export function generateSigningKey(): GeneratedKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomToken(12);
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: SIGNING_ALG, use: 'sig' };
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: SIGNING_ALG };
  return { kid, privateJwk: JSON.stringify(privateJwk), publicJwk: JSON.stringify(publicJwk) };
}

/** A node:crypto key: signing with it is far cheaper than through WebCrypto. */
export function privateKeyObject(privateJwk: string): KeyObject {
  return createPrivateKey({ key: JSON.parse(privateJwk) as JWK & { kty: string }, format: 'jwk' });
}
