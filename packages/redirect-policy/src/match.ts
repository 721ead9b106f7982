import { MatchCode } from './codes.js';
import {
  assertEnvironment,
  assertLoopbackHosts,
  environmentTier,
  loopbackHostAllowed,
  type ClientType,
} from './context.js';
import {
  explainMismatch,
  loopbackHostIn,
  loopbackHostReason,
  type RedirectUriDiff,
} from './explain.js';
import {
  LOOPBACK_HOSTS,
  WILDCARD_PREFIX,
  hasPrefix,
  hasSuffix,
  isValidPort,
  isWildcardLabel,
  skipDigits,
  splitLoopbackHttp,
  type LoopbackHost,
} from './uri-text.js';

/** How a request matched: the exact string, the loopback port exception or the wildcard label exception. */
export type MatchVia = 'exact' | 'loopback-port' | 'wildcard';

export type MatchResult =
  | { readonly ok: true; readonly registered: string; readonly via: MatchVia }
  | {
      readonly ok: false;
      readonly code: MatchCode;
      /** One sentence for an operator. It never repeats the requested value, which is untrusted. */
      readonly message: string;
      /** The registered redirect URI nearest to the request. */
      readonly closest?: string;
      /** Where and how the request departs from `closest`. */
      readonly diff?: RedirectUriDiff;
    };

export interface MatchOptions {
  /**
   * The client's environment. When given, wildcard registrations are honoured only outside
   * production, so a wildcard that reached a production client's data by any route never matches.
   */
  readonly environment?: string;
  /**
   * The client's type. For `spa` only the exact string matches: no loopback port exception (the
   * RFC 8252 §7.3 exception is for native apps, and a browser app's port is part of the origin
   * its requests come from and CORS is granted to) and no wildcard, whatever was stored.
   */
  readonly clientType?: ClientType;
  /**
   * The environment's loopback hosts (see PolicyContext); unset: all three. A request naming a
   * loopback host outside the list does not match, even a registration made before the policy.
   */
  readonly loopbackHosts?: readonly LoopbackHost[];
}

/**
 * Compares a requested redirect URI with a client's registered ones, as OAuth 2.1 §2.3.1 and
 * RFC 9700 §4.1.3 require: simple string comparison of the raw request, with only the RFC 8252
 * §7.3 loopback port exception and Gatehouse's single-label wildcard exception. Nothing is decoded,
 * case-folded, trimmed or normalised. Never throws for any `requested` string.
 */
export function matchRedirectUri(
  requested: string,
  registered: readonly string[],
  options: MatchOptions = {},
): MatchResult {
  if (typeof requested !== 'string')
    throw new TypeError('matchRedirectUri: requested must be a string');
  const list: unknown = registered; // checked without narrowing `registered` to any[]
  if (!Array.isArray(list))
    throw new TypeError('matchRedirectUri: registered must be an array of strings');
  const environment = (options as MatchOptions | undefined)?.environment;
  if (environment !== undefined) assertEnvironment(environment, 'matchRedirectUri');
  // Checked as unknown: a caller outside TypeScript may pass anything.
  const clientType: unknown = (options as MatchOptions | undefined)?.clientType;
  if (
    clientType !== undefined &&
    clientType !== 'web' &&
    clientType !== 'native' &&
    clientType !== 'spa'
  )
    throw new TypeError("matchRedirectUri: clientType must be 'web', 'native' or 'spa'");
  const exactOnly = clientType === 'spa';
  const loopbackHosts: unknown = (options as MatchOptions | undefined)?.loopbackHosts;
  assertLoopbackHosts(loopbackHosts, 'matchRedirectUri');

  if (registered.length === 0) {
    return {
      ok: false,
      code: MatchCode.NoRegisteredRedirectUris,
      message: 'The client has no registered redirect URIs, so no redirect URI can match.',
    };
  }

  // The environment's loopback policy holds at every request, not only at registration: a
  // registration made before an operator refused its host stops matching at once.
  // (Only read when the list leaves a host out: the usual request pays nothing for it.)
  const restricted =
    loopbackHosts !== undefined && !LOOPBACK_HOSTS.every((h) => loopbackHosts.includes(h));
  const host = restricted ? loopbackHostIn(requested) : undefined;
  if (
    host !== undefined &&
    loopbackHosts !== undefined &&
    !loopbackHostAllowed(host, loopbackHosts)
  )
    return refuseLoopbackHost(requested, registered, options, host, loopbackHosts);

  // A request that still contains `*` is a pattern, not a place: it can match nothing, and must
  // not match a registered pattern by plain string equality.
  const concrete = !requested.includes('*');
  for (const entry of registered) {
    if (typeof entry !== 'string')
      throw new TypeError('matchRedirectUri: registered must be an array of strings');
    if (concrete && entry === requested) return { ok: true, registered: entry, via: 'exact' };
  }
  if (concrete && !exactOnly) {
    const wildcards = environment === undefined || environmentTier(environment) !== 'production';
    for (const entry of registered) {
      // One character tells the candidates apart cheaply: `http:` for loopback, `https://*` for
      // wildcards; every other entry was already settled by the exact comparison above.
      if (entry.charCodeAt(4) === 0x3a /* : */) {
        if (matchesLoopback(requested, entry))
          return { ok: true, registered: entry, via: 'loopback-port' };
      } else if (wildcards && entry.charCodeAt(8) === 0x2a /* * */) {
        if (matchesWildcard(requested, entry))
          return { ok: true, registered: entry, via: 'wildcard' };
      }
    }
  }
  return explainMismatch(requested, registered, environment, exactOnly, loopbackHosts);
}

/**
 * The refusal of a request naming a loopback host the environment does not allow. `closest` is the
 * registration it would have matched without the policy (the one to replace), if any.
 */
function refuseLoopbackHost(
  requested: string,
  registered: readonly string[],
  options: MatchOptions,
  host: LoopbackHost,
  allowed: readonly LoopbackHost[],
): Extract<MatchResult, { ok: false }> {
  const withoutPolicy: MatchOptions = {
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    ...(options.clientType === undefined ? {} : { clientType: options.clientType }),
  };
  const unrestricted = matchRedirectUri(requested, registered, withoutPolicy);
  const reason = loopbackHostReason(host, allowed, options.environment);
  const registration = unrestricted.ok
    ? `; the registration ${unrestricted.registered} it would match was made before and is refused now`
    : '';
  return {
    ok: false,
    code: MatchCode.LoopbackHostNotAllowed,
    message: `The redirect_uri is refused: ${reason}${registration}.`,
    ...(unrestricted.ok ? { closest: unrestricted.registered } : {}),
  };
}

/**
 * RFC 8252 §7.3: "The authorization server MUST allow any port to be specified at the time of the
 * request for loopback IP redirect URIs". Only the port may differ; the host spelling, path and
 * query are compared exactly.
 */
function matchesLoopback(requested: string, entry: string): boolean {
  const loopback = splitLoopbackHttp(entry);
  if (loopback === undefined || !hasPrefix(requested, loopback.prefix)) return false;
  let restStart = loopback.prefix.length;
  if (requested.charCodeAt(restStart) === 0x3a /* : */) {
    const portEnd = skipDigits(requested, restStart + 1);
    if (!isValidPort(requested.slice(restStart + 1, portEnd))) return false;
    restStart = portEnd;
  }
  return (
    requested.length - restStart === loopback.rest.length && hasSuffix(requested, loopback.rest)
  );
}

/** `https://*.preview.example.com/cb` matches `https://<one lowercase LDH label>.preview.example.com/cb`. */
function matchesWildcard(requested: string, entry: string): boolean {
  if (!entry.startsWith(WILDCARD_PREFIX) || entry.includes('*', WILDCARD_PREFIX.length))
    return false;
  const suffix = entry.slice(WILDCARD_PREFIX.length - 1); // from the `.` after the `*`
  const labelStart = WILDCARD_PREFIX.length - 2;
  const labelEnd = requested.length - suffix.length;
  if (labelEnd <= labelStart || !requested.startsWith('https://') || !requested.endsWith(suffix))
    return false;
  return isWildcardLabel(requested.slice(labelStart, labelEnd));
}
