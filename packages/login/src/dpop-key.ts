import type { webcrypto } from 'node:crypto';
import * as oauth from 'oauth4webapi';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

/**
 * A profile's DPoP key (RFC 9449) as the token store keeps it: the private JWK (ES256, P-256) and
 * its RFC 7638 thumbprint. Kept apart from the tokens (token-store.ts), so a copy of the token
 * file alone carries no key; never printed or logged.
 */
export interface StoredDpopKey {
  /** The private key as a JWK (`kty` EC, `crv` P-256, `x`, `y`, `d`). */
  readonly privateJwk: EcJwk & { readonly d: string };
  /** RFC 7638 SHA-256 thumbprint of the public key, base64url: the `cnf.jkt` of bound tokens. */
  readonly jkt: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** A profile's key in memory, ready to sign proofs. */
export interface DpopKey {
  readonly keyPair: CryptoKeyPair;
  readonly jkt: string;
  /** oauth4webapi's handle for this key (it remembers each server's DPoP-Nonce, RFC 9449 §8). */
  readonly handle: oauth.DPoPHandle;
  /** Nonces servers gave for the proofs this kit makes itself (revocation, API calls), per origin. */
  readonly nonces: Map<string, string>;
}

/** The members of a P-256 public key JWK. */
export interface EcJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/** The public members of a P-256 JWK, checked (a stored key is read back from a file). */
function ecPublic(jwk: webcrypto.JsonWebKey | EcJwk): EcJwk {
  const { kty, crv, x, y } = jwk;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string')
    throw new TypeError('a DPoP key must be a P-256 EC key');
  return { kty, crv, x, y };
}

const ALGORITHM: webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** RFC 7638 §3.2: the required members of an EC key, in lexicographic order, no whitespace. */
export async function jwkThumbprint(jwk: webcrypto.JsonWebKey | EcJwk): Promise<string> {
  const { crv, kty, x, y } = ecPublic(jwk);
  const canonical = JSON.stringify({ crv, kty, x, y });
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  return Buffer.from(digest).toString('base64url');
}

/**
 * A new ES256 key. WebCrypto cannot persist a non-extractable key outside a browser, so it is
 * generated extractable once, exported for the store, and used in memory only as imported by
 * `loadDpopKey` (private half non-extractable).
 */
export async function generateDpopKey(now: number = Date.now()): Promise<StoredDpopKey> {
  const pair = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const exported = await crypto.subtle.exportKey('jwk', pair.privateKey);
  if (typeof exported.d !== 'string') throw new TypeError('the new DPoP key has no private part');
  const publicJwk = ecPublic(exported);
  return {
    privateJwk: { ...publicJwk, d: exported.d },
    jkt: await jwkThumbprint(publicJwk),
    createdAt: now,
  };
}

const loaded = new Map<string, Promise<DpopKey>>();

/**
 * The stored key, imported for signing: the private key non-extractable (no code in this process
 * can export it again), the public key extractable (it goes into every proof's `jwk` header).
 * One DpopKey per key in a process, so the server nonces it learnt are reused.
 */
export function loadDpopKey(stored: StoredDpopKey): Promise<DpopKey> {
  const cached = loaded.get(stored.jkt);
  if (cached !== undefined) return cached;
  const key = importDpopKey(stored);
  loaded.set(stored.jkt, key);
  key.catch(() => loaded.delete(stored.jkt));
  return key;
}

async function importDpopKey(stored: StoredDpopKey): Promise<DpopKey> {
  const publicJwk = ecPublic(stored.privateJwk);
  const { d } = stored.privateJwk;
  if (typeof d !== 'string') throw new TypeError('the stored DPoP key has no private part');
  const jkt = await jwkThumbprint(publicJwk);
  if (jkt !== stored.jkt) throw new TypeError('the stored DPoP key does not match its thumbprint');
  const privateKey = await crypto.subtle.importKey('jwk', { ...publicJwk, d }, ALGORITHM, false, [
    'sign',
  ]);
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk, ALGORITHM, true, ['verify']);
  const keyPair = { privateKey, publicKey };
  return { keyPair, jkt, handle: oauth.DPoP({}, keyPair), nonces: new Map() };
}
