import type { EnvironmentContext } from '../services/environments.js';
import type { Client } from '../storage/clients.js';
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
}

/** The token response body (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
  /** RFC 8693 §2.2.1: the type of the token issued by a token exchange. */
  issued_token_type?: string;
}

export type GrantHandler = (grant: GrantRequest) => Promise<TokenResponse>;
