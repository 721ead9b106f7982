import { MatchCode } from './codes.js';
import { environmentTier, loopbackHostAllowed } from './context.js';
import type { MatchResult } from './match.js';
import {
  LOOPBACK_HOSTS,
  WILDCARD_PREFIX,
  componentAt,
  earlierComponent,
  isValidPort,
  isWildcardLabel,
  layoutRawUri,
  rawHost,
  rawScheme,
  skipDigits,
  splitLoopbackHttp,
  type LoopbackHost,
  type UriComponent,
} from './uri-text.js';

/** What kind of difference separates a request from the closest registered URI. */
export type DiffKind =
  | 'letter-case'
  | 'trailing-slash'
  | 'encoding'
  | 'scheme'
  | 'userinfo'
  | 'loopback-host'
  | 'host'
  | 'port'
  | 'path'
  | 'query'
  | 'fragment'
  | 'wildcard-label'
  | 'wildcard-disabled';

export interface RedirectUriDiff {
  /** Index of the first character at which the request and `expected` differ. */
  readonly index: number;
  /**
   * The closest registered URI written as this request would have to be to match it: for a
   * loopback registration with the request's port, for a wildcard with the request's label.
   * Up to `index` it is identical to the request.
   */
  readonly expected: string;
  /** The component in which the first difference falls. */
  readonly component: UriComponent;
  readonly kind: DiffKind;
  /** A phrase completing "the request ...", for people. */
  readonly description: string;
}

/**
 * Character pairs the edit distance may visit to break a tie. The request is attacker-controlled,
 * so the ranking itself uses a linear measure and the quadratic one only settles ties, and only
 * while they are small.
 */
const TIE_BREAK_BUDGET = 16 * 1024;

export function explainMismatch(
  requested: string,
  registered: readonly string[],
  environment: string | undefined,
  exactOnly = false,
  loopbackHosts?: readonly LoopbackHost[],
): Extract<MatchResult, { ok: false }> {
  const wildcards =
    !exactOnly && (environment === undefined || environmentTier(environment) !== 'production');
  const aligned = registered.map((entry) => {
    const expected = alignToRequest(requested, entry, exactOnly);
    return { entry, expected, distance: closeness(requested, expected, overlapDistance) };
  });
  const nearest = aligned.reduce((min, candidate) => Math.min(min, candidate.distance), Infinity);
  const tied = aligned.filter((candidate) => candidate.distance === nearest);
  const cells = tied.reduce((sum, { expected }) => sum + requested.length * expected.length, 0);
  let best = tied[0];
  if (tied.length > 1 && cells <= TIE_BREAK_BUDGET) {
    let bestEdits = Infinity;
    for (const candidate of tied) {
      const edits = closeness(requested, candidate.expected, editDistance);
      if (edits < bestEdits) [best, bestEdits] = [candidate, edits];
    }
  }
  // `registered` is non-empty here, so `best` is set.
  const { entry, expected } = best as NonNullable<typeof best>;
  const diff = describeDiff(requested, entry, expected, wildcards, exactOnly, loopbackHosts);
  return {
    ok: false,
    code: MatchCode.RedirectUriMismatch,
    message: `The redirect_uri matches no registered redirect URI; the closest is ${entry}, and the request ${diff.description}.`,
    closest: entry,
    diff,
  };
}

/** The registered entry rewritten with whatever the request is allowed to vary (loopback port, wildcard label). */
function alignToRequest(requested: string, entry: string, exactOnly: boolean): string {
  // A single-page app's loopback port may not vary, so its registration is shown as written.
  const loopback = exactOnly ? undefined : splitLoopbackHttp(entry);
  if (loopback !== undefined) {
    // Any loopback request's port carries over, even to another loopback host, so that the
    // difference shown is the host and not the port that was free to differ.
    const port = requestedLoopbackPort(requested);
    return port === undefined
      ? loopback.prefix + loopback.rest
      : `${loopback.prefix}:${port}${loopback.rest}`;
  }
  if (entry.startsWith(WILDCARD_PREFIX) && requested.startsWith('https://')) {
    const label = requested.slice(8, requested.indexOf('.', 8));
    if (isWildcardLabel(label)) return `https://${label}${entry.slice(WILDCARD_PREFIX.length - 1)}`;
  }
  return entry;
}

function requestedLoopbackPort(requested: string): string | undefined {
  for (const host of LOOPBACK_HOSTS) {
    const prefix = `http://${host}:`;
    if (!requested.startsWith(prefix)) continue;
    const port = requested.slice(prefix.length, skipDigits(requested, prefix.length));
    return isValidPort(port) ? port : undefined;
  }
  return undefined;
}

/**
 * Edit distance, except that a loopback host spelled differently counts as one edit: a request to
 * `http://localhost:PORT/cb` is meant for `http://127.0.0.1/cb` rather than `http://localhost/other`.
 */
function closeness(
  requested: string,
  expected: string,
  distance: (a: string, b: string) => number,
): number {
  const a = loopbackHostOf(requested);
  const b = loopbackHostOf(expected);
  if (a === undefined || b === undefined) return distance(requested, expected);
  const rest = (uri: string, host: string): string => uri.slice('http://'.length + host.length);
  return distance(rest(requested, a), rest(expected, b)) + (a === b ? 0 : 1);
}

function loopbackHostOf(uri: string): string | undefined {
  return LOOPBACK_HOSTS.find((host) => {
    const next = uri.charCodeAt(`http://${host}`.length);
    return uri.startsWith(`http://${host}`) && (next === 0x3a || next === 0x2f);
  });
}

/** How much of the two strings is not shared as a common prefix or suffix: linear time. */
function overlapDistance(a: string, b: string): number {
  const prefix = commonPrefixLength(a, b);
  const suffix = commonSuffixLength(a, b, prefix);
  return a.length + b.length - 2 * (prefix + suffix);
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let previous = new Uint32Array(b.length + 1).map((_, j) => j);
  let current = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (ai === b.charCodeAt(j - 1) ? 0 : 1);
      current[j] = Math.min(
        substitution,
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
      );
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length] as number;
}

function commonPrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function commonSuffixLength(a: string, b: string, prefix: number): number {
  const limit = Math.min(a.length, b.length) - prefix;
  let i = 0;
  while (i < limit && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}

function describeDiff(
  requested: string,
  entry: string,
  expected: string,
  wildcards: boolean,
  exactOnly: boolean,
  loopbackHosts: readonly LoopbackHost[] | undefined,
): RedirectUriDiff {
  const index = commonPrefixLength(requested, expected);

  if (requested === expected) {
    // The request has the exact shape an exception would accept, so the exception itself is off:
    // a wildcard in production, or the request is the pattern itself.
    const star = entry.indexOf('*');
    const pattern = requested === entry;
    return {
      index: star === -1 ? 0 : star,
      expected,
      component: 'host',
      kind: pattern || wildcards ? 'wildcard-label' : 'wildcard-disabled',
      description:
        pattern || wildcards
          ? 'is the wildcard pattern itself; a request must name one concrete host in place of *'
          : exactOnly
            ? 'relies on a wildcard registration, and wildcards are never honoured for a single-page app'
            : 'relies on a wildcard registration, and wildcards are not honoured in production',
    };
  }

  // Where one string simply goes on, the extra text is the difference and names the component.
  const component =
    index >= expected.length
      ? componentAt(requested, index)
      : index >= requested.length
        ? componentAt(expected, index)
        : earlierComponent(componentAt(requested, index), componentAt(expected, index));
  const { kind, description } = classify(
    requested,
    entry,
    expected,
    component,
    exactOnly,
    loopbackHosts,
  );
  if (kind === 'wildcard-label') {
    // Point at the `*` of the pattern itself: the label the request put there is the problem.
    return { index: WILDCARD_PREFIX.length - 2, expected: entry, component, kind, description };
  }
  return { index, expected, component, kind, description };
}

function classify(
  requested: string,
  entry: string,
  expected: string,
  component: UriComponent,
  exactOnly: boolean,
  loopbackHosts: readonly LoopbackHost[] | undefined,
): { kind: DiffKind; description: string } {
  if (requested.toLowerCase() === expected.toLowerCase()) {
    return {
      kind: 'letter-case',
      description: 'differs only in letter case, and redirect URIs are case-sensitive here',
    };
  }
  if (differsByTrailingSlash(requested, expected)) {
    return {
      kind: 'trailing-slash',
      description: `differs only by a trailing slash (${hasTrailingSlash(requested) ? 'the request has one, the registration does not' : 'the registration has one, the request does not'})`,
    };
  }
  if (sameUrlWrittenDifferently(requested, expected)) {
    return {
      kind: 'encoding',
      description:
        'is the same URL written differently (percent-encoding, dot segments or a default port), and redirect URIs are compared character by character',
    };
  }
  if (component === 'userinfo' || component === 'port') {
    // `https://evil.example\@app.example.com/` reads as userinfo to RFC 3986 and as the host
    // evil.example to a browser: say what the browser would do.
    const browserHost = parsedHost(requested);
    if (browserHost !== undefined && browserHost !== parsedHost(expected)) {
      return {
        kind: 'host',
        description: `would be delivered to a different host than the registered ${rawHost(entry) ?? ''}`,
      };
    }
  }
  switch (component) {
    case 'scheme':
      return {
        kind: 'scheme',
        description: `uses another scheme where ${rawScheme(expected) ?? '(none)'}: is registered`,
      };
    case 'userinfo':
      return { kind: 'userinfo', description: 'carries user information (user@) before the host' };
    case 'host':
      return classifyHost(requested, entry, expected, loopbackHosts);
    case 'port':
      if (exactOnly && splitLoopbackHttp(entry) !== undefined) {
        return {
          kind: 'port',
          description:
            "uses a different port, and a single-page app's loopback redirect URI matches only with its registered port (the port is part of the app's origin)",
        };
      }
      if (splitLoopbackHttp(entry) !== undefined) {
        return {
          kind: 'port',
          description:
            'has a port that is not a valid one (a loopback redirect accepts any port from 1 to 65535, written without leading zeros)',
        };
      }
      return { kind: 'port', description: 'uses a different port' };
    case 'path':
      return { kind: 'path', description: 'has a different path' };
    case 'query':
      return { kind: 'query', description: 'has a different query string' };
    case 'fragment':
      return {
        kind: 'fragment',
        description: 'carries a fragment (#), which a redirect URI never has',
      };
  }
}

function classifyHost(
  requested: string,
  entry: string,
  expected: string,
  loopbackHosts: readonly LoopbackHost[] | undefined,
): { kind: DiffKind; description: string } {
  const requestedHost = rawHost(requested) ?? '';
  const expectedHost = rawHost(expected) ?? '';
  const loopback = LOOPBACK_HOSTS as readonly string[];
  if (loopback.includes(requestedHost) && loopback.includes(expectedHost)) {
    // A registration made before the environment refused its host matches nothing any more: say
    // so, or the operator would be told to make the request use a host that is refused too.
    const stale = loopbackHostAllowed(expectedHost, loopbackHosts)
      ? ''
      : `; ${expectedHost} is no longer allowed in this environment, so register the ${requestedHost} form`;
    return {
      kind: 'loopback-host',
      description: `uses the loopback host ${requestedHost} where ${expectedHost} is registered, and the loopback host names are not interchangeable${stale}`,
    };
  }
  if (entry.startsWith(WILDCARD_PREFIX)) {
    const suffix = (rawHost(entry) ?? '').slice(1);
    if (requestedHost.endsWith(suffix)) {
      return {
        kind: 'wildcard-label',
        description: `puts something other than one DNS label where the wildcard stands, and * matches exactly one lower-case label (a-z, 0-9 and -)`,
      };
    }
  }
  const registeredHost = rawHost(entry);
  if (registeredHost === undefined) {
    return {
      kind: 'host',
      description: 'has an authority (//host) where the registered URI has none',
    };
  }
  return { kind: 'host', description: `names a different host (${registeredHost} is registered)` };
}

function parsedHost(uri: string): string | undefined {
  return URL.canParse(uri) ? new URL(uri).hostname : undefined;
}

function hasTrailingSlash(uri: string): boolean {
  const l = layoutRawUri(uri);
  const pathEnd =
    l.queryStart !== -1 ? l.queryStart : l.fragmentStart !== -1 ? l.fragmentStart : uri.length;
  return pathEnd > l.pathStart + 1 && uri.charCodeAt(pathEnd - 1) === 0x2f;
}

function withoutTrailingSlash(uri: string): string {
  const l = layoutRawUri(uri);
  const pathEnd =
    l.queryStart !== -1 ? l.queryStart : l.fragmentStart !== -1 ? l.fragmentStart : uri.length;
  if (pathEnd > 0 && uri.charCodeAt(pathEnd - 1) === 0x2f)
    return uri.slice(0, pathEnd - 1) + uri.slice(pathEnd);
  return uri;
}

function differsByTrailingSlash(a: string, b: string): boolean {
  return (
    hasTrailingSlash(a) !== hasTrailingSlash(b) &&
    withoutTrailingSlash(a) === withoutTrailingSlash(b)
  );
}

/**
 * Equal once both are parsed the WHATWG way and percent-encoded unreserved characters are decoded
 * (RFC 3986 §6.2.2.2). Reserved characters stay encoded: `%2F` is not `/`, nor `%3F` `?`.
 */
function sameUrlWrittenDifferently(a: string, b: string): boolean {
  if (!URL.canParse(a) || !URL.canParse(b)) return false;
  return decodeUnreserved(new URL(a).href) === decodeUnreserved(new URL(b).href);
}

function decodeUnreserved(href: string): string {
  return href.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9._~-]/.test(c) ? c : escape.toUpperCase();
  });
}

/** The loopback host a raw URI names (`http://localhost:8080/cb`: localhost), if any. */
export function loopbackHostIn(uri: string): LoopbackHost | undefined {
  const authority = uri.startsWith('http://') ? 7 : uri.startsWith('https://') ? 8 : -1;
  if (authority === -1) return undefined;
  return LOOPBACK_HOSTS.find((host) => {
    if (!uri.startsWith(host, authority)) return false;
    const next = uri.charCodeAt(authority + host.length);
    // `http://localhost.evil.com/` names another host altogether.
    return Number.isNaN(next) || next === 0x3a || next === 0x2f || next === 0x3f || next === 0x23;
  });
}

/** The loopback host to use instead of a refused one: 127.0.0.1 first (RFC 8252 §8.3). */
export function preferredLoopbackHost(allowed: readonly LoopbackHost[]): LoopbackHost {
  return LOOPBACK_HOSTS.find((host) => allowed.includes(host)) ?? '127.0.0.1';
}

/**
 * Why a loopback host is refused by the environment's policy, as one clause for people: for
 * `localhost`, RFC 8252 §8.3 (NOT RECOMMENDED: the name is looked up, and can resolve to another
 * address or interface than the one the app listens on, or be intercepted on the way).
 */
export function loopbackHostReason(
  host: LoopbackHost,
  allowed: readonly LoopbackHost[],
  environment: string | undefined,
): string {
  const where = environment === undefined ? 'this environment' : `the ${environment} environment`;
  const instead = preferredLoopbackHost(allowed);
  const why =
    host === 'localhost'
      ? 'RFC 8252 §8.3 calls localhost NOT RECOMMENDED, since the name is looked up (hosts file, resolver, proxy) and can lead elsewhere than the interface the app listens on'
      : `its operator allows only ${allowed.join(', ')}`;
  return `${where} does not allow the loopback host ${host}: ${why}; use ${instead}${instead === 'localhost' ? '' : ', an address the app binds to itself'}`;
}
