import { isScopeToken } from './scopes.js';

/** The error codes of RFC 6750 §3.1. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/**
 * The error codes a `DPoP` challenge may carry: RFC 6750's, and RFC 9449's `invalid_dpop_proof`
 * (§7.1) and `use_dpop_nonce` (§9).
 */
export type DpopErrorCode = BearerErrorCode | 'invalid_dpop_proof' | 'use_dpop_nonce';

export interface BearerChallengeParams {
  /** RFC 9728 §5.1: where the client finds this resource's metadata (and so its issuer). */
  readonly resourceMetadata: string;
  /** Left out when the request carried no token (RFC 6750 §3.1). */
  readonly error?: BearerErrorCode;
  readonly errorDescription?: string;
  /** The scopes needed (RFC 6750 §3): on 403 so the client can step up, on 401 so it asks. */
  readonly scope?: readonly string[];
}

/**
 * RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E, so it never needs
 * an escape. Anything else becomes `?` (and `"` an apostrophe), so a caller's text cannot break
 * the header or smuggle another parameter.
 */
export function sanitizeErrorDescription(text: string): string {
  let out = '';
  for (const char of text) {
    if (char === '"') out += "'";
    else if (char === '\\') out += '/';
    else {
      const code = char.codePointAt(0) ?? 0;
      out += code >= 0x20 && code <= 0x7e ? char : '?';
    }
  }
  return out;
}

/**
 * An RFC 9110 §5.6.4 quoted-string: `"` and `\` escaped. Controls and non-ASCII cannot be sent
 * in a header value at all (Node refuses CR/LF, and obs-text is best not relied on): they become
 * `?`. URLs produced by WHATWG serialisation are plain ASCII, so they pass through unchanged.
 */
export function quotedString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code === 0x09 || (code >= 0x20 && code <= 0x7e)) out += char;
    else out += '?';
  }
  return `${out}"`;
}

/** RFC 9110 §5.6.2 token: what an auth-scheme and an auth-param name are made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * One RFC 9110 §11.6.1 challenge: the scheme, then each given parameter as `name="value"` with
 * the value a quoted-string (§5.6.4), in the order given; undefined values are left out. The one
 * builder of `WWW-Authenticate` values: this package's Bearer challenges and the Gatehouse
 * server's (RFC 6749 §5.2 Basic, RFC 6750 §3 Bearer) are all made here, so no caller's text can
 * break out of a value or add a parameter.
 */
export function authChallenge(
  scheme: string,
  params: Readonly<Record<string, string | undefined>> = {},
): string {
  if (!TOKEN.test(scheme))
    throw new TypeError(
      `an auth-scheme must be a token (RFC 9110 §11.1): ${JSON.stringify(scheme)}`,
    );
  const parts: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!TOKEN.test(name))
      throw new TypeError(
        `an auth-param name must be a token (RFC 9110 §11.2): ${JSON.stringify(name)}`,
      );
    parts.push(`${name}=${quotedString(value)}`);
  }
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(', ')}`;
}

function scopeParam(scope: readonly string[] | undefined): string | undefined {
  if (scope === undefined || scope.length === 0) return undefined;
  const bad = scope.find((s) => !isScopeToken(s));
  if (bad !== undefined)
    throw new TypeError(`scope must hold scope tokens (RFC 6749 §3.3): ${JSON.stringify(bad)}`);
  return scope.join(' ');
}

/**
 * The parameters a Bearer and a DPoP challenge share (RFC 6750 §3, RFC 9449 §7.1 takes them over,
 * RFC 9728 §5.1), in the order sent.
 */
function refusalParams(params: {
  readonly error?: string;
  readonly errorDescription?: string;
  readonly scope?: readonly string[];
  readonly resourceMetadata?: string;
}) {
  return {
    error: params.error,
    error_description:
      params.errorDescription === undefined
        ? undefined
        : sanitizeErrorDescription(params.errorDescription),
    scope: scopeParam(params.scope),
    resource_metadata: params.resourceMetadata,
  };
}

/** The `WWW-Authenticate` value for a refused request (RFC 6750 §3, RFC 9728 §5.1). */
export function bearerChallenge(params: BearerChallengeParams): string {
  return authChallenge('Bearer', refusalParams(params));
}

export interface DpopChallengeParams {
  /**
   * RFC 9449 §7.1 `algs`: the proof signature algorithms accepted, space-separated in the
   * challenge.
   */
  readonly algs: readonly string[];
  /** RFC 9728 §5.1; optional here because the authorization server's userinfo has none. */
  readonly resourceMetadata?: string;
  /** Left out when the request carried no token. */
  readonly error?: DpopErrorCode;
  readonly errorDescription?: string;
  readonly scope?: readonly string[];
  /** For the authorization server's own endpoints (userinfo), as in RFC 6750 §3. */
  readonly realm?: string;
}

/**
 * The `WWW-Authenticate` value asking for a DPoP-bound token and proof (RFC 9449 §7.1):
 * `DPoP error="…", error_description="…", scope="…", resource_metadata="…", algs="ES256 …"`.
 * A server nonce goes in the separate `DPoP-Nonce` header (§9), never here.
 */
export function dpopChallenge(params: DpopChallengeParams): string {
  const bad = params.algs.find((alg) => !TOKEN.test(alg));
  if (bad !== undefined || params.algs.length === 0)
    throw new TypeError(`algs must be a non-empty list of algorithm names: ${JSON.stringify(bad)}`);
  return authChallenge('DPoP', {
    realm: params.realm,
    ...refusalParams(params),
    algs: params.algs.join(' '),
  });
}
