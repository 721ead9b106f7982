import { parse as parseHost } from 'tldts';
import { MAX_REDIRECT_URI_LENGTH, ValidationCode } from './codes.js';
import {
  assertPolicyContext,
  environmentTier,
  loopbackHostAllowed,
  type PolicyContext,
} from './context.js';
import { loopbackHostReason, preferredLoopbackHost } from './explain.js';
import { parseUri, type ParsedUri } from './parse.js';
import {
  LOOPBACK_HOSTS,
  WILDCARD_PREFIX,
  rawHost,
  rawScheme,
  type LoopbackHost,
} from './uri-text.js';

/** What a valid redirect URI is, which decides how it may be matched. */
export type RedirectUriKind = 'https' | 'loopback' | 'private-use-scheme' | 'wildcard';

export type ValidationResult =
  | { readonly ok: true; readonly kind: RedirectUriKind }
  | {
      readonly ok: false;
      readonly code: ValidationCode;
      /** One sentence for a person, naming the fix where there is one. */
      readonly message: string;
      /** A URI that would be accepted instead, where one is evident (the canonical spelling, the https form). */
      readonly suggestion?: string;
    };

/**
 * Schemes a browser gives special powers (script, local files, its own pages): never a redirect
 * target, whatever the client (RFC 9700 §4.1, OAuth 2.1 §7.12.1 on open redirectors).
 */
const FORBIDDEN_SCHEMES = new Set([
  'javascript',
  'data',
  'vbscript',
  'file',
  'blob',
  'about',
  'filesystem',
  'view-source',
  'chrome',
  'chrome-extension',
  'edge',
  'opera',
  'brave',
  'moz-extension',
  'resource',
  'jar',
  'intent',
  'content',
  'ms-appx',
  'ms-appx-web',
  'mailto',
  'tel',
]);

/** WHATWG "special" schemes other than http/https: they have hosts but no place in OAuth redirects. */
const OTHER_SPECIAL_SCHEMES = new Set(['ws:', 'wss:', 'ftp:']);

/**
 * Parameter names an authorization server appends to the redirect URI (RFC 6749 §4.1.2, §4.2.2,
 * §5.1; RFC 9207 §2; OIDC Session Management). A registered query that already carries one lets
 * the client be fed a value the server never sent.
 */
const RESPONSE_PARAMETERS = new Set([
  'code',
  'state',
  'iss',
  'error',
  'error_description',
  'error_uri',
  'access_token',
  'id_token',
  'token_type',
  'expires_in',
  'session_state',
]);

/** Segments like `..;` and `.;x` are dot segments to Java servlet containers (Tomcat, Spring). */
const PATH_PARAMETER_DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2};/i;
/** Encoded separators and NUL: decoded by some servers and not others, so the path is ambiguous. */
const ENCODED_SEPARATOR = /%(?:2f|5c|00)/i;

/**
 * What a second percent-decoding of the path would make a separator, a dot or NUL. Applied to the
 * path decoded once, so `%252f`, `%25%32%66` and `%%32%66` are all found.
 */
const SECOND_DECODING_SEPARATOR = /%(?:2f|5c|2e|00)/i;
/** Query parameter separators other than `&`: `;` (old CGI, Python before 3.10, Java path params) and `&amp;` (HTML). */
const OTHER_QUERY_SEPARATOR = /;|&amp;/i;

/** `127.0.0.0/8` written canonically, besides the one spelling we accept. */
const OTHER_IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

function fail(
  code: ValidationCode,
  message: string,
  suggestion?: string,
): Extract<ValidationResult, { ok: false }> {
  return suggestion === undefined
    ? { ok: false, code, message }
    : { ok: false, code, message, suggestion };
}

/** A candidate fix, offered only when it would itself be accepted. */
function acceptedFix(candidate: string, context: PolicyContext): string | undefined {
  return validateRedirectUri(candidate, context).ok ? candidate : undefined;
}

/**
 * Decides whether `uri` may be registered as a redirect URI for a client of this type in this
 * environment. Never throws for any string; throws a TypeError only when called wrongly.
 */
export function validateRedirectUri(uri: string, context: PolicyContext): ValidationResult {
  if (typeof uri !== 'string') throw new TypeError('validateRedirectUri: uri must be a string');
  assertPolicyContext(context, 'validateRedirectUri');

  if (uri.length === 0) return fail(ValidationCode.NotAbsolute, 'The redirect URI is empty.');
  if (uri.length > MAX_REDIRECT_URI_LENGTH) {
    return fail(
      ValidationCode.TooLong,
      `The redirect URI is ${uri.length} characters long; at most ${MAX_REDIRECT_URI_LENGTH} are allowed.`,
    );
  }

  // Browsers drop tabs and newlines anywhere and leading controls and spaces before reading the
  // scheme, so `java\tscript:` and ` JavaScript:` are both javascript: to them. Judge it as they would.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  const asBrowsersRead = uri.replace(/[\t\n\r]/g, '').replace(/^[\x00-\x20]+/, '');
  const browserScheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(asBrowsersRead)?.[1];
  if (browserScheme !== undefined && FORBIDDEN_SCHEMES.has(browserScheme.toLowerCase())) {
    return fail(
      ValidationCode.ForbiddenScheme,
      `The ${browserScheme.toLowerCase()}: scheme can never be a redirect URI; use an https URI, a loopback http URI or, for native apps, a reverse-DNS private-use scheme.`,
    );
  }

  const url = parseUri(uri);
  if (url === undefined) {
    return fail(
      ValidationCode.NotAbsolute,
      'The redirect URI is not an absolute URI; it must start with a scheme such as https://.',
    );
  }

  const refusal = checkParsed(url, context);
  if (!refusal.ok) return refusal;
  if (url.href !== uri) {
    return fail(
      ValidationCode.NotCanonical,
      `The redirect URI is not in canonical form (${canonicalHint(uri, url.href)}); register ${url.href} instead, since redirect URIs are compared character by character.`,
      url.href,
    );
  }
  return refusal;
}

/** The substantive rules, applied to the canonical form so that a suggested fix is never itself refused. */
function checkParsed(url: ParsedUri, context: PolicyContext): ValidationResult {
  const canonical = url.href;
  const tier = environmentTier(context.environment);

  if (canonical.includes('#')) {
    return fail(
      ValidationCode.Fragment,
      'A redirect URI must not contain a fragment, not even an empty # (RFC 6749 §3.1.2); remove it.',
      acceptedFix(canonical.slice(0, canonical.indexOf('#')), context),
    );
  }
  if (url.username !== '' || url.password !== '') {
    return fail(
      ValidationCode.Userinfo,
      'A redirect URI must not contain user information (user@ or user:password@) before the host; remove it.',
    );
  }

  const starCount = countStars(canonical);
  if (starCount > 0) {
    const placement = checkWildcardPlacement(url, starCount);
    if (placement !== undefined) return placement;
  }

  const kind = checkSchemeAndHost(url, context, tier, starCount > 0);
  if (!kind.ok) return kind;

  if (PATH_PARAMETER_DOT_SEGMENT.test(url.pathname) || ENCODED_SEPARATOR.test(url.pathname)) {
    return fail(
      ValidationCode.AmbiguousPath,
      'The path contains a dot segment with a parameter (..;) or an encoded /, \\ or NUL, which servers decode differently; register the plain path.',
    );
  }
  if (decodingStages(url.pathname).some((stage) => SECOND_DECODING_SEPARATOR.test(stage))) {
    return fail(
      ValidationCode.DoubleEncodedPath,
      'The path contains a percent-encoded % (such as %252f or %252e) that becomes /, \\, . or NUL when decoded a second time, so a server that decodes twice reads a different path; register the plain path.',
    );
  }
  for (const name of url.searchParams.keys()) {
    if (RESPONSE_PARAMETERS.has(name.toLowerCase())) {
      return fail(
        ValidationCode.ResponseParameterInQuery,
        `The query contains "${name}", a parameter the authorization server adds to the response; choose another parameter name.`,
      );
    }
  }
  return checkQuery(url, canonical, context, kind);
}

/**
 * What a server or client that decodes once, twice, three times or more reads: each stage of
 * decoding, up to 8 (each round that changes the text shortens it).
 */
function decodingStages(text: string): string[] {
  const stages: string[] = [];
  let current = text;
  for (let round = 0; round < 8; round++) {
    const next = decodeOnce(current);
    if (next === current) break;
    stages.push(next);
    current = next;
  }
  return stages;
}

/** Percent-decodes each valid `%XX` once, byte by byte; never throws. */
function decodeOnce(text: string): string {
  return text.replace(/%([0-9a-f]{2})/gi, (_match, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/**
 * `?a=1;code=2` and `?a=1&amp;code=2` carry one parameter to a WHATWG parser and two to a parser
 * that also splits on `;` or reads the URI out of HTML: the client could be fed a `code` or
 * `state` the server never sent. Any such separator is refused; a response parameter hidden
 * behind one (or behind percent-encodings, however many) is named. Then the empty query.
 */
function checkQuery(
  url: ParsedUri,
  canonical: string,
  context: PolicyContext,
  kind: ValidationResult,
): ValidationResult {
  const query = url.search.slice(1);
  const names = query
    .replace(/;|&amp;/gi, '&')
    .split('&')
    .flatMap((pair) => {
      const name = (pair.split('=')[0] ?? '').replace(/\+/g, ' ');
      return [name, ...decodingStages(name)];
    });
  const hidden = names.find((name) => RESPONSE_PARAMETERS.has(name.toLowerCase()));
  if (hidden !== undefined) {
    return fail(
      ValidationCode.ResponseParameterInQuery,
      `The query hides "${hidden}", a parameter the authorization server adds to the response, behind a ; or &amp; separator or a double percent-encoding that some parsers read; choose another parameter name and separate parameters with & only.`,
    );
  }
  if (OTHER_QUERY_SEPARATOR.test(query)) {
    return fail(
      ValidationCode.AmbiguousQuery,
      'The query contains a ; or an HTML-escaped &amp;, which some parsers treat as a parameter separator and others do not; separate parameters with & only, and percent-encode a ; in a value as %3B.',
    );
  }
  if (url.search === '' && canonical.includes('?')) {
    return fail(
      ValidationCode.EmptyQuery,
      'The redirect URI ends its path with an empty query (?); remove the ?.',
      acceptedFix(canonical.slice(0, canonical.indexOf('?')), context),
    );
  }
  return kind;
}

function countStars(text: string): number {
  let n = 0;
  for (let i = text.indexOf('*'); i !== -1; i = text.indexOf('*', i + 1)) n++;
  return n;
}

function checkWildcardPlacement(url: ParsedUri, starCount: number): ValidationResult | undefined {
  const leftmostLabel =
    url.protocol === 'https:' &&
    url.hostname.startsWith('*.') &&
    url.href.startsWith(WILDCARD_PREFIX);
  if (starCount === 1 && leftmostLabel) return undefined;
  return fail(
    ValidationCode.WildcardPosition,
    starCount > 1
      ? 'A redirect URI may contain at most one *, as the whole leftmost label of an https host (https://*.preview.example.com/callback).'
      : 'A * may only stand as the whole leftmost label of an https host (https://*.preview.example.com/callback), not in a partial label, a deeper label, the port, the path or the query.',
  );
}

function checkSchemeAndHost(
  url: ParsedUri,
  context: PolicyContext,
  tier: ReturnType<typeof environmentTier>,
  wildcard: boolean,
): ValidationResult {
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https') {
    if (wildcard && context.clientType === 'spa') {
      // A browser app's redirect URIs name the exact origins it runs on, and each is granted CORS
      // at the token, revocation and userinfo endpoints: a pattern would grant it to every host
      // it covers (issue #16). Review apps get their own exact registration.
      return fail(
        ValidationCode.WildcardForSpaClient,
        'Single-page app clients may not use wildcard redirect URIs in any environment: each redirect URI is also an origin allowed to call the token endpoint from a browser; register each exact https redirect URI.',
      );
    }
    if (wildcard) return checkWildcardHost(url, tier);
    if (isLoopbackHost(url.hostname)) return checkLoopback(url, context, tier);
    const other = nonstandardLoopback(url.hostname);
    if (other !== undefined) return other;
    return { ok: true, kind: 'https' };
  }
  if (scheme === 'http') {
    if (isLoopbackHost(url.hostname)) return checkLoopback(url, context, tier);
    const other = nonstandardLoopback(url.hostname);
    if (other !== undefined) return other;
    const secure = acceptedFix(`https${url.href.slice('http'.length)}`, context);
    return fail(
      ValidationCode.HttpNotLoopback,
      `Plain http is allowed only on the loopback hosts 127.0.0.1, [::1] and localhost; use ${secure ?? 'https'}.`,
      secure,
    );
  }
  if (OTHER_SPECIAL_SCHEMES.has(url.protocol)) {
    return fail(
      ValidationCode.UnsupportedScheme,
      `The ${scheme}: scheme cannot receive an authorization response; use https.`,
    );
  }
  // RFC 8252 §7.1: private-use schemes belong to native apps and must be reverse-DNS names of a
  // domain the app's publisher controls, so that two apps do not claim the same scheme.
  if (!isReverseDns(scheme)) {
    return fail(
      ValidationCode.PrivateUseSchemeNotReverseDns,
      `The private-use scheme "${scheme}:" is not the reverse-DNS name of a domain; use one based on a domain you control, such as com.example.${scheme.replace(/[^a-z0-9-]/g, '') || 'app'}:/callback (RFC 8252 §7.1).`,
    );
  }
  if (context.clientType !== 'native') {
    return fail(
      ValidationCode.PrivateUseSchemeForWebClient,
      `Private-use URI schemes are for native clients only; a ${context.clientType === 'spa' ? 'single-page app' : 'web'} client must use an https redirect URI.`,
    );
  }
  return { ok: true, kind: 'private-use-scheme' };
}

/**
 * `com.example.app` is reverse-DNS when its labels are DNS labels and, read backwards, they name a
 * host at or below a registrable domain under a suffix in the Public Suffix List: `x-apple.foo`
 * and `a..b` are not, whatever dots they contain.
 */
function isReverseDns(scheme: string): boolean {
  const labels = scheme.split('.');
  if (
    labels.length < 2 ||
    !labels.every((label) => /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(label))
  )
    return false;
  const host = parseHost(labels.reverse().join('.'), { allowPrivateDomains: true });
  return (
    host.domain !== null && host.domain !== '' && (host.isIcann === true || host.isPrivate === true)
  );
}

function isLoopbackHost(hostname: string): boolean {
  return (LOOPBACK_HOSTS as readonly string[]).includes(hostname);
}

/** Loopback in any other spelling: refused, with the standard spelling to use instead. */
function nonstandardLoopback(hostname: string): ValidationResult | undefined {
  const loopbackName =
    hostname === 'localhost.' ||
    hostname.endsWith('.localhost') ||
    hostname.endsWith('.localhost.');
  const ipv4 = OTHER_IPV4_LOOPBACK.test(hostname);
  const ipv6 =
    hostname.startsWith('[') &&
    (hostname === '[::]' ||
      hostname.startsWith('[::ffff:7f') ||
      /^\[(?:0{1,4}:){7}0{0,3}1\]$/.test(hostname));
  const unspecified = hostname === '0.0.0.0';
  if (!loopbackName && !ipv4 && !ipv6 && !unspecified) return undefined;
  return fail(
    ValidationCode.NonstandardLoopback,
    `The host ${hostname} is a loopback or unspecified address in a non-standard spelling; use exactly 127.0.0.1, [::1] or localhost.`,
  );
}

function checkLoopback(
  url: ParsedUri,
  context: PolicyContext,
  tier: ReturnType<typeof environmentTier>,
): ValidationResult {
  // RFC 8252 §7.3 is about native apps. A web client's server never runs on the user's loopback
  // interface outside a developer's own machine, so elsewhere such a URI hands the code to
  // whatever local process holds the port.
  // A single-page app on loopback is a developer's local build, under the same rule; its port is
  // part of its origin, and matching holds it to the exact port (match.ts).
  if (context.clientType !== 'native' && tier !== 'development') {
    return fail(
      ValidationCode.LoopbackForWebClient,
      `${context.clientType === 'spa' ? 'Single-page app' : 'Web'} clients may use loopback redirect URIs only in the development environment, not in ${context.environment}; register the application's https URI.`,
    );
  }
  // The environment's loopback policy (issue #18): an operator may refuse a host, typically
  // localhost in production (RFC 8252 §8.3).
  const host = url.hostname as LoopbackHost;
  const allowed = context.loopbackHosts;
  if (allowed !== undefined && !loopbackHostAllowed(host, allowed)) {
    const instead = preferredLoopbackHost(allowed);
    const authority = `${url.protocol}//${host}`;
    const fix = acceptedFix(
      `${url.protocol}//${instead}${url.href.slice(authority.length)}`,
      context,
    );
    const reason = loopbackHostReason(host, allowed, context.environment);
    return fail(
      ValidationCode.LoopbackHostNotAllowed,
      `${reason.charAt(0).toUpperCase()}${reason.slice(1)}${fix === undefined ? '' : ` (${fix})`}.`,
      fix,
    );
  }
  return { ok: true, kind: 'loopback' };
}

function checkWildcardHost(
  url: ParsedUri,
  tier: ReturnType<typeof environmentTier>,
): ValidationResult {
  if (tier === 'production') {
    return fail(
      ValidationCode.WildcardInProduction,
      'Wildcard redirect URIs are not allowed in production; register each exact redirect URI.',
    );
  }
  const rest = url.hostname.slice(2);
  const parsed = parseHost(rest, { allowPrivateDomains: true });
  // The rest must be a registrable domain or below one, per the Public Suffix List including its
  // private section: `*.vercel.app` would hand codes to every other tenant of that platform.
  if (
    parsed.isIp === true ||
    parsed.domain === null ||
    parsed.domain === '' ||
    rest === parsed.publicSuffix
  ) {
    return fail(
      ValidationCode.WildcardPublicSuffix,
      `The wildcard sits directly above "${rest}", which is a public suffix or not a registrable domain; put it below a domain you control, such as https://*.preview.${parsed.domain ?? 'example.com'}/callback.`,
    );
  }
  if (/(?:^|\.)localhost\.?$/.test(rest)) {
    return fail(
      ValidationCode.NonstandardLoopback,
      `Every name below ${rest} resolves to this machine's loopback interface, so a wildcard there is a loopback redirect in disguise; register an exact loopback URI on 127.0.0.1 instead.`,
    );
  }
  return { ok: true, kind: 'wildcard' };
}

/** Short reasons why `raw` is not canonical, for the message. */
function canonicalHint(raw: string, canonical: string): string {
  const reasons: string[] = [];
  /* eslint-disable no-control-regex -- control characters are exactly what is looked for */
  if (/[\t\n\r]/.test(raw) || /^[\x00-\x20]|[\x00-\x20]$/.test(raw)) {
    reasons.push('it contains whitespace or control characters');
  } else if (/[^\x21-\x7e]/.test(raw.replace(/[\u0080-\uffff]/g, ''))) {
    reasons.push('it contains characters that must be percent-encoded');
  }
  /* eslint-enable no-control-regex */
  if (raw.includes('\\')) reasons.push('it contains backslashes');
  const host = rawHost(raw) ?? '';
  if (/[A-Z]/.test((rawScheme(raw) ?? '') + host))
    reasons.push('the scheme or host has upper-case letters');
  if (/[\u0080-\uffff]/.test(host)) reasons.push('the host has non-ASCII characters');
  const canonicalHost = rawHost(canonical) ?? '';
  if (/^(?:\d+\.){3}\d+$|^\[/.test(canonicalHost) && host.toLowerCase() !== canonicalHost) {
    reasons.push('the IP address is not written in its standard form');
  }
  if (/^https:\/\/[^/?#]*:443(?:[/?#]|$)|^http:\/\/[^/?#]*:80(?:[/?#]|$)/i.test(raw)) {
    reasons.push('it names the default port');
  }
  if (canonical === `${raw}/`) reasons.push('an origin needs a trailing /');
  if (
    /(?:^|\/)(?:\.|%2e){1,2}(?:[/?#]|$)/i.test(raw.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, ''))
  ) {
    reasons.push('the path has dot segments');
  }
  return reasons.length === 0
    ? 'it differs from its WHATWG URL serialisation'
    : reasons.join(', and ');
}
