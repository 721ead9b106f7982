/**
 * DPoP proofs for tests, made with jose the way a client makes them (RFC 9449 §4.2), with every
 * part overridable so a test can make the one mistake it is about.
 */
import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { accessTokenHash } from '../../src/index.js';

export interface ProofKey {
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint: the token's `cnf.jkt`. */
  readonly jkt: string;
}

export async function proofKey(alg = 'ES256'): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { alg, privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

export interface ProofParts {
  readonly htm: string;
  readonly htu: string;
  /** The access token to hash into `ath`; leave out for no `ath`. */
  readonly accessToken?: string;
  /** Claims to add or replace (`iat`, `jti`, `nonce`, `ath`...); undefined deletes one. */
  readonly claims?: Record<string, unknown>;
  /** Header members to add or replace (`typ`, `alg`, `jwk`). */
  readonly header?: Record<string, unknown>;
}

export async function makeProof(key: ProofKey, parts: ProofParts): Promise<string> {
  const all: Record<string, unknown> = {
    jti: randomUUID(),
    htm: parts.htm,
    htu: parts.htu,
    iat: Math.floor(Date.now() / 1000),
    ...(parts.accessToken === undefined ? {} : { ath: accessTokenHash(parts.accessToken) }),
    ...parts.claims,
  };
  const claims: JWTPayload = Object.fromEntries(
    Object.entries(all).filter(([, value]) => value !== undefined),
  );
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...parts.header })
    .sign(key.privateKey);
}

/** A JWS with `alg: none` and no signature (RFC 7515 §A.5 shape). */
export function unsignedProof(key: ProofKey, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk })}.${part(claims)}.`;
}
