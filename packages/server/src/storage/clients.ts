import type { Kysely, Selectable } from 'kysely';
import { shownText } from '../pages/shown-text.js';
import type { GrantType } from '../protocol.js';
import { redirectRegistrationStore, type Provenance } from './redirect-registrations.js';
import type { ClientTable, Database } from './schema.js';

// A client's grant types are named in the protocol module; re-exported with the Client that holds them.
export type { GrantType };

/**
 * `web`: confidential, authenticates at the token endpoint. `native`: public, an app on a device
 * (RFC 8252). `spa`: public, a browser app on an https origin (issue #16: CORS for its redirect
 * URIs' exact origins, refresh tokens rotated and short-lived).
 */
export type ClientType = 'web' | 'native' | 'spa';
/** RFC 7591 §2 `token_endpoint_auth_method` values this server implements. */
export type TokenEndpointAuthMethod =
  'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
/** ID token signing algorithms (OIDC Registration §2 `id_token_signed_response_alg`). */
export type IdTokenAlg = 'RS256' | 'ES256';
/** How a client came to exist; dynamic and metadata-document clients are marked everywhere. */
export type ClientKind = 'registered' | 'dynamic' | 'metadata_document';

export interface Client {
  readonly clientId: string;
  readonly environment: string;
  readonly name: string;
  readonly type: ClientType;
  /** SHA-256 of the secret; null for native (public) clients. */
  readonly secretHash: string | null;
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly GrantType[];
  readonly skipConsent: boolean;
  /** Redirect URI -> when it stops matching (ms). URIs not listed never expire. */
  readonly redirectUriExpiries: Readonly<Record<string, number>>;
  /** The declarative-file key that manages this client, or null when managed by hand. */
  readonly managedBy: string | null;
  /** `<environment>/<client_id>` this client was promoted from. */
  readonly promotedFrom: string | null;
  readonly kind: ClientKind;
  /** RFC 7591 metadata beyond the columns (client_uri, application_type...): client-supplied. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** SHA-256 of the RFC 7592 registration access token. */
  readonly registrationTokenHash: string | null;
  /** When the metadata document was fetched (metadata-document clients). */
  readonly fetchedAt: number | null;
  /** RFC 8707 resources this client may ask for; null: any the environment allows. */
  readonly allowedResources: readonly string[] | null;
  /** Audiences this client may obtain by token exchange (RFC 8693); null: none. */
  readonly exchangeAudiences: readonly string[] | null;
  /**
   * The scopes this client may be granted without a resource (client_credentials, RFC 6749 §4.4
   * and §3.3); empty: none. With a resource, the resource's registration decides.
   */
  readonly scopes: readonly string[];
  // Issue #16 (migration 0013). Optional so a client built in code may leave them out; absent
  // means the default given on each.
  /** Absent or null: RS256, the OIDC Core default. */
  readonly idTokenSignedResponseAlg?: IdTokenAlg | null;
  /** RP-Initiated Logout §3.1; matched by the redirect policy like redirect URIs. Default none. */
  readonly postLogoutRedirectUris?: readonly string[];
  /** Back-Channel Logout §2.2. */
  readonly backchannelLogoutUri?: string | null;
  /** RFC 7591 `jwks`: the client's public keys, for private_key_jwt. */
  readonly jwks?: { readonly keys: readonly Record<string, unknown>[] } | null;
  /** RFC 7591 `jwks_uri`, fetched through the SSRF-guarded fetcher. */
  readonly jwksUri?: string | null;
  /** Absent or null: implied by the type (`client_secret_basic`/`_post`, or `none` when public). */
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod | null;
  /** RFC 9126 §6 `require_pushed_authorization_requests`. Default false. */
  readonly requirePar?: boolean;
  /** OAuth 2.1 §7.5.1 exception: a confidential client sending `nonce` may omit PKCE. Default false. */
  readonly pkceExemptWithNonce?: boolean;
  /** RFC 9449: token requests must carry a DPoP proof. Default false. */
  readonly requireDpop?: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * Whether the token endpoint cannot prove who this client is: a public client
 * (`token_endpoint_auth_method` `none`), whatever made it (a registered native client, one that
 * registered itself, one described by a metadata document). Anyone can use its `client_id`, so
 * RFC 8252 §8.6 has a request for it treated as if nothing had been approved before.
 */
export function isPublicClient(client: Pick<Client, 'type'>): boolean {
  return client.type === 'native' || client.type === 'spa';
}

/** The redirect URIs that may match at `now`: expired ones never do, even before clean-up. */
export function activeRedirectUris(client: Client, now: number): readonly string[] {
  return client.redirectUris.filter((uri) => {
    const expiresAt = client.redirectUriExpiries[uri];
    return expiresAt === undefined || expiresAt > now;
  });
}

export interface ClientChanges {
  readonly name?: string;
  readonly redirectUris?: readonly string[];
  readonly grantTypes?: readonly GrantType[];
  readonly skipConsent?: boolean;
  readonly secretHash?: string | null;
  readonly redirectUriExpiries?: Readonly<Record<string, number>>;
  readonly managedBy?: string | null;
  readonly promotedFrom?: string | null;
  readonly type?: ClientType;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly registrationTokenHash?: string | null;
  readonly fetchedAt?: number | null;
  readonly allowedResources?: readonly string[] | null;
  readonly exchangeAudiences?: readonly string[] | null;
  readonly scopes?: readonly string[];
  readonly idTokenSignedResponseAlg?: IdTokenAlg | null;
  readonly postLogoutRedirectUris?: readonly string[];
  readonly backchannelLogoutUri?: string | null;
  readonly jwks?: { readonly keys: readonly Record<string, unknown>[] } | null;
  readonly jwksUri?: string | null;
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod | null;
  readonly requirePar?: boolean;
  readonly pkceExemptWithNonce?: boolean;
  readonly requireDpop?: boolean;
}

export interface ClientStore {
  get(environment: string, clientId: string): Promise<Client | undefined>;
  list(environment: string): Promise<Client[]>;
  /** How many there are, counted by the database (an installation may have millions). */
  count(environment: string): Promise<number>;
  /** The clients with a redirect URI that expires: few, read without loading every client. */
  listWithExpiringRedirectUris(environment: string): Promise<Client[]>;
  /** The clients of one type (the spa clients, whose origins CORS serves): few, read alone. */
  listOfType(environment: string, type: ClientType): Promise<Client[]>;
  /**
   * `provenance` says who registers the client's redirect and post-logout URIs, and how: the
   * redirect inventory (redirect_registrations) follows every write of those lists.
   */
  create(client: Client, provenance?: Provenance): Promise<void>;
  /** Returns the updated client, or undefined when it does not exist. */
  update(
    environment: string,
    clientId: string,
    changes: ClientChanges,
    at: number,
    provenance?: Provenance,
  ): Promise<Client | undefined>;
  delete(environment: string, clientId: string): Promise<boolean>;
  /**
   * Replaces the redirect URIs only if they are still `expected`: of several processes doing the
   * same clean-up, exactly one succeeds (and writes the audit entry).
   */
  replaceRedirectUrisIf(
    environment: string,
    clientId: string,
    expected: readonly string[],
    next: readonly string[],
    expiries: Readonly<Record<string, number>>,
    at: number,
  ): Promise<boolean>;
}

/** For a write whose caller did not say who registers: shown as "unknown" in the inventory. */
export const UNKNOWN_PROVENANCE: Provenance = { actor: 'system', channel: 'unknown' };

function jsonList(text: string | null): string[] | null {
  return text === null ? null : (JSON.parse(text) as string[]);
}

function listOrNull(list: readonly string[] | null): string | null {
  return list === null ? null : JSON.stringify(list);
}

function toClient(row: Selectable<ClientTable>): Client {
  return {
    clientId: row.client_id,
    environment: row.environment,
    // A name stored before names were checked may still hold a bidirectional override.
    name: shownText(row.name),
    type: row.type as ClientType,
    secretHash: row.secret_hash,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    grantTypes: JSON.parse(row.grant_types) as GrantType[],
    skipConsent: row.skip_consent === 1,
    redirectUriExpiries: JSON.parse(row.redirect_uri_expiries) as Record<string, number>,
    managedBy: row.managed_by,
    promotedFrom: row.promoted_from,
    kind: row.kind as ClientKind,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    registrationTokenHash: row.registration_token_hash,
    fetchedAt: row.fetched_at,
    allowedResources: jsonList(row.allowed_resources),
    exchangeAudiences: jsonList(row.exchange_audiences),
    scopes: JSON.parse(row.scopes) as string[],
    idTokenSignedResponseAlg: row.id_token_signed_response_alg as IdTokenAlg | null,
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    backchannelLogoutUri: row.backchannel_logout_uri,
    jwks: row.jwks === null ? null : (JSON.parse(row.jwks) as NonNullable<Client['jwks']>),
    jwksUri: row.jwks_uri,
    tokenEndpointAuthMethod: row.token_endpoint_auth_method as TokenEndpointAuthMethod | null,
    requirePar: row.require_par === 1,
    pkceExemptWithNonce: row.pkce_exempt_with_nonce === 1,
    requireDpop: row.require_dpop === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function clientStore(db: Kysely<Database>): ClientStore {
  const registrations = redirectRegistrationStore(db);
  /** The inventory's rows follow the lists just written (a statement each; see sync). */
  const syncRegistrations = async (
    environment: string,
    clientId: string,
    lists: { redirectUris?: readonly string[]; postLogoutRedirectUris?: readonly string[] },
    provenance: Provenance,
    at: number,
  ): Promise<void> => {
    const written = [
      ['redirect', lists.redirectUris],
      ['post_logout', lists.postLogoutRedirectUris],
    ] as const;
    for (const [kind, uris] of written)
      if (uris !== undefined)
        await registrations.sync(environment, clientId, kind, uris, provenance, at);
  };
  const get = async (environment: string, clientId: string): Promise<Client | undefined> => {
    const row = await db
      .selectFrom('clients')
      .selectAll()
      .where('environment', '=', environment)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return row === undefined ? undefined : toClient(row);
  };
  return {
    get,
    async list(environment) {
      const rows = await db
        .selectFrom('clients')
        .selectAll()
        .where('environment', '=', environment)
        .orderBy('created_at')
        .execute();
      return rows.map(toClient);
    },
    async count(environment) {
      const row = await db
        .selectFrom('clients')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('environment', '=', environment)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async listWithExpiringRedirectUris(environment) {
      // Written by JSON.stringify only, so a client without expiries holds exactly '{}'.
      const rows = await db
        .selectFrom('clients')
        .selectAll()
        .where('environment', '=', environment)
        .where('redirect_uri_expiries', '<>', '{}')
        .execute();
      return rows.map(toClient);
    },
    async listOfType(environment, type) {
      const rows = await db
        .selectFrom('clients')
        .selectAll()
        .where('environment', '=', environment)
        .where('type', '=', type)
        .execute();
      return rows.map(toClient);
    },
    async create(client, provenance = UNKNOWN_PROVENANCE) {
      await db
        .insertInto('clients')
        .values({
          client_id: client.clientId,
          environment: client.environment,
          name: client.name,
          type: client.type,
          secret_hash: client.secretHash,
          redirect_uris: JSON.stringify(client.redirectUris),
          grant_types: JSON.stringify(client.grantTypes),
          skip_consent: client.skipConsent ? 1 : 0,
          redirect_uri_expiries: JSON.stringify(client.redirectUriExpiries),
          managed_by: client.managedBy,
          promoted_from: client.promotedFrom,
          kind: client.kind,
          metadata: JSON.stringify(client.metadata),
          registration_token_hash: client.registrationTokenHash,
          fetched_at: client.fetchedAt,
          allowed_resources: listOrNull(client.allowedResources),
          exchange_audiences: listOrNull(client.exchangeAudiences),
          scopes: JSON.stringify(client.scopes),
          id_token_signed_response_alg: client.idTokenSignedResponseAlg ?? null,
          post_logout_redirect_uris: JSON.stringify(client.postLogoutRedirectUris ?? []),
          backchannel_logout_uri: client.backchannelLogoutUri ?? null,
          jwks: client.jwks == null ? null : JSON.stringify(client.jwks),
          jwks_uri: client.jwksUri ?? null,
          token_endpoint_auth_method: client.tokenEndpointAuthMethod ?? null,
          require_par: client.requirePar === true ? 1 : 0,
          pkce_exempt_with_nonce: client.pkceExemptWithNonce === true ? 1 : 0,
          require_dpop: client.requireDpop === true ? 1 : 0,
          created_at: client.createdAt,
          updated_at: client.updatedAt,
        })
        .execute();
      await syncRegistrations(
        client.environment,
        client.clientId,
        {
          redirectUris: client.redirectUris,
          postLogoutRedirectUris: client.postLogoutRedirectUris ?? [],
        },
        provenance,
        client.createdAt,
      );
    },
    async update(environment, clientId, changes, at, provenance = UNKNOWN_PROVENANCE) {
      const result = await db
        .updateTable('clients')
        .set({
          updated_at: at,
          ...(changes.name === undefined ? {} : { name: changes.name }),
          ...(changes.redirectUris === undefined
            ? {}
            : { redirect_uris: JSON.stringify(changes.redirectUris) }),
          ...(changes.grantTypes === undefined
            ? {}
            : { grant_types: JSON.stringify(changes.grantTypes) }),
          ...(changes.skipConsent === undefined
            ? {}
            : { skip_consent: changes.skipConsent ? 1 : 0 }),
          ...(changes.secretHash === undefined ? {} : { secret_hash: changes.secretHash }),
          ...(changes.redirectUriExpiries === undefined
            ? {}
            : { redirect_uri_expiries: JSON.stringify(changes.redirectUriExpiries) }),
          ...(changes.managedBy === undefined ? {} : { managed_by: changes.managedBy }),
          ...(changes.promotedFrom === undefined ? {} : { promoted_from: changes.promotedFrom }),
          ...(changes.type === undefined ? {} : { type: changes.type }),
          ...(changes.metadata === undefined ? {} : { metadata: JSON.stringify(changes.metadata) }),
          ...(changes.registrationTokenHash === undefined
            ? {}
            : { registration_token_hash: changes.registrationTokenHash }),
          ...(changes.fetchedAt === undefined ? {} : { fetched_at: changes.fetchedAt }),
          ...(changes.allowedResources === undefined
            ? {}
            : { allowed_resources: listOrNull(changes.allowedResources) }),
          ...(changes.exchangeAudiences === undefined
            ? {}
            : { exchange_audiences: listOrNull(changes.exchangeAudiences) }),
          ...(changes.scopes === undefined ? {} : { scopes: JSON.stringify(changes.scopes) }),
          ...(changes.idTokenSignedResponseAlg === undefined
            ? {}
            : { id_token_signed_response_alg: changes.idTokenSignedResponseAlg }),
          ...(changes.postLogoutRedirectUris === undefined
            ? {}
            : { post_logout_redirect_uris: JSON.stringify(changes.postLogoutRedirectUris) }),
          ...(changes.backchannelLogoutUri === undefined
            ? {}
            : { backchannel_logout_uri: changes.backchannelLogoutUri }),
          ...(changes.jwks === undefined
            ? {}
            : { jwks: changes.jwks === null ? null : JSON.stringify(changes.jwks) }),
          ...(changes.jwksUri === undefined ? {} : { jwks_uri: changes.jwksUri }),
          ...(changes.tokenEndpointAuthMethod === undefined
            ? {}
            : { token_endpoint_auth_method: changes.tokenEndpointAuthMethod }),
          ...(changes.requirePar === undefined ? {} : { require_par: changes.requirePar ? 1 : 0 }),
          ...(changes.pkceExemptWithNonce === undefined
            ? {}
            : { pkce_exempt_with_nonce: changes.pkceExemptWithNonce ? 1 : 0 }),
          ...(changes.requireDpop === undefined
            ? {}
            : { require_dpop: changes.requireDpop ? 1 : 0 }),
        })
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return undefined;
      await syncRegistrations(environment, clientId, changes, provenance, at);
      return get(environment, clientId);
    },
    async replaceRedirectUrisIf(environment, clientId, expected, next, expiries, at) {
      const result = await db
        .updateTable('clients')
        .set({
          redirect_uris: JSON.stringify(next),
          redirect_uri_expiries: JSON.stringify(expiries),
          updated_at: at,
        })
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .where('redirect_uris', '=', JSON.stringify(expected))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      // Only removals happen here (expiry), so the provenance is never written.
      await syncRegistrations(
        environment,
        clientId,
        { redirectUris: next },
        UNKNOWN_PROVENANCE,
        at,
      );
      return true;
    },
    async delete(environment, clientId) {
      const result = await db
        .deleteFrom('clients')
        .where('environment', '=', environment)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      await registrations.forgetClient(environment, clientId);
      return Number(result.numDeletedRows) === 1;
    },
  };
}
