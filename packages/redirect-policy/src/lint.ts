import { parse as parseHost } from 'tldts';
import { LintCode } from './codes.js';
import { assertPolicyContext, isStringArray, type PolicyContext } from './context.js';
import { matchRedirectUri } from './match.js';
import { parseUri, type ParsedUri } from './parse.js';
import { splitLoopbackHttp, WILDCARD_PREFIX } from './uri-text.js';
import { validateRedirectUri, type RedirectUriKind } from './validate.js';

export interface LintWarning {
  readonly code: LintCode;
  /** One sentence for a person, naming the fix where there is one. */
  readonly message: string;
  /** The registered URIs the warning is about, in the order they were given. */
  readonly uris: readonly string[];
}

interface ValidEntry {
  readonly uri: string;
  readonly kind: RedirectUriKind;
  readonly url: ParsedUri;
}

/**
 * Warnings about a client's set of redirect URIs that are legal but suspect. URIs that fail
 * `validateRedirectUri` are skipped here: validation reports them.
 */
export function lintRedirectUris(uris: readonly string[], context: PolicyContext): LintWarning[] {
  if (!isStringArray(uris)) {
    throw new TypeError('lintRedirectUris: uris must be an array of strings');
  }
  assertPolicyContext(context, 'lintRedirectUris');

  const valid: ValidEntry[] = [];
  for (const uri of uris) {
    const result = validateRedirectUri(uri, context);
    if (result.ok) valid.push({ uri, kind: result.kind, url: parseUri(uri) as ParsedUri });
  }

  return [
    ...duplicates(valid, context),
    ...trailingSlashPairs(valid),
    ...valid.flatMap((entry) => perEntry(entry, context)),
    ...coveredByWildcard(valid),
  ];
}

function duplicates(valid: readonly ValidEntry[], context: PolicyContext): LintWarning[] {
  const groups = new Map<string, string[]>();
  for (const { uri } of valid) {
    // The port of a loopback URI is not compared, so two that differ only in the port are one;
    // except for a single-page app, whose loopback URIs match only with their own port.
    const loopback = context.clientType === 'spa' ? undefined : splitLoopbackHttp(uri);
    const key = loopback === undefined ? uri : loopback.prefix + loopback.rest;
    groups.set(key, [...(groups.get(key) ?? []), uri]);
  }
  const warnings: LintWarning[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const identical = group.every((uri) => uri === group[0]);
    warnings.push({
      code: LintCode.Duplicate,
      message: identical
        ? `${group[0] ?? ''} is registered ${group.length} times; keep one.`
        : `${group.join(', ')} differ only in the loopback port, which is never compared; keep one, without a port.`,
      uris: group,
    });
  }
  return warnings;
}

function trailingSlashPairs(valid: readonly ValidEntry[]): LintWarning[] {
  const byUri = new Set(valid.map((entry) => entry.uri));
  const warnings: LintWarning[] = [];
  for (const { uri, url } of valid) {
    if (!url.pathname.endsWith('/') || url.pathname === '/') continue;
    const slashless = uri.replace(
      url.pathname + url.search,
      url.pathname.slice(0, -1) + url.search,
    );
    if (slashless !== uri && byUri.has(slashless)) {
      warnings.push({
        code: LintCode.TrailingSlashPair,
        message: `${slashless} and ${uri} differ only by a trailing slash; register the one your application really uses.`,
        uris: [slashless, uri],
      });
    }
  }
  return warnings;
}

function perEntry(entry: ValidEntry, context: PolicyContext): LintWarning[] {
  const { uri, kind, url } = entry;
  const warnings: LintWarning[] = [];
  if (kind === 'loopback') {
    // RFC 8252 §8.3 is about native apps' listeners; a single-page app's loopback URI is the
    // origin its development server really uses, matched exactly in either spelling.
    if (url.hostname === 'localhost' && context.clientType !== 'spa') {
      const numeric = uri.replace('://localhost', '://127.0.0.1');
      warnings.push({
        code: LintCode.LocalhostLoopback,
        message: `${uri} uses localhost, which may resolve to another interface or be blocked by a firewall; prefer ${numeric} (RFC 8252 §8.3).`,
        uris: [uri],
      });
    }
    if (url.port !== '' && url.protocol === 'http:' && context.clientType !== 'spa') {
      warnings.push({
        code: LintCode.LoopbackPortIgnored,
        message: `${uri} names port ${url.port}, but any port matches a loopback redirect URI (RFC 8252 §7.3); register it without the port.`,
        uris: [uri],
      });
    }
    if (context.clientType !== 'native') {
      warnings.push({
        code: LintCode.LoopbackForWebClient,
        message: `${uri} is a loopback URI for a ${context.clientType === 'spa' ? 'single-page app' : 'web'} client: legal in development only, it will be refused when the client is promoted to staging or production.`,
        uris: [uri],
      });
    }
  }
  if (kind === 'wildcard') {
    const rest = url.hostname.slice(2);
    const domain = parseHost(rest, { allowPrivateDomains: true }).domain;
    if (domain === rest) {
      warnings.push({
        code: LintCode.BroadWildcard,
        message: `${uri} matches every subdomain of ${rest}; narrow it to the review-app zone, such as ${WILDCARD_PREFIX}preview.${rest}${url.pathname}.`,
        uris: [uri],
      });
    }
  }
  if (kind === 'https' || kind === 'wildcard') {
    if (url.hostname.split('.').some((label) => label.startsWith('xn--'))) {
      warnings.push({
        code: LintCode.InternationalizedHost,
        message: `${uri} has an internationalised (punycode) host that browsers display in Unicode; check it is the domain you mean and not a look-alike.`,
        uris: [uri],
      });
    }
    if (/^\d+\.\d+\.\d+\.\d+$|^\[/.test(url.hostname)) {
      warnings.push({
        code: LintCode.IpAddressHost,
        message: `${uri} uses an IP address as its host; prefer a DNS name, which can move and carry a certificate.`,
        uris: [uri],
      });
    }
  }
  return warnings;
}

function coveredByWildcard(valid: readonly ValidEntry[]): LintWarning[] {
  const patterns = valid.filter((entry) => entry.kind === 'wildcard').map((entry) => entry.uri);
  if (patterns.length === 0) return [];
  const warnings: LintWarning[] = [];
  for (const { uri, kind } of valid) {
    if (kind === 'wildcard') continue;
    const match = matchRedirectUri(uri, patterns);
    if (match.ok) {
      warnings.push({
        code: LintCode.CoveredByWildcard,
        message: `${uri} is already matched by ${match.registered}; remove one of them.`,
        uris: [uri, match.registered],
      });
    }
  }
  return warnings;
}
