import type {
  Client,
  ClientKind,
  ClientType,
  IdTokenAlg,
  TokenEndpointAuthMethod,
} from '../storage/clients.js';
import type { GrantType } from '../protocol.js';
import { settingsOf } from './client-settings.js';

/**
 * A client as the outside world sees it: the one serialisation of a client. The admin API answers
 * with it (the `Client` component of its OpenAPI document, from which the console's types are
 * generated) and the CLI's `--json` output is derived from it. Never the secret hash, the
 * registration token hash or the client-supplied metadata.
 */
export interface ClientView {
  readonly clientId: string;
  readonly environment: string;
  readonly name: string;
  readonly type: ClientType;
  readonly grantTypes: readonly GrantType[];
  readonly skipConsent: boolean;
  /** Whether a secret is set (web clients); the secret itself is shown once, when issued. */
  readonly hasSecret: boolean;
  /** In registration order; `expiresAt` (ms) for a URI that stops matching at a time. */
  readonly redirectUris: readonly { readonly uri: string; readonly expiresAt: number | null }[];
  readonly managedBy: string | null;
  readonly promotedFrom: string | null;
  readonly kind: ClientKind;
  readonly exchangeAudiences: readonly string[] | null;
  readonly allowedResources: readonly string[] | null;
  /** Scopes it may be granted without a resource (client_credentials); empty: none. */
  readonly scopes: readonly string[];
  /** null: RS256 (OIDC Core's default). */
  readonly idTokenSignedResponseAlg: IdTokenAlg | null;
  readonly postLogoutRedirectUris: readonly string[];
  readonly backchannelLogoutUri: string | null;
  /** Public keys only (private members are refused at registration). */
  readonly jwks: { readonly keys: readonly Record<string, unknown>[] } | null;
  readonly jwksUri: string | null;
  /** null: implied by the type (a secret for web clients, none for public ones). */
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod | null;
  readonly requirePar: boolean;
  /** The OAuth 2.1 §7.5.1 exception: may omit PKCE when it sends a nonce. */
  readonly pkceExemptWithNonce: boolean;
  /** RFC 9449: its token requests must carry a DPoP proof (issue #17). */
  readonly requireDpop: boolean;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

export function clientView(client: Client): ClientView {
  return {
    clientId: client.clientId,
    environment: client.environment,
    name: client.name,
    type: client.type,
    grantTypes: client.grantTypes,
    skipConsent: client.skipConsent,
    hasSecret: client.secretHash !== null,
    redirectUris: client.redirectUris.map((uri) => ({
      uri,
      expiresAt: client.redirectUriExpiries[uri] ?? null,
    })),
    managedBy: client.managedBy,
    promotedFrom: client.promotedFrom,
    kind: client.kind,
    exchangeAudiences: client.exchangeAudiences,
    allowedResources: client.allowedResources,
    scopes: client.scopes,
    // The issue #16 and #17 settings with their defaults, as client-settings.ts reads them.
    ...settingsOf(client),
    createdAt: client.createdAt,
    updatedAt: client.updatedAt,
  };
}
