/**
 * The redirect URI policy, run in the browser as the operator types: the same package the server
 * enforces, so what the console accepts is what the server accepts.
 */
import {
  lintRedirectUris,
  validateRedirectUri,
  type LintWarning,
  type PolicyContext,
  type RedirectUriKind,
  type ValidationResult,
} from '@gatehouse/redirect-policy';
import type { ClientType, Environment } from './api/types';

export type { LintWarning, ValidationResult };

/**
 * The policy of a client type in an environment, as the server's `redirectPolicyFor`: its tier's
 * rules and its loopback hosts (issue #18: an operator may refuse localhost).
 */
export function policyContext(
  environment: Pick<Environment, 'tier' | 'loopbackHosts'>,
  clientType: ClientType,
): PolicyContext {
  return {
    environment: environment.tier,
    clientType,
    loopbackHosts: environment.loopbackHosts,
  };
}

export function validate(uri: string, context: PolicyContext): ValidationResult {
  return validateRedirectUri(uri, context);
}

/** Lint warnings about the set that concern `uri` (the one being added). */
export function lintWith(
  existing: readonly string[],
  uri: string,
  context: PolicyContext,
): LintWarning[] {
  return lintRedirectUris([...existing, uri], context).filter((warning) =>
    warning.uris.includes(uri),
  );
}

export function lint(uris: readonly string[], context: PolicyContext): LintWarning[] {
  return lintRedirectUris(uris, context);
}

const KIND_LABELS: Readonly<Record<RedirectUriKind, string>> = {
  https: 'an https redirect URI',
  loopback: 'a loopback redirect URI (any port is accepted at sign-in)',
  'private-use-scheme': 'a private-use scheme redirect URI',
  wildcard: 'a wildcard redirect URI',
};

export function acceptedMessage(kind: RedirectUriKind): string {
  return `Accepted by the redirect policy: ${KIND_LABELS[kind]}.`;
}

/** Non-empty, trimmed lines of a textarea. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
