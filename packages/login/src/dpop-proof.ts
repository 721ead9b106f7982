import { randomBytes } from 'node:crypto';
import type { DpopKey } from './dpop-key.js';

export interface ProofTarget {
  /** The HTTP method of the request the proof is for (`htm`). */
  readonly method: string;
  /** The request's URL; the proof names it without query and fragment (`htu`, RFC 9449 §4.2). */
  readonly url: string | URL;
  /** The access token the request carries; its hash goes into `ath` (RFC 9449 §4.2). */
  readonly accessToken?: string;
  /** A nonce the server gave (RFC 9449 §8, §9); else the last one this key was given for the origin. */
  readonly nonce?: string;
}

const b64u = (bytes: ArrayBuffer | Uint8Array): string =>
  (bytes instanceof Uint8Array ? Buffer.from(bytes) : Buffer.from(bytes)).toString('base64url');

/**
 * A DPoP proof JWT (RFC 9449 §4.2) signed with the profile's key: `typ` `dpop+jwt`, ES256, the
 * public key in `jwk`; `jti`, `htm`, `htu`, `iat`, and `ath` and `nonce` where they apply. For the
 * requests oauth4webapi does not make (revocation, API calls from scripts).
 */
export async function dpopProof(key: DpopKey, target: ProofTarget): Promise<string> {
  const url = new URL(target.url);
  const publicJwk = await crypto.subtle.exportKey('jwk', key.keyPair.publicKey);
  const header = {
    typ: 'dpop+jwt',
    alg: 'ES256',
    jwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y },
  };
  const nonce = target.nonce ?? key.nonces.get(url.origin);
  const payload = {
    jti: randomBytes(16).toString('base64url'),
    htm: target.method.toUpperCase(),
    htu: `${url.origin}${url.pathname}`,
    iat: Math.floor(Date.now() / 1000),
    ...(target.accessToken === undefined
      ? {}
      : {
          ath: b64u(
            await crypto.subtle.digest('SHA-256', new TextEncoder().encode(target.accessToken)),
          ),
        }),
    ...(nonce === undefined ? {} : { nonce }),
  };
  const input = `${b64u(new TextEncoder().encode(JSON.stringify(header)))}.${b64u(new TextEncoder().encode(JSON.stringify(payload)))}`;
  // WebCrypto's ECDSA signature is r || s, which is what JWS ES256 wants (RFC 7518 §3.4).
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.keyPair.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${b64u(signature)}`;
}

/** Keeps the nonce a server sent (RFC 9449 §8.2 `DPoP-Nonce`) for the next proof to its origin. */
export function rememberNonce(key: DpopKey, url: string | URL, response: Response): void {
  const nonce = response.headers.get('dpop-nonce');
  if (nonce !== null && nonce !== '') key.nonces.set(new URL(url).origin, nonce);
}

/**
 * Whether a response asks for a (new) nonce: 400 `use_dpop_nonce` from an authorization server
 * (§8) or 401 with a `DPoP` challenge naming `use_dpop_nonce` from a resource server (§9), in
 * either case with the nonce in `DPoP-Nonce`.
 */
export function asksForNonce(response: Response, body?: unknown): boolean {
  if (response.headers.get('dpop-nonce') === null) return false;
  const challenge = response.headers.get('www-authenticate') ?? '';
  if (response.status === 401 && /\bdpop\b/i.test(challenge) && /use_dpop_nonce/.test(challenge))
    return true;
  return (
    response.status === 400 &&
    typeof body === 'object' &&
    body !== null &&
    (body as { error?: unknown }).error === 'use_dpop_nonce'
  );
}
