import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { lazyEndpoint } from './discovery.js';

export interface KeySourceOptions {
  readonly issuer: string;
  /** Skip discovery and fetch keys from here. */
  readonly jwksUri?: string;
  readonly cooldownMs: number;
  readonly cacheMaxAgeMs: number;
  readonly timeoutMs: number;
  readonly clock: () => number;
}

/**
 * The issuer's signing keys. The `jwks_uri` is configured or discovered lazily (`lazyEndpoint`);
 * jose's remote key set then caches the keys and,
 * on a token whose `kid` it does not know, fetches them again unless it did so less than
 * `cooldownMs` ago: a rotation is picked up at once, and made-up `kid`s cannot make it hammer
 * the authorization server.
 */
export function remoteKeySource(options: KeySourceOptions): JWTVerifyGetKey {
  const jwksUri = lazyEndpoint({
    issuer: options.issuer,
    field: 'jwks_uri',
    configured: options.jwksUri,
    timeoutMs: options.timeoutMs,
    clock: options.clock,
  });
  let keys: JWTVerifyGetKey | undefined;
  return async (header, token) => {
    // A discovery that failed, or failed recently, rejects with MetadataUnavailable: a 503.
    const uri = await jwksUri();
    keys ??= createRemoteJWKSet(new URL(uri), {
      cooldownDuration: options.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs,
      timeoutDuration: options.timeoutMs,
    });
    return keys(header, token);
  };
}
