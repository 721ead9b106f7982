import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** URL-safe random text with `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 in base64url: how codes, tokens, session ids and client secrets are stored. */
export function sha256(value: string): string {
  // One-shot: no Hash object per call (this runs several times a request).
  return hash('sha256', value, 'base64url');
}

/** Compares two strings without revealing where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
