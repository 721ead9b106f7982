import { createHmac, hkdfSync } from 'node:crypto';
import { safeEqual, sha256 } from './random.js';

const PREFIX = 'hmac-sha256:v1:';

/**
 * How client secrets are stored. They are 256-bit random values, so a password hash (argon2id)
 * would only add cost to every token request: nothing can be guessed. A keyed hash (HMAC-SHA-256
 * under a key derived from GATEHOUSE_SECRET_KEY) adds what a plain hash lacks: a copy of the
 * database alone cannot even confirm a secret found elsewhere. Hashes stored before this (plain
 * SHA-256) keep working, and are replaced with keyed ones when a secret is rotated.
 */
export interface ClientSecretHasher {
  hash(secret: string): string;
  matches(secret: string, stored: string): boolean;
}

export function clientSecretHasher(serverSecret: string | undefined): ClientSecretHasher {
  const key =
    serverSecret === undefined
      ? undefined
      : Buffer.from(hkdfSync('sha256', serverSecret, 'gatehouse', 'client-secrets v1', 32));
  const keyed = (secret: string, k: Buffer) =>
    `${PREFIX}${createHmac('sha256', k).update(secret).digest('base64url')}`;
  return {
    // Without a configured secret (a bare store in a test), the plain hash is all there is.
    hash: (secret) => (key === undefined ? sha256(secret) : keyed(secret, key)),
    matches(secret, stored) {
      if (!stored.startsWith(PREFIX)) return safeEqual(sha256(secret), stored);
      return key !== undefined && safeEqual(keyed(secret, key), stored);
    },
  };
}
