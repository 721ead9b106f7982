import { LOOPBACK_HOSTS } from '@gatehouse/redirect-policy';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { DocumentFetchError, type DocumentFetcher } from '../net/document-fetcher.js';
import type { Client } from '../storage/clients.js';
import type { Environment } from '../storage/environments.js';

/** Why a client's keys cannot be had: one line for the client, no document text. */
export class ClientKeyError extends Error {
  override readonly name = 'ClientKeyError';
}

/** How long a fetched JWK Set is used before it is fetched again. */
export const JWKS_CACHE_TTL_MS = 5 * 60_000;
/**
 * The least time between two fetches of one client's jwks_uri: an assertion naming a `kid` the
 * cached set lacks (the client rotated its keys) refetches at once, but a stream of assertions
 * with made-up kids, or a jwks_uri that fails, costs at most one outbound request per interval.
 */
export const JWKS_REFETCH_INTERVAL_MS = 30_000;
/** A JWK Set larger than this is refused (the fetcher's limit for jwks_uri). */
export const JWKS_MAX_BYTES = 16 * 1024;
/** Keys kept per set: more is not a key set a client needs. */
const MAX_KEYS = 20;
/** Clients whose fetched sets are kept in memory at once. */
const MAX_ENTRIES = 1000;
/** RFC 7517 §6.2.2, §6.3.2, RFC 8037 §2: members that only a private or symmetric key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const KEY_TYPES = ['RSA', 'EC', 'OKP'];
/**
 * RSA keys a verification may cost no more than it must. RFC 7518 §3.3 asks for 2048 bits at
 * least; a modulus above 4096 bits or a public exponent longer than 32 bits is refused, because
 * anyone who can register a client (dynamic registration, a metadata document, a jwks_uri) could
 * otherwise hand this server keys whose every verification costs milliseconds (a 3072-bit key
 * with a 3064-bit exponent: about 8 ms, 130 times an ordinary one), and an unauthenticated
 * sender could then spend that for each key of the set with one small request. Every library
 * makes keys of 2048 to 4096 bits with e = 65537.
 */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 4096;
export const RSA_MAX_EXPONENT_BITS = 32;

function bitLength(base64url: string): number {
  const bytes = Buffer.from(base64url, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  const first = bytes[i];
  return first === undefined ? 0 : (bytes.length - i - 1) * 8 + (32 - Math.clz32(first));
}

/** What is wrong with an RSA JWK's size (undefined when nothing is, or it is not RSA). */
export function rsaKeyProblem(key: Record<string, unknown>): string | undefined {
  if (key.kty !== 'RSA') return undefined;
  const n = typeof key.n === 'string' ? bitLength(key.n) : 0;
  if (n < RSA_MIN_BITS || n > RSA_MAX_BITS)
    return `has a ${n}-bit modulus; RSA keys of ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits are accepted`;
  const e = typeof key.e === 'string' ? Buffer.from(key.e, 'base64url') : Buffer.alloc(0);
  const eBits = bitLength(typeof key.e === 'string' ? key.e : '');
  // RFC 8017 §3.1: e is odd and at least 3. With e = 1 a "signature" is the padded hash itself:
  // anyone could forge the client's assertions.
  if (eBits < 2 || ((e.at(-1) ?? 0) & 1) === 0)
    return 'has a public exponent that is not an odd number of at least 3 (RFC 8017 §3.1)';
  if (eBits > RSA_MAX_EXPONENT_BITS)
    return `has a ${eBits}-bit public exponent; at most ${RSA_MAX_EXPONENT_BITS} bits are accepted (65537 is usual)`;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A client's JWK Set as a verifier may use it: an object with a `keys` list of public
 * asymmetric keys. A symmetric key (`oct`) or private key material is refused outright, so that no
 * verification can ever treat key material the client published as an HMAC secret (the "HS256
 * with the public key" confusion) whatever the algorithm list says.
 */
export function publicKeySet(value: unknown, where: string): JSONWebKeySet {
  if (!isObject(value) || !Array.isArray(value.keys))
    throw new ClientKeyError(`the client's ${where} is not a JWK Set`);
  const keys = value.keys as unknown[];
  if (keys.length === 0) throw new ClientKeyError(`the client's ${where} has no keys`);
  if (keys.length > MAX_KEYS)
    throw new ClientKeyError(`the client's ${where} has more than ${MAX_KEYS} keys`);
  for (const key of keys) {
    if (!isObject(key) || typeof key.kty !== 'string' || !KEY_TYPES.includes(key.kty))
      throw new ClientKeyError(`the client's ${where} holds a key that is not RSA, EC or OKP`);
    if (PRIVATE_MEMBERS.some((member) => member in key))
      throw new ClientKeyError(`the client's ${where} holds private key material`);
    const rsa = rsaKeyProblem(key);
    if (rsa !== undefined)
      throw new ClientKeyError(`the client's ${where} holds an RSA key that ${rsa}`);
  }
  return { keys: keys as JSONWebKeySet['keys'] };
}

interface FetchedSet {
  readonly uri: string;
  /** When it was last fetched, successfully or not (the refetch interval counts from here). */
  readonly fetchedAt: number;
  /**
   * Undefined when no set is at hand (the last fetch failed and no earlier set is still within
   * its cache life): `failure` says why.
   */
  readonly keys: JWTVerifyGetKey | undefined;
  /** When `keys` were fetched (their cache life counts from here). */
  readonly keysFetchedAt: number;
  readonly failure: string | undefined;
}

/**
 * The public keys a `private_key_jwt` client verifies with (RFC 7523 §3 item 9, OIDC Core §9,
 * RFC 7591 §2 `jwks`/`jwks_uri`): its registered `jwks`, or the set at its `jwks_uri`, fetched
 * through the SSRF-guarded fetcher (net/document-fetcher.ts: https, no internal addresses, no
 * redirects, bounded time and size), kept for five minutes, fetched again at once when an
 * assertion names a key the set lacks, but never more than once per 30 s per client. One instance
 * per process; each process fetches on its own.
 */
export class ClientKeys {
  private readonly fetched = new Map<string, FetchedSet>();
  private readonly inFlight = new Map<string, Promise<FetchedSet>>();
  /** Inline sets turned into verifiers, per stored set (a client row read anew gets a new one). */
  private readonly inline = new WeakMap<object, JWTVerifyGetKey>();

  constructor(
    private readonly fetcher: DocumentFetcher,
    private readonly clock: () => number,
  ) {}

  /**
   * The key lookup for verifying `client`'s assertions (jose's `JWTVerifyGetKey`). Throws a
   * ClientKeyError when the client has no usable keys; a key the set lacks is jose's
   * `JWKSNoMatchingKey`.
   */
  resolver(environment: Environment, client: Client): JWTVerifyGetKey {
    const jwks = client.jwks ?? null;
    if (jwks !== null) {
      let keys = this.inline.get(jwks);
      if (keys === undefined) {
        keys = createLocalJWKSet(publicKeySet(jwks, 'jwks'));
        this.inline.set(jwks, keys);
      }
      return keys;
    }
    const uri = client.jwksUri ?? null;
    if (uri === null)
      throw new ClientKeyError('the client has registered no keys (jwks or jwks_uri)');
    const key = `${environment.name}\0${client.clientId}`;
    // Development only, and only where the operator allows loopback documents: the same switch
    // as metadata documents, the other client-named URLs this server fetches.
    const allowLoopback = environment.tier === 'development' && environment.allowLoopbackDocuments;
    return async (header, token) => {
      const now = this.clock();
      let set = this.fetched.get(key);
      // A failure stands only for the refetch interval: a client whose jwks_uri was down for a
      // moment is not locked out for the whole cache life.
      const stale =
        set?.keys === undefined
          ? now - (set?.fetchedAt ?? 0) >= JWKS_REFETCH_INTERVAL_MS
          : now - set.keysFetchedAt >= JWKS_CACHE_TTL_MS;
      if (set?.uri !== uri || stale) set = await this.fetch(key, uri, allowLoopback);
      try {
        return await this.keysOf(set)(header, token);
      } catch (error) {
        // RFC 7517 §4.5 / OIDC Core §10.1.1: a kid not in the set may be a rotated-in key.
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        if (this.clock() - set.fetchedAt < JWKS_REFETCH_INTERVAL_MS) throw error;
        return this.keysOf(await this.fetch(key, uri, allowLoopback))(header, token);
      }
    };
  }

  private keysOf(set: FetchedSet): JWTVerifyGetKey {
    if (set.keys === undefined)
      throw new ClientKeyError(set.failure ?? "the client's jwks_uri could not be used");
    return set.keys;
  }

  /** One fetch per client at a time; a failure is remembered like a set, for the interval. */
  private async fetch(key: string, uri: string, allowLoopback: boolean): Promise<FetchedSet> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const previous = this.fetched.get(key);
    const now = this.clock();
    // A set or failure younger than the interval stands: no request path refetches faster.
    if (previous?.uri === uri && now - previous.fetchedAt < JWKS_REFETCH_INTERVAL_MS)
      return previous;
    // A refetch that fails keeps a set still within its cache life: anyone can make this server
    // refetch (an assertion with a made-up kid, every 30 s), and a key server that fails that
    // one time (a rate limit, a blip) must not lock the client out.
    const kept =
      previous?.uri === uri &&
      previous.keys !== undefined &&
      now - previous.keysFetchedAt < JWKS_CACHE_TTL_MS
        ? previous
        : undefined;
    const work = this.load(uri, allowLoopback)
      .then((keys): FetchedSet => ({
        uri,
        fetchedAt: now,
        keys,
        keysFetchedAt: now,
        failure: undefined,
      }))
      .catch((error: unknown): FetchedSet => ({
        uri,
        fetchedAt: now,
        keys: kept?.keys,
        keysFetchedAt: kept?.keysFetchedAt ?? now,
        failure:
          error instanceof DocumentFetchError || error instanceof ClientKeyError
            ? `the client's jwks_uri could not be used: ${error.message}`
            : "the client's jwks_uri could not be used",
      }))
      .then((set) => {
        this.fetched.delete(key);
        if (this.fetched.size >= MAX_ENTRIES) {
          const oldest = this.fetched.keys().next().value;
          if (oldest !== undefined) this.fetched.delete(oldest);
        }
        this.fetched.set(key, set);
        return set;
      })
      .finally(() => {
        this.inFlight.delete(key);
      });
    this.inFlight.set(key, work);
    return work;
  }

  private async load(uri: string, allowLoopback: boolean): Promise<JWTVerifyGetKey> {
    if (!URL.canParse(uri)) throw new ClientKeyError('it is not a URL');
    const url = new URL(uri);
    // Registration accepts a loopback jwks_uri in development; fetching it needs the operator's
    // explicit switch too, or anyone registering a client could make this server call local ports.
    if (!allowLoopback && LOOPBACK_HOSTS.includes(url.hostname as never))
      throw new ClientKeyError(
        'it is on this machine, which is fetched only in a development environment that allows loopback documents',
      );
    const document = await this.fetcher.fetchJson(url, { allowLoopback });
    return createLocalJWKSet(publicKeySet(document, 'jwks_uri document'));
  }
}
