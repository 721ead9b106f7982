import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK, JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import { privateKeyObject } from '../crypto/signing-keys.js';
import type { ChangeFeed } from '../storage/change-feed.js';
import type { KeyStore } from '../storage/keys.js';
import { signES256, verifyES256 } from './jws.js';

interface EnvironmentKeys {
  /** Keys that may sign, newest activation first; the first whose time has come signs. */
  readonly signers: readonly {
    readonly kid: string;
    readonly key: KeyObject;
    readonly from: number;
  }[];
  readonly jwks: { keys: JWK[] };
  /** Public keys by kid: every published key verifies, active or not. */
  readonly verifiers: ReadonlyMap<string, KeyObject>;
  readonly loadedAt: number;
}

/**
 * Signs and verifies JWTs with each environment's own keys. Keys are read from the store and
 * kept for a second at most, so a key rotated or retired anywhere is published and used
 * everywhere within that time even if a notification is lost; another process's announcement
 * (PostgreSQL LISTEN/NOTIFY) drops them at once.
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
    private readonly feed?: ChangeFeed,
  ) {
    feed?.onChange((topic) => {
      if (topic === '*') this.invalidate();
      else if (topic.startsWith('keys:')) this.invalidate(topic.slice('keys:'.length));
    });
  }

  private async load(environment: string): Promise<EnvironmentKeys> {
    const cached = this.cache.get(environment);
    const age = cached === undefined ? -1 : this.clock() - cached.loadedAt;
    // A clock stepped back (age < 0) reloads rather than keeping keys longer.
    if (cached !== undefined && age >= 0 && age < Signer.TTL_MS) return cached;
    // Timed from before the read, so a cached copy is never older than the TTL says.
    const loadedAt = this.clock();
    const records = await this.keys.listPublished(environment);
    const signers = records
      .filter((r) => r.status === 'active')
      .map((r) => ({
        kid: r.kid,
        key: privateKeyObject(r.privateJwk),
        from: r.activatesAt ?? r.createdAt,
      }))
      .sort((a, b) => b.from - a.from);
    const jwks = { keys: records.map((r) => JSON.parse(r.publicJwk) as JWK) };
    const verifiers = new Map(
      records.map((r, i) => [
        r.kid,
        createPublicKey({ key: jwks.keys[i] as JWK & { kty: string }, format: 'jwk' }),
      ]),
    );
    const loaded: EnvironmentKeys = { signers, jwks, verifiers, loadedAt };
    this.cache.set(environment, loaded);
    return loaded;
  }

  async jwks(environment: string): Promise<{ keys: JWK[] }> {
    return (await this.load(environment)).jwks;
  }

  async sign(environment: string, typ: string, claims: JWTPayload): Promise<string> {
    const { signers } = await this.load(environment);
    // Chosen at signing time: a published key starts signing exactly at its activation.
    const now = this.clock();
    const signing = signers.find((k) => k.from <= now);
    if (signing === undefined)
      throw new Error(`environment ${environment} has no active signing key`);
    return signES256(signing.key, { kid: signing.kid, typ }, claims);
  }

  /** Whether the environment's keys load and one of them may sign now (/readyz). */
  async canSign(environment: string): Promise<boolean> {
    const { signers } = await this.load(environment);
    const now = this.clock();
    return signers.some((k) => k.from <= now);
  }

  /** Verifies signature, issuer, type and time; returns the payload or undefined. */
  async verify(
    environment: string,
    token: string,
    options: { issuer: string; typ: string },
  ): Promise<JWTPayload | undefined> {
    const { verifiers } = await this.load(environment);
    return verifyES256(token, { keys: verifiers, ...options, now: this.clock() });
  }
}
