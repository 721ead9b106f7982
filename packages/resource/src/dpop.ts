/**
 * DPoP at the resource (RFC 9449 §7): the options, checked once, and what a request with a
 * token needs from them: whether the token is bound, the request's URI as the client addressed
 * it, and the proof check.
 */
import type { JWTPayload } from 'jose';
import { hmacNonces, processNonceSecret, type DpopNonceSource } from './dpop-nonce.js';
import type { ProofCheckOptions } from './dpop-proof.js';
import { MemoryReplayCache, type DpopReplayStore } from './dpop-replay.js';
import { checkSecureUrl } from './urls.js';

export interface DpopOptions {
  /**
   * Accept DPoP-bound tokens only (RFC 9728 `dpop_bound_access_tokens_required`): a bearer
   * token is refused with a `DPoP` challenge. Default false: bound tokens need their proof,
   * unbound ones are taken as `Bearer`.
   */
  readonly required?: boolean;
  /**
   * Proof signature algorithms accepted (RFC 9449 §7.1 `algs`), asymmetric only. Default
   * `['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256']`.
   */
  readonly algorithms?: readonly string[];
  /** How old a proof's `iat` may be, in seconds. Default 60. */
  readonly maxAgeSeconds?: number;
  /** How far ahead of this server's clock a proof's `iat` may be, in seconds. Default 5. */
  readonly clockSkewSeconds?: number;
  /**
   * `'required'`: every proof must carry a nonce this resource issued (RFC 9449 §9), handed out
   * with `use_dpop_nonce` and on every accepted request in `DPoP-Nonce`. Default `'off'`.
   */
  readonly nonce?: 'off' | 'required';
  /**
   * The secret of the default stateless nonces (at least 32 bytes; a string counts its UTF-8
   * bytes). Give every process of the resource the same one, or each accepts only its own
   * nonces. Default: random per process.
   */
  readonly nonceSecret?: string | Uint8Array;
  /** How long a default nonce is accepted, in seconds. Default 300. */
  readonly nonceLifetimeSeconds?: number;
  /** Make and check nonces yourself instead (with `nonce: 'required'`). */
  readonly nonceSource?: DpopNonceSource;
  /**
   * Where used proof `jti`s are remembered (RFC 9449 §11.1). Default: in memory, per process,
   * at most `replayCacheSize` entries. Several processes need sticky routing, or a shared store
   * here, or accept that a proof could be replayed once to each process within `maxAgeSeconds`.
   */
  readonly replayStore?: DpopReplayStore;
  /** Size bound of the default replay cache. Default 100 000. */
  readonly replayCacheSize?: number;
  /**
   * The public URL requests are addressed to, which a proof's `htu` must name: the request's
   * path (as the framework sees it) is appended to this URL's path. Default: the origin of
   * `resource`. Never taken from `Host` or `X-Forwarded-*` headers, which the client controls.
   * Set it when a proxy strips a path prefix (`https://api.example.com/v1`).
   */
  readonly baseUrl?: string;
}

export interface DpopSettings {
  readonly required: boolean;
  readonly algorithms: readonly string[];
  /** Set when nonces are required. */
  readonly nonces: DpopNonceSource | undefined;
  readonly proof: ProofCheckOptions;
  /** `baseUrl`'s origin and its path without a trailing slash (`''` for none). */
  readonly base: { readonly origin: string; readonly path: string };
}

export const DEFAULT_DPOP_ALGORITHMS: readonly string[] = Object.freeze([
  'ES256',
  'ES384',
  'EdDSA',
  'Ed25519',
  'RS256',
  'PS256',
]);

function seconds(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`dpop.${option} must be a non-negative number`);
  return value;
}

/** RFC 9449 §7.1 / RFC 8725 §3.1: no `none`, no MAC; the key travels in the proof. */
export function checkDpopAlgorithms(algorithms: readonly string[]): readonly string[] {
  if (algorithms.length === 0) throw new TypeError('dpop.algorithms must not be empty');
  for (const alg of algorithms) {
    if (!/^[A-Za-z0-9-]+$/.test(alg) || alg === 'none' || alg.startsWith('HS'))
      throw new TypeError(`dpop.algorithms must be asymmetric signature algorithms, not ${alg}`);
  }
  return Object.freeze([...new Set(algorithms)]);
}

const DPOP_KEYS = new Set([
  'required',
  'algorithms',
  'maxAgeSeconds',
  'clockSkewSeconds',
  'nonce',
  'nonceSecret',
  'nonceLifetimeSeconds',
  'nonceSource',
  'replayStore',
  'replayCacheSize',
  'baseUrl',
]);

/** Checks the options once, at start-up: a mistake is a `TypeError`. */
export function dpopSettings(
  options: DpopOptions | undefined,
  resource: string,
  clock: () => number,
): DpopSettings {
  // Options may come from JavaScript or a configuration file: their types are not a given.
  const given: unknown = options;
  if (given !== undefined) {
    if (typeof given !== 'object' || given === null) throw new TypeError('dpop must be an object');
    // A misspelt option would otherwise be ignored and its default used silently.
    for (const key of Object.keys(given))
      if (!DPOP_KEYS.has(key)) throw new TypeError(`dpop.${key} is not an option`);
  }
  const algorithms = checkDpopAlgorithms(options?.algorithms ?? DEFAULT_DPOP_ALGORITHMS);
  const baseUrl = checkSecureUrl(options?.baseUrl ?? new URL(resource).origin, 'dpop.baseUrl');
  if (baseUrl.search !== '' || baseUrl.hash !== '' || baseUrl.username !== '')
    throw new TypeError('dpop.baseUrl must have no query, fragment or user information');
  const base = { origin: baseUrl.origin, path: baseUrl.pathname.replace(/\/+$/, '') };
  const nonceMode = options?.nonce ?? 'off';
  if (!(['off', 'required'] as unknown[]).includes(nonceMode))
    throw new TypeError("dpop.nonce must be 'off' or 'required'");
  if (nonceMode === 'off' && (options?.nonceSource ?? options?.nonceSecret) !== undefined)
    throw new TypeError("dpop.nonceSource and dpop.nonceSecret need dpop.nonce: 'required'");
  let nonces: DpopNonceSource | undefined;
  if (nonceMode === 'required') {
    const secret = options?.nonceSecret;
    nonces =
      options?.nonceSource ??
      hmacNonces({
        secret:
          secret === undefined
            ? processNonceSecret()
            : typeof secret === 'string'
              ? new TextEncoder().encode(secret)
              : secret,
        lifetimeSeconds: seconds(options?.nonceLifetimeSeconds, 300, 'nonceLifetimeSeconds'),
        clock,
      });
  }
  return {
    required: options?.required ?? false,
    algorithms,
    nonces,
    base,
    proof: {
      algorithms,
      maxAgeSeconds: seconds(options?.maxAgeSeconds, 60, 'maxAgeSeconds'),
      clockSkewSeconds: seconds(options?.clockSkewSeconds, 5, 'clockSkewSeconds'),
      replayStore:
        options?.replayStore ?? new MemoryReplayCache(options?.replayCacheSize ?? 100_000, clock),
      nonces,
      clock,
    },
  };
}

export type TokenBinding =
  | { readonly bound: false }
  | { readonly bound: true; readonly jkt: string }
  | { readonly bound: 'unsupported'; readonly description: string };

/**
 * Whether a verified token is bound to a DPoP key (RFC 9449 §6.1 `cnf.jkt`). A `cnf` with another
 * confirmation method (an RFC 8705 certificate, say) cannot be checked here, so it is refused
 * rather than taken as a bearer token.
 */
export function tokenBinding(claims: JWTPayload): TokenBinding {
  const { cnf } = claims;
  if (cnf === undefined) return { bound: false };
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf))
    return { bound: 'unsupported', description: 'the cnf claim of the access token is invalid' };
  const { jkt } = cnf as Record<string, unknown>;
  // RFC 7800 §3: every cnf member is a confirmation method. One this resource cannot check (an
  // RFC 8705 `x5t#S256` beside `jkt`) is not dropped because the other one is checked.
  const onlyJkt = Object.keys(cnf).every((member) => member === 'jkt');
  if (onlyJkt && typeof jkt === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jkt))
    return { bound: true, jkt };
  if (jkt !== undefined && onlyJkt)
    return { bound: 'unsupported', description: 'the cnf claim of the access token is invalid' };
  return {
    bound: 'unsupported',
    description: 'the access token is bound by a method this resource does not support',
  };
}

/** An absolute-form request target (RFC 9112 §3.2.2): its scheme and authority, then the path. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The URI the client addressed (RFC 9449 §4.3 step 9): the configured base and the request
 * target's path. Only the path of an absolute-form target is used; the query is dropped.
 *
 * Undefined when the target's path is not already in normal form: WHATWG parsing would remove
 * dot segments (`/files/../admin`, `%2e%2e` too) and read `\` as `/`, so the URI checked would
 * name another resource than the raw path the application's router matches, and a proof made for
 * `/admin` would be taken at a route under `/files/`. Clients normalise before they send (RFC 3986
 * §5.2.4, fetch does), so a target that is not normal is refused, not rewritten.
 */
export function requestUri(
  base: { readonly origin: string; readonly path: string },
  target: string,
): URL | undefined {
  let path = target;
  if (!path.startsWith('/')) {
    const prefix = ABSOLUTE_FORM.exec(path);
    if (prefix === null) return undefined;
    path = path.slice(prefix[0].length);
    if (path === '' || path.startsWith('?') || path.startsWith('#')) path = `/${path}`;
  }
  const mark = path.search(/[?#]/);
  if (mark !== -1) path = path.slice(0, mark);
  const raw = `${base.path}${path}`;
  const joined = `${base.origin}${raw}`;
  if (!URL.canParse(joined)) return undefined;
  const uri = new URL(joined);
  return uri.pathname === raw ? uri : undefined;
}
