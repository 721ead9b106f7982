/**
 * Stable, machine-readable codes. Callers (the server, the CLI, scripts) branch on these; the
 * messages that accompany them are for people and may change wording between releases.
 */

/** Why `validateRedirectUri` refused a URI. */
export const ValidationCode = {
  /** The string is empty, relative, or not a URL at all. */
  NotAbsolute: 'not_absolute',
  /** Longer than {@link MAX_REDIRECT_URI_LENGTH}. */
  TooLong: 'too_long',
  /** The WHATWG serialisation differs from the string: only the canonical spelling may be registered. */
  NotCanonical: 'not_canonical',
  /** A fragment, even an empty `#` (RFC 6749 §3.1.2). */
  Fragment: 'fragment',
  /** `user:pass@` before the host. */
  Userinfo: 'userinfo',
  /** The query names an OAuth response parameter (`code`, `state`, `iss`, ...). */
  ResponseParameterInQuery: 'response_parameter_in_query',
  /** A `?` with nothing after it. */
  EmptyQuery: 'empty_query',
  /** `..;`-style path parameters or encoded `/`, `\` or NUL in the path, which servers decode differently. */
  AmbiguousPath: 'ambiguous_path',
  /**
   * A percent-encoded `%` that a second decoding turns into `/`, `\`, `.` or NUL (`%252f`,
   * `%252e`, `%25%32%66`): a server or proxy that decodes twice walks out of the registered path.
   */
  DoubleEncodedPath: 'double_encoded_path',
  /**
   * A `;` in the query, or an HTML-escaped `&amp;`: some parsers split parameters on them and
   * others do not, so one part of the stack can see a parameter another part never checked.
   */
  AmbiguousQuery: 'ambiguous_query',
  /** `javascript:`, `data:`, `file:` and other browser-special schemes, in any letter case. */
  ForbiddenScheme: 'forbidden_scheme',
  /** A special scheme other than http/https (`ws:`, `ftp:`). */
  UnsupportedScheme: 'unsupported_scheme',
  /** `http` on a host that is not a loopback host. */
  HttpNotLoopback: 'http_not_loopback',
  /** A loopback address spelled other than `127.0.0.1`, `[::1]` or `localhost` (`127.0.0.2`, `[::ffff:7f00:1]`, `app.localhost`, `0.0.0.0`). */
  NonstandardLoopback: 'nonstandard_loopback',
  /** A loopback host the environment's policy does not allow (an operator refused `localhost`). */
  LoopbackHostNotAllowed: 'loopback_host_not_allowed',
  /** A loopback redirect URI for a web client outside the development environment. */
  LoopbackForWebClient: 'loopback_for_web_client',
  /** A private-use scheme for a web (confidential) client. */
  PrivateUseSchemeForWebClient: 'private_use_scheme_for_web_client',
  /** A private-use scheme that is not reverse-DNS (`myapp:`), RFC 8252 §7.1. */
  PrivateUseSchemeNotReverseDns: 'private_use_scheme_not_reverse_dns',
  /** A `*` anywhere but as the whole leftmost label of an https host, or more than one. */
  WildcardPosition: 'wildcard_position',
  /** A wildcard in the production environment (or an environment treated like it). */
  WildcardInProduction: 'wildcard_in_production',
  /** A wildcard whose remaining host is a public suffix or not below a registrable domain. */
  WildcardPublicSuffix: 'wildcard_public_suffix',
  /**
   * A wildcard for a single-page app (`spa`) client, in any environment: a browser app's redirect
   * URIs are also the exact origins it may call the token endpoint from (CORS).
   */
  WildcardForSpaClient: 'wildcard_for_spa_client',
} as const;
export type ValidationCode = (typeof ValidationCode)[keyof typeof ValidationCode];

/** Why `matchRedirectUri` refused a request. */
export const MatchCode = {
  /** The client has no registered redirect URIs, so nothing can match. */
  NoRegisteredRedirectUris: 'no_registered_redirect_uris',
  /** The request matches none of the registered redirect URIs. */
  RedirectUriMismatch: 'redirect_uri_mismatch',
  /**
   * The request names a loopback host the environment's policy does not allow (an operator
   * refused `localhost`): refused even when a registration made before the policy names it.
   */
  LoopbackHostNotAllowed: 'loopback_host_not_allowed',
} as const;
export type MatchCode = (typeof MatchCode)[keyof typeof MatchCode];

/** Warnings from `lintRedirectUris`: legal, but probably not what the operator wants. */
export const LintCode = {
  /** The same redirect URI (or, for loopback, the same but for the port) registered twice. */
  Duplicate: 'duplicate',
  /** The same URI registered with and without a trailing slash. */
  TrailingSlashPair: 'trailing_slash_pair',
  /** `localhost` where `127.0.0.1` is safer (RFC 8252 §8.3). */
  LocalhostLoopback: 'localhost_loopback',
  /** A port on a loopback URI: it is not enforced, any port matches (RFC 8252 §7.3). */
  LoopbackPortIgnored: 'loopback_port_ignored',
  /** An http loopback URI for a web client: legal in development only, refused once promoted. */
  LoopbackForWebClient: 'loopback_for_web_client',
  /** A wildcard directly below the registrable domain: it covers every subdomain. */
  BroadWildcard: 'broad_wildcard',
  /** An exact URI already covered by a wildcard entry. */
  CoveredByWildcard: 'covered_by_wildcard',
  /** An internationalised (punycode) host label: check it is not a look-alike. */
  InternationalizedHost: 'internationalized_host',
  /** An https URI on an IP address rather than a DNS name. */
  IpAddressHost: 'ip_address_host',
} as const;
export type LintCode = (typeof LintCode)[keyof typeof LintCode];

/**
 * Longest redirect URI accepted for registration. Browsers and servers start truncating around
 * 2 KB; a registration longer than that cannot work reliably and bloats every client lookup.
 */
export const MAX_REDIRECT_URI_LENGTH = 2048;
