import { validateRedirectUri, type PolicyContext } from '@gatehouse/redirect-policy';
import type { ClientType } from '../storage/clients.js';
import type { Environment } from '../storage/environments.js';

/** The redirect policy that applies to a client type in an environment. */
export function redirectPolicyFor(environment: Environment, type: ClientType): PolicyContext {
  return { environment: environment.tier, clientType: type };
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
