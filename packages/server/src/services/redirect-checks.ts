import {
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

export function refusedUris(policy: PolicyContext, uris: readonly string[]): RefusedUri[] {
  return uris
    .map((uri) => ({ uri, result: validateRedirectUri(uri, policy) }))
    .flatMap(({ uri, result }) =>
      result.ok
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
