import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import type {
  Client,
  ClientType,
  IdTokenAlg,
  TokenEndpointAuthMethod,
} from '../storage/clients.js';
import type { Environment } from '../storage/environments.js';
import { classifyAddress } from '../net/address-policy.js';
import { rsaKeyProblem } from './client-keys.js';
import { InputError } from './input-error.js';
import { redirectPolicyFor, refusedUris } from './redirect-checks.js';

/**
 * The client settings of issue #16 (logout, key-based client authentication, PAR, the legacy
 * no-PKCE exception, the ID token algorithm) and of issue #17 (DPoP required), checked together: several depend on one another
 * and on the client's type. Protocol behaviour lives elsewhere; this module only decides what
 * may be registered.
 */

export type JwkSet = NonNullable<Client['jwks']>;

export const ID_TOKEN_ALGS: readonly IdTokenAlg[] = ['RS256', 'ES256'];
export const TOKEN_ENDPOINT_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
];

/** The settings as a client has them, every one resolved (absent = its default). */
export interface ClientSettings {
  readonly idTokenSignedResponseAlg: IdTokenAlg | null;
  readonly postLogoutRedirectUris: readonly string[];
  readonly backchannelLogoutUri: string | null;
  readonly jwks: JwkSet | null;
  readonly jwksUri: string | null;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod | null;
  readonly requirePar: boolean;
  readonly pkceExemptWithNonce: boolean;
  /**
   * RFC 9449: its token requests must carry a DPoP proof, so its tokens are bound to a key it
   * holds (RFC 9449 §5.2 client metadata `dpop_bound_access_tokens`). Issue #17.
   */
  readonly requireDpop: boolean;
}

/** The same settings as inputs: each absent one keeps its current value (or default). */
export type ClientSettingsInput = { readonly [K in keyof ClientSettings]?: ClientSettings[K] };

export function settingsOf(client: Partial<ClientSettingsInput>): ClientSettings {
  return {
    idTokenSignedResponseAlg: client.idTokenSignedResponseAlg ?? null,
    postLogoutRedirectUris: client.postLogoutRedirectUris ?? [],
    backchannelLogoutUri: client.backchannelLogoutUri ?? null,
    jwks: client.jwks ?? null,
    jwksUri: client.jwksUri ?? null,
    tokenEndpointAuthMethod: client.tokenEndpointAuthMethod ?? null,
    requirePar: client.requirePar ?? false,
    pkceExemptWithNonce: client.pkceExemptWithNonce ?? false,
    requireDpop: client.requireDpop ?? false,
  };
}

/** `input` over `current`: what the client will have. */
export function mergeSettings(current: ClientSettings, input: ClientSettingsInput): ClientSettings {
  const merged: Record<string, unknown> = { ...current };
  for (const key of Object.keys(current) as (keyof ClientSettings)[])
    if (input[key] !== undefined) merged[key] = input[key];
  return settingsOf(merged);
}

/** Whether a client with these settings is issued (and authenticates with) a secret. */
export function usesSecret(type: ClientType, settings: ClientSettings): boolean {
  return (
    type === 'web' &&
    settings.tokenEndpointAuthMethod !== 'private_key_jwt' &&
    settings.tokenEndpointAuthMethod !== 'none'
  );
}

/** The auth method a client has in effect: the registered one, or the one its type implies. */
export function effectiveAuthMethod(
  client: Pick<Client, 'type' | 'tokenEndpointAuthMethod'>,
): TokenEndpointAuthMethod {
  return client.tokenEndpointAuthMethod ?? (client.type === 'web' ? 'client_secret_basic' : 'none');
}

/**
 * Where a URL's host points when the host says so itself, without asking DNS: a loopback name
 * (RFC 6761 §6.3: localhost and its subdomains) or an address literal of this machine or an
 * internal network (net/address-policy.ts, as the SSRF guard classifies resolved addresses).
 */
export function literalHostVerdict(hostname: string): 'loopback' | 'internal' | undefined {
  // A fully qualified name may end in a dot (localhost. is localhost to DNS).
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname.replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (isIP(host) === 0) return undefined;
  const verdict = classifyAddress(host);
  return verdict === 'public' ? undefined : verdict;
}

/**
 * An https URL without a fragment, not aimed at this machine or an internal network; http, and
 * loopback hosts, only in a development environment (a local test receiver). The fetcher and the
 * poster refuse such addresses when they connect anyway (DNS may say otherwise later): this says
 * so at registration, where an operator or a developer can still fix it, rather than leaving a
 * client whose keys or logout URI can never be reached. Returns a reason when refused.
 */
function serverUrlProblem(value: string, environment: Environment): string | undefined {
  if (value.length > 2048) return 'is longer than 2048 characters';
  // The URL parser drops tabs and newlines and trims spaces and controls: the stored text would
  // not be the address requested (https://a.example\t.b.example/ is a.example.b.example).
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x20\x7f]/.test(value)) return 'contains spaces or control characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (value.includes('#')) return 'has a fragment';
  if (url.username !== '' || url.password !== '') return 'has credentials in it';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https';
  const verdict = literalHostVerdict(url.hostname);
  if (verdict === 'internal')
    return 'points at an internal address (private, link-local or reserved network): use a public https URL';
  if (verdict === 'loopback')
    return environment.tier === 'development'
      ? undefined
      : 'points at a loopback address: only a development environment allows http or https to this machine';
  if (url.protocol === 'https:') return undefined;
  return 'must use https (a development environment allows http to a loopback host only)';
}

/** Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const KEY_TYPES: ReadonlySet<string> = new Set(['RSA', 'EC', 'OKP']);
export const MAX_JWKS_KEYS = 10;
export const MAX_JWKS_BYTES = 16 * 1024;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * RFC 7591 §2 `jwks`: a JWK Set of public signing keys. Private or symmetric key material is
 * refused (it would be stored and shown back), and each key must be one Node can load.
 */
export function checkJwks(value: unknown): JwkSet {
  const refuse = (why: string): never => {
    throw new InputError(`jwks refused: ${why}`, 'invalid_jwks');
  };
  if (!isObject(value) || !Array.isArray(value.keys))
    return refuse('it must be a JWK Set, an object with a "keys" list (RFC 7517 §5)');
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_JWKS_BYTES)
    return refuse(`it is larger than ${MAX_JWKS_BYTES / 1024} KB`);
  const keys: unknown[] = value.keys;
  if (keys.length === 0) return refuse('it has no keys');
  if (keys.length > MAX_JWKS_KEYS) return refuse(`it has more than ${MAX_JWKS_KEYS} keys`);
  const kids = new Set<string>();
  keys.forEach((key, i) => {
    const which = `key ${i + 1}`;
    if (!isObject(key)) return refuse(`${which} is not a JSON object`);
    if (typeof key.kty !== 'string' || !KEY_TYPES.has(key.kty))
      return refuse(`${which}: kty must be RSA, EC or OKP`);
    const secret = PRIVATE_MEMBERS.find((member) => member in key);
    if (secret !== undefined)
      return refuse(`${which} has the private member "${secret}": register public keys only`);
    const rsa = rsaKeyProblem(key);
    if (rsa !== undefined) return refuse(`${which}: an RSA key that ${rsa}`);
    if (key.use !== undefined && key.use !== 'sig')
      return refuse(`${which}: use must be sig (the keys sign client assertions)`);
    if (key.alg !== undefined && (typeof key.alg !== 'string' || /^(none|HS)/i.test(key.alg)))
      return refuse(
        `${which}: alg ${JSON.stringify(key.alg)} is not an asymmetric signing algorithm`,
      );
    if (key.kid !== undefined) {
      if (typeof key.kid !== 'string') return refuse(`${which}: kid must be a string`);
      if (kids.has(key.kid)) return refuse(`two keys have the kid "${key.kid}"`);
      kids.add(key.kid);
    }
    try {
      createPublicKey({ key: key as never, format: 'jwk' });
    } catch {
      return refuse(`${which} is not a valid ${key.kty} public key`);
    }
  });
  return { keys: keys as Record<string, unknown>[] };
}

/**
 * Checks the settings a client will have, given its type and environment; throws an InputError
 * naming the first problem. Nothing is changed by the caller when this throws.
 */
export function checkClientSettings(
  environment: Environment,
  type: ClientType,
  settings: ClientSettings,
  /**
   * The post-logout URIs the client has registered already: one only the environment's loopback
   * policy refuses is kept (it no longer matches), so other changes to the client still go through.
   */
  keptPostLogout: readonly string[] = [],
): void {
  const confidential = type === 'web';
  if (
    settings.idTokenSignedResponseAlg !== null &&
    !ID_TOKEN_ALGS.includes(settings.idTokenSignedResponseAlg)
  )
    throw new InputError(
      `id_token_signed_response_alg must be ${ID_TOKEN_ALGS.join(' or ')}`,
      'invalid_id_token_alg',
    );

  // RP-Initiated Logout §3.1: a post-logout redirect is a redirect like any other, so the same
  // policy (for this environment and client type) decides.
  const postLogout = settings.postLogoutRedirectUris;
  if (postLogout.length > 20)
    throw new InputError(
      'at most 20 post-logout redirect URIs',
      'post_logout_redirect_uri_refused',
    );
  const refused = refusedUris(redirectPolicyFor(environment, type), postLogout, keptPostLogout);
  if (refused.length > 0) {
    const first = refused[0] as (typeof refused)[number];
    throw new InputError(
      `post-logout redirect URI ${first.uri} refused (${first.code}): ${first.message}`,
      'post_logout_redirect_uri_refused',
      refused,
    );
  }
  const duplicate = postLogout.find((uri, i) => postLogout.indexOf(uri) !== i);
  if (duplicate !== undefined)
    throw new InputError(
      `post-logout redirect URI ${duplicate} is listed twice`,
      'post_logout_redirect_uri_refused',
    );

  // Back-Channel Logout §2.2: an absolute URL that MUST NOT include a fragment.
  if (settings.backchannelLogoutUri !== null) {
    const problem = serverUrlProblem(settings.backchannelLogoutUri, environment);
    if (problem !== undefined)
      throw new InputError(
        `backchannel_logout_uri ${settings.backchannelLogoutUri} ${problem}`,
        'invalid_backchannel_logout_uri',
      );
  }

  if (settings.jwks !== null) checkJwks(settings.jwks);
  if (settings.jwksUri !== null) {
    const problem = serverUrlProblem(settings.jwksUri, environment);
    if (problem !== undefined)
      throw new InputError(`jwks_uri ${settings.jwksUri} ${problem}`, 'invalid_jwks_uri');
  }
  // RFC 7591 §2: "The jwks_uri and jwks parameters MUST NOT both be present".
  if (settings.jwks !== null && settings.jwksUri !== null)
    throw new InputError('give jwks or jwks_uri, not both (RFC 7591 §2)', 'invalid_jwks');

  const method = settings.tokenEndpointAuthMethod;
  if (method !== null) {
    if (!TOKEN_ENDPOINT_AUTH_METHODS.includes(method))
      throw new InputError(
        `token_endpoint_auth_method must be ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`,
        'invalid_token_endpoint_auth_method',
      );
    if (confidential && method === 'none')
      throw new InputError(
        'a web (confidential) client authenticates: token_endpoint_auth_method cannot be none',
        'invalid_token_endpoint_auth_method',
      );
    if (!confidential && method !== 'none')
      throw new InputError(
        `a ${type} client is public and cannot authenticate: token_endpoint_auth_method must be none`,
        'invalid_token_endpoint_auth_method',
      );
    if (method === 'private_key_jwt' && settings.jwks === null && settings.jwksUri === null)
      throw new InputError(
        'private_key_jwt needs the client’s public keys: give jwks or jwks_uri',
        'invalid_token_endpoint_auth_method',
      );
  }

  // OAuth 2.1 §7.5.1: only a client that authenticates may rely on nonce instead of PKCE; for a
  // public client PKCE is the only protection against code injection.
  if (settings.pkceExemptWithNonce && !confidential)
    throw new InputError(
      `the no-PKCE exception is for confidential (web) clients only; a ${type} client must use PKCE`,
      'pkce_exemption_refused',
    );
}
