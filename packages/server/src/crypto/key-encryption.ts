import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';

/** Seals private signing keys at rest (AES-256-GCM), bound to their key id. */
export interface KeyCipher {
  seal(plaintext: string, kid: string): string;
  open(stored: string, kid: string): string;
}

/** Whether a stored private key is sealed (keys from before encryption are plain JSON). */
export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/**
 * A cipher from the configured secret. The AES key is derived with HKDF so the secret can be any
 * long random string; the key id is authenticated data, so a sealed key cannot be swapped into
 * another key's row unnoticed.
 */
export function keyCipher(secret: string): KeyCipher {
  const key = Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'signing-keys v1', 32));
  return {
    seal(plaintext, kid) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(kid));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${PREFIX}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
    },
    open(stored, kid) {
      if (!isSealed(stored)) return stored;
      const [iv, tag, body] = stored.slice(PREFIX.length).split('.');
      if (iv === undefined || tag === undefined || body === undefined)
        throw new KeyDecryptionError(kid);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(kid));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([
          decipher.update(Buffer.from(body, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw new KeyDecryptionError(kid);
      }
    },
  };
}

/** A sealed key that this configuration cannot open: the wrong or a missing secret. */
export class KeyDecryptionError extends Error {
  override readonly name = 'KeyDecryptionError';
  constructor(kid: string) {
    super(
      `signing key ${kid} cannot be decrypted: GATEHOUSE_SECRET_KEY is missing or not the one it was sealed with`,
    );
  }
}

/** At least this many characters of secret: a 32-byte random value, base64 or hex encoded. */
export const MIN_SECRET_LENGTH = 32;
