import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClientSecretHasher } from '../crypto/client-secret-hash.js';

/**
 * Client secrets this process has already verified, so that a client sending the same secret on
 * every token request is not put through the secret's format check, checksum and keyed hash
 * (HMAC-SHA-256) each time: those three cost about a twentieth of a client_credentials request's
 * CPU, the token's signature excepted.
 *
 * What is kept, per stored secret hash, is a fingerprint of the one presented secret that matched
 * it: SHA-256 over a random per-process salt, the environment, the client_id and the secret. Never
 * the secret itself, and only successes (a wrong secret is checked in full every time, so nothing
 * here changes what a guesser learns or how fast). Keyed by the stored hash, an entry stops
 * matching the moment the secret is rotated (the client row carries a new hash), whichever process
 * rotated it; a deleted client is not found before this is asked. The fingerprint is as hard to
 * reverse as the keyed hash it stands for: the secrets are 256-bit random values, and salt and
 * HMAC key live in the same memory anyway.
 */
export class VerifiedSecrets {
  private readonly salt = randomBytes(32).toString('base64url');
  private readonly fingerprints = new Map<string, Buffer>();
  /** A bound, not an eviction policy: one entry per confidential client in use. */
  static readonly MAX_ENTRIES = 10_000;

  constructor(private readonly hasher: ClientSecretHasher) {}

  private fingerprint(environment: string, clientId: string, secret: string): Buffer {
    return hash('sha256', `${this.salt}\0${environment}\0${clientId}\0${secret}`, 'buffer');
  }

  /**
   * Whether `secret` is the one `stored` was made from (the hasher's `matches`), answered from
   * memory when this very secret matched `stored` before; `check` runs the remaining checks of a
   * secret not seen before (its format), and only a secret that passes both is remembered.
   */
  matches(
    environment: string,
    clientId: string,
    secret: string,
    stored: string,
    check: () => boolean,
  ): boolean {
    const fingerprint = this.fingerprint(environment, clientId, secret);
    const known = this.fingerprints.get(stored);
    if (known !== undefined && timingSafeEqual(known, fingerprint)) return true;
    if (!check() || !this.hasher.matches(secret, stored)) return false;
    if (this.fingerprints.size >= VerifiedSecrets.MAX_ENTRIES) this.fingerprints.clear();
    this.fingerprints.set(stored, fingerprint);
    return true;
  }
}
