import { authChallenge, sanitizeErrorDescription } from '@gatehouse/resource';
import { OAuthError } from './oauth-error.js';

/**
 * RFC 9449 §5: a DPoP proof at the token endpoint (or the PAR endpoint, §10.1) that is missing
 * where one is required, malformed, or fails a check of §4.3.
 */
export class InvalidDpopProof extends OAuthError {
  constructor(description: string) {
    super('invalid_dpop_proof', description, 400, false);
  }
}

/**
 * RFC 9449 §8: the proof must carry a nonce this server provided; the one to use is in the
 * `DPoP-Nonce` header of this answer (clients such as openid-client retry with it at once).
 */
export class UseDpopNonce extends OAuthError {
  constructor(
    readonly nonce: string,
    description = 'the DPoP proof must carry the nonce sent in the DPoP-Nonce header',
  ) {
    super('use_dpop_nonce', description, 400, false);
  }

  override headers(authorization: string | undefined): Record<string, string> {
    return { ...super.headers(authorization), 'DPoP-Nonce': this.nonce };
  }
}

/** The codes a protected resource answers a DPoP request with (RFC 9449 §7.1, RFC 6750 §3.1). */
export type DpopResourceErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

export interface DpopChallengeOptions {
  readonly realm?: string | undefined;
  /** RFC 9449 §7.1: the proof algorithms accepted, space-separated in `algs`. */
  readonly algs: readonly string[];
  /** With `use_dpop_nonce`: the nonce to use, also sent as `DPoP-Nonce` (RFC 9449 §9). */
  readonly nonce?: string;
}

/**
 * A request to a DPoP-protected endpoint (userinfo) refused, with a `WWW-Authenticate: DPoP`
 * challenge (RFC 9449 §7.1) carrying the code, the description (reduced to what RFC 6750 §3
 * allows) and `algs`.
 */
export class DpopResourceError extends OAuthError {
  constructor(
    code: DpopResourceErrorCode,
    description: string,
    readonly options: DpopChallengeOptions,
  ) {
    super(code, description, code === 'insufficient_scope' ? 403 : 401, false);
  }

  override challenge(): string {
    return authChallenge('DPoP', {
      realm: this.options.realm,
      error: this.code,
      error_description: sanitizeErrorDescription(this.description),
      algs: this.options.algs.join(' '),
    });
  }

  override headers(authorization: string | undefined): Record<string, string> {
    const nonce = this.options.nonce;
    return {
      ...super.headers(authorization),
      ...(nonce === undefined ? {} : { 'DPoP-Nonce': nonce }),
    };
  }
}

/**
 * A request to userinfo without any access token: both schemes are offered (RFC 9449 §7.1, RFC
 * 9110 §11.6.1: several challenges in one header), without an error code (RFC 6750 §3.1).
 */
export class AccessTokenRequired extends OAuthError {
  constructor(readonly options: DpopChallengeOptions) {
    super('invalid_request', 'an access token is required (Bearer or DPoP)', 401, false);
  }

  override challenge(): string {
    return `${authChallenge('Bearer', { realm: this.options.realm })}, ${authChallenge('DPoP', {
      realm: this.options.realm,
      algs: this.options.algs.join(' '),
    })}`;
  }
}
