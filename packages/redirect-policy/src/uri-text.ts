/**
 * Helpers that read a URI as raw text. Matching must never normalise (RFC 9700 §4.1.3), so these
 * work on the exact characters and never throw, whatever the input.
 */

/** The only loopback host spellings Gatehouse accepts (RFC 8252 §7.3, §8.3). */
export const LOOPBACK_HOSTS = ['127.0.0.1', '[::1]', 'localhost'] as const;
export type LoopbackHost = (typeof LOOPBACK_HOSTS)[number];

const LOOPBACK_HTTP_PREFIXES = LOOPBACK_HOSTS.map((host) => `http://${host}`);

/**
 * For a canonical http loopback URI, the part before the port (`http://127.0.0.1`) and the part
 * after it (`/callback`). Anything else returns undefined.
 */
export function splitLoopbackHttp(uri: string): { prefix: string; rest: string } | undefined {
  for (const prefix of LOOPBACK_HTTP_PREFIXES) {
    if (!hasPrefix(uri, prefix)) continue;
    const next = uri.charCodeAt(prefix.length);
    if (next === 0x2f /* / */) return { prefix, rest: uri.slice(prefix.length) };
    if (next === 0x3a /* : */) {
      const end = skipDigits(uri, prefix.length + 1);
      return { prefix, rest: uri.slice(end) };
    }
    // `http://localhost.evil.com/` and the like: not a loopback URI at all.
    return undefined;
  }
  return undefined;
}

/**
 * `text.startsWith(prefix)` by character codes. V8's startsWith is a runtime call costing tens of
 * nanoseconds, which dominates a scan of a client's redirect URIs; this loop is inlined.
 */
export function hasPrefix(text: string, prefix: string, at = 0): boolean {
  if (text.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (text.charCodeAt(at + i) !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

/** `text.endsWith(suffix)` by character codes, for the same reason as {@link hasPrefix}. */
export function hasSuffix(text: string, suffix: string): boolean {
  return hasPrefix(text, suffix, text.length - suffix.length);
}

export function skipDigits(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  return i;
}

/** A port as RFC 8252 §7.3 allows it at request time: 1-65535, decimal, no leading zeros. */
export function isValidPort(digits: string): boolean {
  if (digits.length === 0 || digits.length > 5 || digits.charCodeAt(0) === 0x30) return false;
  return Number(digits) <= 65535;
}

/** One DNS label of the LDH form in lower case: what a wildcard `*` may stand for. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isWildcardLabel(text: string): boolean {
  return LABEL.test(text);
}

/** The prefix every wildcard registration starts with. */
export const WILDCARD_PREFIX = 'https://*.';

/** Components of a URI, in the order they appear. */
export type UriComponent = 'scheme' | 'userinfo' | 'host' | 'port' | 'path' | 'query' | 'fragment';

const COMPONENT_ORDER: Record<UriComponent, number> = {
  scheme: 0,
  userinfo: 1,
  host: 2,
  port: 3,
  path: 4,
  query: 5,
  fragment: 6,
};

export function earlierComponent(a: UriComponent, b: UriComponent): UriComponent {
  return COMPONENT_ORDER[a] <= COMPONENT_ORDER[b] ? a : b;
}

/** Where each component starts, read from the raw text (`-1` where the component is absent). */
export interface RawUriLayout {
  schemeEnd: number;
  userinfoStart: number;
  hostStart: number;
  portStart: number;
  pathStart: number;
  queryStart: number;
  fragmentStart: number;
}

/**
 * Lays out a URI by RFC 3986's generic syntax, without decoding or validating anything. Garbage in
 * gives a best-effort layout, never an exception: it only tells an operator where a difference is.
 */
export function layoutRawUri(uri: string): RawUriLayout {
  const fragmentStart = uri.indexOf('#');
  const beforeFragment = fragmentStart === -1 ? uri.length : fragmentStart;
  const q = uri.indexOf('?');
  const queryStart = q !== -1 && q < beforeFragment ? q : -1;
  const beforeQuery = queryStart === -1 ? beforeFragment : queryStart;

  const colon = uri.indexOf(':');
  const schemeEnd =
    colon !== -1 && colon < beforeQuery && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(uri.slice(0, colon))
      ? colon
      : -1;

  let userinfoStart = -1;
  let hostStart = -1;
  let portStart = -1;
  let pathStart = schemeEnd + 1;
  if (uri.startsWith('//', schemeEnd + 1)) {
    const authorityStart = schemeEnd + 3;
    let authorityEnd = uri.indexOf('/', authorityStart);
    if (authorityEnd === -1 || authorityEnd > beforeQuery) authorityEnd = beforeQuery;
    const at = uri.lastIndexOf('@', authorityEnd - 1);
    if (at >= authorityStart) {
      userinfoStart = authorityStart;
      hostStart = at + 1;
    } else {
      hostStart = authorityStart;
    }
    const bracketClose =
      uri.charCodeAt(hostStart) === 0x5b /* [ */ ? uri.indexOf(']', hostStart) : -1;
    const portColon = uri.indexOf(':', bracketClose === -1 ? hostStart : bracketClose);
    if (portColon !== -1 && portColon < authorityEnd) portStart = portColon;
    pathStart = authorityEnd;
  }
  return { schemeEnd, userinfoStart, hostStart, portStart, pathStart, queryStart, fragmentStart };
}

/** Which component the character at `index` belongs to. An index past the end belongs to the last one. */
export function componentAt(uri: string, index: number): UriComponent {
  const l = layoutRawUri(uri);
  if (l.fragmentStart !== -1 && index >= l.fragmentStart) return 'fragment';
  if (l.queryStart !== -1 && index >= l.queryStart) return 'query';
  if (index >= l.pathStart) return 'path';
  if (l.portStart !== -1 && index >= l.portStart) return 'port';
  if (l.hostStart !== -1 && index >= l.hostStart) return 'host';
  if (l.userinfoStart !== -1 && index >= l.userinfoStart) return 'userinfo';
  // The `//` that opens an authority belongs with what follows it.
  if (l.hostStart !== -1 && index > l.schemeEnd)
    return l.userinfoStart === -1 ? 'host' : 'userinfo';
  return 'scheme';
}

/** The raw host text (with brackets for IPv6), or undefined where there is no authority. */
export function rawHost(uri: string): string | undefined {
  const l = layoutRawUri(uri);
  if (l.hostStart === -1) return undefined;
  const end = l.portStart !== -1 ? l.portStart : l.pathStart;
  return uri.slice(l.hostStart, end);
}

/** The raw scheme in lower case, or undefined. */
export function rawScheme(uri: string): string | undefined {
  const { schemeEnd } = layoutRawUri(uri);
  return schemeEnd === -1 ? undefined : uri.slice(0, schemeEnd).toLowerCase();
}
