import { WILDCARD_PREFIX } from './uri-text.js';

/** The parts of a WHATWG URL that the rules read. */
export interface ParsedUri {
  readonly href: string;
  readonly protocol: string;
  readonly username: string;
  readonly password: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  readonly searchParams: URLSearchParams;
}

/**
 * Stands in for a wildcard label while the URL parser reads the URI. The WHATWG URL Standard keeps
 * `*` in a host as it is, and Node does; Chromium's parser percent-encodes it (`%2A`), so the same
 * wildcard registration would be "not canonical" in the console and valid on the server. Parsing a
 * plain label in its place and putting the `*` back makes every runtime agree.
 */
const WILDCARD_STAND_IN = 'gatehouse-wildcard-stand-in';

/** Parses an absolute URI, or returns undefined when it is not one. Never throws. */
export function parseUri(uri: string): ParsedUri | undefined {
  if (uri.startsWith(WILDCARD_PREFIX)) {
    const standInPrefix = `https://${WILDCARD_STAND_IN}.`;
    const url = tryParse(`${standInPrefix}${uri.slice(WILDCARD_PREFIX.length)}`);
    if (
      url !== undefined &&
      url.href.startsWith(standInPrefix) &&
      url.hostname.startsWith(`${WILDCARD_STAND_IN}.`)
    ) {
      return {
        ...fromUrl(url),
        href: `${WILDCARD_PREFIX}${url.href.slice(standInPrefix.length)}`,
        hostname: `*.${url.hostname.slice(WILDCARD_STAND_IN.length + 1)}`,
      };
    }
  }
  const url = tryParse(uri);
  return url === undefined ? undefined : fromUrl(url);
}

function tryParse(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function fromUrl(url: URL): ParsedUri {
  return {
    href: url.href,
    protocol: url.protocol,
    username: url.username,
    password: url.password,
    hostname: url.hostname,
    port: url.port,
    pathname: url.pathname,
    search: url.search,
    searchParams: url.searchParams,
  };
}
