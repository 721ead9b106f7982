import { LOOPBACK_HOSTS, type LoopbackHost } from './uri-text.js';

/**
 * The policy context: which environment a client lives in and what kind of client it is.
 * A caller passing something else is a programming error, so it throws a TypeError; untrusted
 * input (the URIs themselves) never reaches this module.
 */

/** The built-in environments; any other name is accepted and treated like `production`. */
export type Environment = 'development' | 'staging' | 'production' | (string & {});

/**
 * `web`: a confidential, server-side client. `native`: a public client that cannot keep a secret
 * (CLI, desktop, mobile, MCP client), RFC 8252. `spa`: a public single-page app running in a
 * browser on an https origin: no wildcards, no private-use schemes, loopback only in development
 * and then matched with its exact port (validate.ts, match.ts).
 */
export type ClientType = 'web' | 'native' | 'spa';

export interface PolicyContext {
  readonly environment: Environment;
  readonly clientType: ClientType;
  /**
   * Which loopback hosts may be registered; unset: all three. An operator may refuse `localhost`
   * (RFC 8252 §8.3 calls it NOT RECOMMENDED: the name can resolve to something else). When given,
   * it is a non-empty list of `LOOPBACK_HOSTS` entries: refusing loopback altogether is not a
   * loopback-host policy (a native app has no other redirect it can listen on, RFC 8252 §7.3).
   */
  readonly loopbackHosts?: readonly LoopbackHost[];
}

/** How strict an environment is. Unknown names are production: failing closed is the safe default. */
export type EnvironmentTier = 'development' | 'staging' | 'production';

export function environmentTier(environment: string): EnvironmentTier {
  if (environment === 'development' || environment === 'staging') return environment;
  return 'production';
}

export function assertEnvironment(
  environment: unknown,
  where: string,
): asserts environment is string {
  if (typeof environment !== 'string' || environment.length === 0) {
    throw new TypeError(`${where}: environment must be a non-empty string`);
  }
}

export function assertPolicyContext(
  context: unknown,
  where: string,
): asserts context is PolicyContext {
  if (typeof context !== 'object' || context === null) {
    throw new TypeError(`${where}: expected an options object { environment, clientType }`);
  }
  const { environment, clientType } = context as Record<string, unknown>;
  assertEnvironment(environment, where);
  if (clientType !== 'web' && clientType !== 'native' && clientType !== 'spa') {
    throw new TypeError(`${where}: clientType must be 'web', 'native' or 'spa'`);
  }
  assertLoopbackHosts((context as Record<string, unknown>).loopbackHosts, where);
}

/** Unset, or a non-empty list of the standard loopback hosts (a caller's mistake otherwise). */
export function assertLoopbackHosts(
  hosts: unknown,
  where: string,
): asserts hosts is readonly LoopbackHost[] | undefined {
  if (hosts === undefined) return;
  if (
    !Array.isArray(hosts) ||
    hosts.length === 0 ||
    !hosts.every((host) => (LOOPBACK_HOSTS as readonly unknown[]).includes(host))
  ) {
    throw new TypeError(
      `${where}: loopbackHosts must be a non-empty list of ${LOOPBACK_HOSTS.join(', ')}`,
    );
  }
}

/** Whether `host` (one of LOOPBACK_HOSTS) is allowed by the list; unset allows all three. */
export function loopbackHostAllowed(
  host: string,
  allowed: readonly LoopbackHost[] | undefined,
): boolean {
  return allowed === undefined || (allowed as readonly string[]).includes(host);
}

export function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
