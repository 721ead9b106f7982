import type { EnvironmentContext } from '../services/environments.js';
import type { Client } from '../storage/clients.js';
import type { DpopProofResult } from '../tokens/dpop-proof.js';
import type { TokenDeps } from '../tokens/issue.js';

export interface GrantRequest {
  /**
   * The stores, the clock and the signer: all a grant uses of the HTTP layer's AppDeps (which
   * satisfies this), named below that layer so that grants do not depend on it.
   */
  readonly deps: TokenDeps;
  readonly requestEnv: EnvironmentContext;
  readonly client: Client;
  readonly params: Record<string, string>;
  /**
   * The request's DPoP proof (RFC 9449 §5), verified by the token endpoint before the grant runs
   * (signature, htm, htu, iat, nonce, jti used once); absent when the request carried none. With
   * it, the access token is bound to `dpop.jkt` (`cnf.jkt`, `token_type: DPoP`).
   */
  readonly dpop?: DpopProofResult;
}

/** The token response body (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  /** RFC 9449 §5.1: `DPoP` for an access token bound to the proof's key. */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
  /** RFC 8693 §2.2.1: the type of the token issued by a token exchange. */
  issued_token_type?: string;
}

/** RFC 9449 §5.1: the token_type of an access token, bound to a DPoP key or not. */
export function tokenTypeOf(dpopJkt: string | undefined): 'Bearer' | 'DPoP' {
  return dpopJkt === undefined ? 'Bearer' : 'DPoP';
}

export type GrantHandler = (grant: GrantRequest) => Promise<TokenResponse>;
