/** What the token extraction needs of a request, whatever framework it came through. */
export interface BearerRequest {
  /**
   * Every `Authorization` header line the request carried, in order. Take them from the raw
   * headers (`authorizationHeaders(req.rawHeaders)`): Node keeps only the first of duplicate
   * `Authorization` headers in `req.headers`, which would hide a second one.
   */
  readonly authorization: readonly string[];
  /** The request target (path and query), to refuse a token sent in the query. */
  readonly url?: string;
  /** A body the framework has already parsed, to refuse a token sent in it. Never read otherwise. */
  readonly body?: unknown;
  /** The request method, which a DPoP proof's `htm` must name (RFC 9449 §4.3). */
  readonly method?: string;
  /**
   * Every `DPoP` header line, in order (`headerValues(req.rawHeaders, 'dpop')`): a proof is
   * refused when there are two (RFC 9449 §4.3 step 1).
   */
  readonly dpop?: readonly string[];
}

/** The two schemes an access token may come with: RFC 6750 §2.1 and RFC 9449 §7.1. */
export type TokenScheme = 'Bearer' | 'DPoP';

export type AccessTokenExtraction =
  | { readonly ok: true; readonly token: string; readonly scheme: TokenScheme }
  | { readonly ok: false; readonly reason: 'missing' }
  | {
      readonly ok: false;
      readonly reason: 'invalid_request';
      readonly description: string;
      /** The scheme the client used, when it was one of ours: the refusal answers in it. */
      readonly scheme?: TokenScheme;
    };

export type TokenExtraction =
  | { readonly ok: true; readonly token: string }
  /** No bearer credentials at all: RFC 6750 §3.1 says answer without an error code. */
  | { readonly ok: false; readonly reason: 'missing' }
  | { readonly ok: false; readonly reason: 'invalid_request'; readonly description: string };

/** RFC 9110 §11.4 credentials: an auth-scheme token, then (for Bearer) one token68. */
const CREDENTIALS = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/;
/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The values of every `name` line in Node's `rawHeaders` (name, value, name, ...), in order. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === wanted) values.push(rawHeaders[i + 1] ?? '');
  }
  return values;
}

/** The values of the `Authorization` lines in Node's `rawHeaders` (name, value, name, ...). */
export function authorizationHeaders(rawHeaders: readonly string[]): string[] {
  return headerValues(rawHeaders, 'authorization');
}

function queryHasToken(url: string | undefined): boolean {
  if (url === undefined) return false;
  const mark = url.indexOf('?');
  return mark !== -1 && new URLSearchParams(url.slice(mark + 1)).has('access_token');
}

function bodyHasToken(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token');
}

/**
 * The bearer token of a request, from the `Authorization` header only. Pure: it returns what is
 * wrong and never throws for what a client sent. A `DPoP` token counts as no bearer token; see
 * `extractAccessToken` for both schemes.
 */
export function extractBearerToken(request: BearerRequest): TokenExtraction {
  const extracted = extractAccessToken(request);
  if (!extracted.ok) {
    return extracted.reason === 'missing'
      ? extracted
      : { ok: false, reason: 'invalid_request', description: extracted.description };
  }
  if (extracted.scheme !== 'Bearer') return { ok: false, reason: 'missing' };
  return { ok: true, token: extracted.token };
}

/**
 * The access token of a request and its scheme, `Bearer` (RFC 6750 §2.1) or `DPoP` (RFC 9449
 * §7.1), from the `Authorization` header only. Pure, like `extractBearerToken`.
 */
export function extractAccessToken(request: BearerRequest): AccessTokenExtraction {
  // MCP authorization (Token Requirements): access tokens MUST NOT be in the URI query string; RFC
  // 6750 §5.3 warns against it too. A token in the URL is refused outright, not ignored, so the
  // client learns; §2 also forbids sending a token by more than one method.
  if (queryHasToken(request.url))
    return invalid('send the access token in the Authorization header, not in the URL');
  // RFC 6750 §2.2 (form body) is optional; this resource supports only the header (RFC 9728
  // bearer_methods_supported), so a body token is refused the same way.
  if (bodyHasToken(request.body))
    return invalid('send the access token in the Authorization header, not in the body');
  if (request.authorization.length === 0) return { ok: false, reason: 'missing' };
  // RFC 9110 §5.3: Authorization is a singleton field; two would leave it ambiguous which counts.
  if (request.authorization.length > 1) return invalid('send exactly one Authorization header');
  const credentials = CREDENTIALS.exec((request.authorization[0] ?? '').trim());
  if (credentials === null) return invalid('the Authorization header is malformed');
  // RFC 9110 §11.1: the scheme is case-insensitive. Another scheme (Basic...) carries no access
  // token: answered like no token, with the challenge saying what is expected.
  const given = credentials[1]?.toLowerCase();
  const scheme: TokenScheme | undefined =
    given === 'bearer' ? 'Bearer' : given === 'dpop' ? 'DPoP' : undefined;
  if (scheme === undefined) return { ok: false, reason: 'missing' };
  const token = credentials[2] ?? '';
  // RFC 9449 §7.1: the DPoP scheme carries the token as a token68, like Bearer's b64token.
  if (!B64TOKEN.test(token))
    return invalid(`the Authorization header must be "${scheme}" followed by one token`, scheme);
  return { ok: true, token, scheme };
}

function invalid(description: string, scheme?: TokenScheme): AccessTokenExtraction {
  return {
    ok: false,
    reason: 'invalid_request',
    description,
    ...(scheme === undefined ? {} : { scheme }),
  };
}
