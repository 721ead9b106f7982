/**
 * Server-provided DPoP nonces (RFC 9449 §9): the resource answers `use_dpop_nonce` with a
 * `DPoP-Nonce` header, and the client signs its next proof with that `nonce`. The default nonces
 * are stateless: the time they were made and an HMAC of it, so any process holding the same
 * secret accepts them and nothing is stored.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Makes and checks nonces; give your own to share them another way. */
export interface DpopNonceSource {
  /** A nonce to send in `DPoP-Nonce`: RFC 9449 §8.1 NQCHARs (`%x21 / %x23-5B / %x5D-7E`). */
  issue(): string | Promise<string>;
  /** Whether a proof's `nonce` is one this resource issued and still accepts. */
  verify(nonce: string): boolean | Promise<boolean>;
}

const STAMP_BYTES = 6;
const MAC_BYTES = 16;

export interface HmacNonceOptions {
  /** At least 32 bytes; the same for every process that should accept the others' nonces. */
  readonly secret: Uint8Array;
  /** How long a nonce is accepted after it was made. */
  readonly lifetimeSeconds: number;
  readonly clock: () => number;
}

/**
 * Nonces `base64url(seconds || HMAC-SHA256(secret, seconds)[0..16])`: unforgeable without the
 * secret, valid for `lifetimeSeconds`, and not bound to a client (RFC 9449 §9 leaves that open;
 * the proof's `jti` and `iat` still make each proof single-use and fresh).
 */
export function hmacNonces(options: HmacNonceOptions): DpopNonceSource {
  if (options.secret.byteLength < 32)
    throw new TypeError('dpop.nonceSecret must be at least 32 bytes');
  const mac = (stamp: Buffer) =>
    createHmac('sha256', options.secret).update(stamp).digest().subarray(0, MAC_BYTES);
  const seconds = () => Math.floor(options.clock() / 1000);
  return {
    issue() {
      const stamp = Buffer.alloc(STAMP_BYTES);
      stamp.writeUIntBE(seconds(), 0, STAMP_BYTES);
      return Buffer.concat([stamp, mac(stamp)]).toString('base64url');
    },
    verify(nonce) {
      if (!/^[A-Za-z0-9_-]{30}$/.test(nonce)) return false;
      const raw = Buffer.from(nonce, 'base64url');
      if (raw.length !== STAMP_BYTES + MAC_BYTES) return false;
      const stamp = raw.subarray(0, STAMP_BYTES);
      if (!timingSafeEqual(mac(stamp), raw.subarray(STAMP_BYTES))) return false;
      const age = seconds() - stamp.readUIntBE(0, STAMP_BYTES);
      // A nonce from the future was made by a process whose clock runs ahead: a few seconds only.
      return age >= -5 && age <= options.lifetimeSeconds;
    },
  };
}

/** A random secret for one process: its nonces are accepted by it alone. */
export function processNonceSecret(): Uint8Array {
  return randomBytes(32);
}
