/**
 * What a verified token tells the application. The shape is exactly the MCP TypeScript SDK's
 * `AuthInfo` (`@modelcontextprotocol/sdk/server/auth/types.js`), so `req.auth` set here is what
 * `StreamableHTTPServerTransport` hands to tool handlers as `extra.authInfo`.
 */
export interface AuthInfo {
  /** The access token itself, for calling further APIs on the user's behalf (token exchange). */
  token: string;
  /** RFC 9068 §2.2 `client_id`: the client the token was issued to. */
  clientId: string;
  /** The granted scopes (the `scope` claim, split on spaces). */
  scopes: string[];
  /** `exp`, in seconds since the epoch. */
  expiresAt?: number;
  /** This resource (RFC 8707), which the token's `aud` was checked to contain. */
  resource?: URL;
  /** `{ subject, issuer, claims }`: the `sub`, the `iss` and every claim of the token. */
  extra?: Record<string, unknown>;
}
