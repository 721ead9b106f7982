import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK, JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import { privateKeyObject } from '../crypto/signing-keys.js';
import type { ChangeFeed } from '../storage/change-feed.js';
import type { KeyStore } from '../storage/keys.js';
import {
  ES256,
  RS256,
  SIGNING_ALGS,
  signJws,
  signRS256Off,
  verifyJws,
  type SigningAlg,
  type VerificationKey,
} from './jws.js';

interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly key: KeyObject;
  readonly from: number;
}

interface EnvironmentKeys {
  /** Keys that may sign, newest activation first; the first of its alg whose time has come signs. */
  readonly signers: readonly SigningKey[];
  readonly jwks: { keys: JWK[] };
  /** Public keys by kid, each with its one algorithm: every published key verifies. */
  readonly verifiers: ReadonlyMap<string, VerificationKey>;
  readonly loadedAt: number;
}

const isSigningAlg = (alg: string): alg is SigningAlg => (SIGNING_ALGS as string[]).includes(alg);

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
    // A key of an algorithm this code does not know is neither published nor used.
    const records = (await this.keys.listPublished(environment)).filter((r) => isSigningAlg(r.alg));
    const signers = records
      .filter((r) => r.status === 'active')
      .map((r) => ({
        kid: r.kid,
        alg: r.alg as SigningAlg,
        key: privateKeyObject(r.privateJwk),
        from: r.activatesAt ?? r.createdAt,
      }))
      .sort((a, b) => b.from - a.from);
    const jwks = { keys: records.map((r) => JSON.parse(r.publicJwk) as JWK) };
    const verifiers = new Map<string, VerificationKey>(
      records.map((r, i) => [
        r.kid,
        {
          alg: r.alg as SigningAlg,
          key: createPublicKey({ key: jwks.keys[i] as JWK & { kty: string }, format: 'jwk' }),
        },
      ]),
    );
    const loaded: EnvironmentKeys = { signers, jwks, verifiers, loadedAt };
    this.cache.set(environment, loaded);
    return loaded;
  }

  async jwks(environment: string): Promise<{ keys: JWK[] }> {
    return (await this.load(environment)).jwks;
  }

  /**
   * Signs with the environment's current key of `alg`: ES256 unless asked (RS256 for ID tokens
   * by default, OIDC Registration §2 `id_token_signed_response_alg`).
   */
  async sign(
    environment: string,
    typ: string,
    claims: JWTPayload,
    alg: SigningAlg = ES256,
  ): Promise<string> {
    const { signers } = await this.load(environment);
    // Chosen at signing time: a published key starts signing exactly at its activation.
    const now = this.clock();
    const signing = signers.find((k) => k.alg === alg && k.from <= now);
    if (signing === undefined)
      throw new Error(`environment ${environment} has no active ${alg} signing key`);
    const header = { kid: signing.kid, typ };
    return alg === RS256
      ? signRS256Off(signing.key, header, claims)
      : signJws(alg, signing.key, header, claims);
  }

  /** Whether the environment's keys load and a key of each algorithm may sign now (/readyz). */
  async canSign(environment: string): Promise<boolean> {
    const { signers } = await this.load(environment);
    const now = this.clock();
    return SIGNING_ALGS.every((alg) => signers.some((k) => k.alg === alg && k.from <= now));
  }

  /**
   * Verifies signature (ES256 or RS256, by the key its kid names), issuer, type and time; returns
   * the payload or undefined. `acceptExpired` only for an id_token_hint (RP-Initiated Logout §2).
   */
  async verify(
    environment: string,
    token: string,
    options: { issuer: string; typ: string; acceptExpired?: boolean },
  ): Promise<JWTPayload | undefined> {
    const { verifiers } = await this.load(environment);
    return verifyJws(token, { ...options, keys: verifiers, now: this.clock() });
  }
}
