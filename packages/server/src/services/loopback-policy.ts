import {
  LOOPBACK_HOSTS,
  ValidationCode,
  validateRedirectUri,
  type LoopbackHost,
} from '@gatehouse/redirect-policy';
import { activeRedirectUris } from '../storage/clients.js';
import type { Environment } from '../storage/environments.js';
import type { ServiceContext } from './context.js';
import { InputError } from './input-error.js';
import { redirectPolicyFor } from './redirect-checks.js';

/**
 * An environment's loopback policy (issue #18): which loopback hosts redirect and post-logout URIs
 * may name. All three by default; an operator may refuse `localhost`, which RFC 8252 §8.3 calls
 * NOT RECOMMENDED. The rule itself lives in @gatehouse/redirect-policy and reaches every entry
 * point through `redirectPolicyFor` and `redirectMatchOptions` (redirect-checks.ts).
 */

/**
 * Checks a loopback host list as an operator or a file gives it: a non-empty list of 127.0.0.1,
 * [::1] and localhost without repeats, or null for the default. An empty list is refused:
 * refusing loopback altogether would leave native apps no redirect they can listen on (RFC 8252
 * §7.3). Returns the list in the standard order, or null when it is the default (all three).
 */
export function checkLoopbackHosts(value: unknown): readonly LoopbackHost[] | null {
  if (value === null) return null;
  const known = LOOPBACK_HOSTS as readonly unknown[];
  const fail = (detail: string): never => {
    throw new InputError(
      `loopback hosts ${detail}: give a non-empty list of ${LOOPBACK_HOSTS.join(', ')} (for example 127.0.0.1,[::1] to refuse localhost), or default for all three`,
      'invalid_loopback_hosts',
    );
  };
  if (!Array.isArray(value) || value.length === 0) return fail('must not be empty');
  const hosts = value as unknown[];
  const unknownHost = hosts.find((host) => !known.includes(host));
  if (unknownHost !== undefined)
    return fail(
      typeof unknownHost === 'string'
        ? `may not name ${JSON.stringify(unknownHost.slice(0, 40))}`
        : 'must be host names',
    );
  if (new Set(hosts).size !== hosts.length) return fail('name a host twice');
  const ordered = LOOPBACK_HOSTS.filter((host) => hosts.includes(host));
  return ordered.length === LOOPBACK_HOSTS.length ? null : ordered;
}

/** A registration the environment's loopback policy refuses: it matches nothing any more. */
export interface LoopbackViolation {
  readonly clientId: string;
  readonly clientName: string;
  readonly kind: 'redirect' | 'post_logout';
  readonly uri: string;
  /** The explainer's sentence (RFC 8252 §8.3 for localhost). */
  readonly message: string;
  /** The same URI on an allowed host. */
  readonly suggestion?: string;
}

/**
 * The current redirect and post-logout URIs of the environment's clients that its loopback policy
 * refuses: registrations made before the policy, which stop matching at once. An operator who
 * sets a policy is shown them, to replace or remove.
 */
export async function loopbackViolations(
  ctx: ServiceContext,
  environment: Environment,
): Promise<LoopbackViolation[]> {
  const violations: LoopbackViolation[] = [];
  const now = ctx.clock();
  for (const client of await ctx.stores.clients.list(environment.name)) {
    const policy = redirectPolicyFor(environment, client.type);
    const lists = [
      ['redirect', activeRedirectUris(client, now)],
      ['post_logout', client.postLogoutRedirectUris ?? []],
    ] as const;
    for (const [kind, uris] of lists)
      for (const uri of uris) {
        const verdict = validateRedirectUri(uri, policy);
        if (verdict.ok || verdict.code !== ValidationCode.LoopbackHostNotAllowed) continue;
        violations.push({
          clientId: client.clientId,
          clientName: client.name,
          kind,
          uri,
          message: verdict.message,
          ...(verdict.suggestion === undefined ? {} : { suggestion: verdict.suggestion }),
        });
      }
  }
  return violations;
}
