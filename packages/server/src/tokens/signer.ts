import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import { privateKeyObject, SIGNING_ALG } from '../crypto/signing-keys.js';
import type { KeyStore } from '../storage/keys.js';

interface EnvironmentKeys {
  readonly signing: { readonly kid: string; readonly key: KeyObject };
  readonly jwks: { keys: JWK[] };
  readonly verifier: ReturnType<typeof createLocalJWKSet>;
  readonly loadedAt: number;
}

/**
 * Signs and verifies JWTs with each environment's own keys. Keys are read from the store and
 * kept for a second at most (and dropped at once when another process announces a change), so a
 * key rotated anywhere is published and used everywhere within that time.
 */
export class Signer {
  private readonly cache = new Map<string, EnvironmentKeys>();
  private static readonly TTL_MS = 1_000;

  /** Forgets an environment's keys (another process rotated or retired one). */
  invalidate(environment?: string): void {
    if (environment === undefined) this.cache.clear();
    else this.cache.delete(environment);
  }

  constructor(
    private readonly keys: KeyStore,
    private readonly clock: Clock,
  ) {}

  private async load(environment: string): Promise<EnvironmentKeys> {
    const cached = this.cache.get(environment);
    if (cached !== undefined && this.clock() - cached.loadedAt < Signer.TTL_MS) return cached;
    const records = await this.keys.listPublished(environment);
    const now = this.clock();
    // The newest key whose time has come signs; a newer one is published first and waits.
    const active = records
      .filter((r) => r.status === 'active' && (r.activatesAt ?? r.createdAt) <= now)
      .sort((a, b) => (b.activatesAt ?? b.createdAt) - (a.activatesAt ?? a.createdAt))[0];
    if (active === undefined)
      throw new Error(`environment ${environment} has no active signing key`);
    const jwks = { keys: records.map((r) => JSON.parse(r.publicJwk) as JWK) };
    const loaded: EnvironmentKeys = {
      signing: { kid: active.kid, key: privateKeyObject(active.privateJwk) },
      jwks,
      verifier: createLocalJWKSet(jwks),
      loadedAt: this.clock(),
    };
    this.cache.set(environment, loaded);
    return loaded;
  }

  async jwks(environment: string): Promise<{ keys: JWK[] }> {
    return (await this.load(environment)).jwks;
  }

  async sign(environment: string, typ: string, claims: JWTPayload): Promise<string> {
    const { signing } = await this.load(environment);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALG, typ, kid: signing.kid })
      .sign(signing.key);
  }

  /** Verifies signature, issuer, type and time; returns the payload or undefined. */
  async verify(
    environment: string,
    token: string,
    options: { issuer: string; typ: string },
  ): Promise<JWTPayload | undefined> {
    try {
      const { verifier } = await this.load(environment);
      const { payload } = await jwtVerify(token, verifier, {
        issuer: options.issuer,
        typ: options.typ,
        algorithms: [SIGNING_ALG],
        currentDate: new Date(this.clock()),
      });
      return payload;
    } catch {
      return undefined;
    }
  }
}
