import type { AppDeps } from '../http/deps.js';
import type { EnvironmentContext } from '../services/environments.js';
import type { Client } from '../storage/clients.js';

export interface GrantRequest {
  readonly deps: AppDeps;
  readonly ctx: EnvironmentContext;
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
