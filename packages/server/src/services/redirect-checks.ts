import {
  ValidationCode,
  validateRedirectUri,
  type MatchOptions,
  type PolicyContext,
} from '@gatehouse/redirect-policy';
import type { ClientType } from '../storage/clients.js';
import type { Environment } from '../storage/environments.js';

/**
 * The redirect policy that applies to a client type in an environment: every place a redirect or
 * post-logout URI enters (operators, the declarative file, promotion, dynamic registration,
 * metadata documents) judges it by this, so the environment's loopback hosts hold everywhere.
 */
export function redirectPolicyFor(environment: Environment, type: ClientType): PolicyContext {
  return {
    environment: environment.tier,
    clientType: type,
    loopbackHosts: environment.loopbackHosts,
  };
}

/** How a request's redirect URI is matched against a client's in an environment (/authorize). */
export function redirectMatchOptions(environment: Environment, type: ClientType): MatchOptions {
  return {
    environment: environment.tier,
    clientType: type,
    loopbackHosts: environment.loopbackHosts,
  };
}

/** A redirect URI the policy refuses, with its reason. */
export type RefusedUri = {
  readonly uri: string;
  readonly code: string;
  readonly message: string;
  readonly suggestion?: string;
};

/**
 * The URIs the policy refuses. `kept`: URIs the client has registered already and keeps. One of
 * them that only the environment's loopback policy refuses (a host an operator refused after it
 * was registered) is let through: it no longer matches anyway (redirectMatchOptions), and
 * refusing it here would block every other change to the client until it is removed.
 */
export function refusedUris(
  policy: PolicyContext,
  uris: readonly string[],
  kept: readonly string[] = [],
): RefusedUri[] {
  return uris
    .map((uri) => ({ uri, result: validateRedirectUri(uri, policy) }))
    .flatMap(({ uri, result }) =>
      result.ok || (result.code === ValidationCode.LoopbackHostNotAllowed && kept.includes(uri))
        ? []
        : [
            {
              uri,
              code: result.code,
              message: result.message,
              ...(result.suggestion === undefined ? {} : { suggestion: result.suggestion }),
            },
          ],
    );
}
