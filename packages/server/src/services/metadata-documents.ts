import {
  LOOPBACK_HOSTS,
  validateRedirectUri,
  type ClientType as PolicyClientType,
} from '@gatehouse/redirect-policy';
import { AttemptLimiter } from './attempt-limiter.js';
import { DocumentFetchError, type DocumentFetcher } from '../net/document-fetcher.js';
import type { Client, ClientType, GrantType } from '../storage/clients.js';
import { checkClientSettings, settingsOf, type ClientSettings } from './client-settings.js';
import { auditedSettings } from './clients.js';
import { checkClientName } from './client-name.js';
import { InputError } from './input-error.js';
import { redirectPolicyFor } from './redirect-checks.js';
import type { Environment } from '../storage/environments.js';
import type { Stores } from '../storage/index.js';
import type { Provenance } from '../storage/redirect-registrations.js';

/** Why a metadata-document client cannot be used: one line for an operator, no document text. */
export class MetadataDocumentError extends Error {
  override readonly name = 'MetadataDocumentError';
}

/** A client_id that names a Client ID Metadata Document rather than a registration. */
export function isDocumentClientId(clientId: string): boolean {
  return clientId.startsWith('https://') || clientId.startsWith('http://');
}

const CACHE_TTL_MS = 5 * 60_000;
const REFUSAL_TTL_MS = 60_000;
const CACHE_ENTRIES = 500;
/** Its publisher registers a document client's redirect URIs, by publishing them. */
const METADATA_DOCUMENT: Provenance = { actor: 'system', channel: 'metadata_document' };
const DOCUMENT_GRANTS: readonly GrantType[] = ['authorization_code', 'refresh_token'];

/**
 * Checks the client_id URL itself (Client ID Metadata Document draft §3): https with a path, no
 * fragment, userinfo or dot segments; http only to loopback where the environment allows it.
 */
function documentUrl(clientId: string, environment: Environment): URL {
  if (clientId.length > 2048) throw new MetadataDocumentError('the client_id URL is too long');
  if (!URL.canParse(clientId)) throw new MetadataDocumentError('the client_id is not a URL');
  const url = new URL(clientId);
  const loopbackAllowed = environment.tier === 'development' && environment.allowLoopbackDocuments;
  if (
    url.protocol === 'http:' &&
    !(loopbackAllowed && LOOPBACK_HOSTS.includes(url.hostname as never))
  )
    throw new MetadataDocumentError('a metadata-document client_id must be an https URL');
  if (url.href !== clientId)
    throw new MetadataDocumentError('the client_id URL is not in canonical form');
  if (url.pathname === '/' || url.pathname === '')
    throw new MetadataDocumentError('the client_id URL must have a path');
  if (url.hash !== '' || url.username !== '' || url.password !== '')
    throw new MetadataDocumentError('the client_id URL must not have a fragment or userinfo');
  if (/\/\.\.?(\/|$)/.test(url.pathname))
    throw new MetadataDocumentError('the client_id URL must not have dot segments');
  return url;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

/** Loopback or private-use redirects mean an application on the user's machine. */
function looksNative(redirectUris: readonly string[]): boolean {
  return redirectUris.every((uri) => uri.startsWith('http://') || !uri.startsWith('https://'));
}

interface ParsedDocument {
  /** `native` (public), or `web` for a client that authenticates with its keys. */
  readonly type: ClientType;
  readonly settings: ClientSettings;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly GrantType[];
  readonly applicationType: PolicyClientType;
  readonly metadata: Record<string, unknown>;
}

/** Validates a fetched document; the policy decides its redirect URIs like any client's. */
function parseDocument(
  document: unknown,
  clientId: string,
  environment: Environment,
): ParsedDocument {
  if (!isObject(document))
    throw new MetadataDocumentError('the metadata document is not a JSON object');
  if (document.client_id !== clientId)
    throw new MetadataDocumentError("the metadata document's client_id differs from its URL");
  if ('client_secret' in document || 'client_secret_expires_at' in document)
    throw new MetadataDocumentError('a metadata document must not carry a client secret');
  // No secret can be agreed with a client nobody registered: public, or its own keys
  // (private_key_jwt with jwks or jwks_uri, where MCP clients publish them).
  const method = document.token_endpoint_auth_method ?? 'none';
  if (method !== 'none' && method !== 'private_key_jwt')
    throw new MetadataDocumentError(
      'a metadata-document client has no secret: token_endpoint_auth_method must be none or private_key_jwt',
    );
  const redirectUris = stringList(document.redirect_uris);
  if (redirectUris === undefined || redirectUris.length === 0 || redirectUris.length > 20)
    throw new MetadataDocumentError('the metadata document needs 1 to 20 redirect_uris');
  const grants = stringList(document.grant_types) ?? ['authorization_code'];
  if (grants.some((g) => !(DOCUMENT_GRANTS as readonly string[]).includes(g)))
    throw new MetadataDocumentError(
      'a metadata document may ask only for authorization_code and refresh_token',
    );
  const responseTypes = stringList(document.response_types) ?? ['code'];
  if (responseTypes.some((r) => r !== 'code'))
    throw new MetadataDocumentError('a metadata document may ask only for response_type code');
  const applicationType =
    document.application_type === 'web' || document.application_type === 'native'
      ? document.application_type
      : looksNative(redirectUris)
        ? 'native'
        : 'web';
  // The environment's policy, its loopback hosts included (issue #18), as for every other
  // entry point (redirect-checks.ts).
  const policy = redirectPolicyFor(environment, applicationType);
  for (const uri of redirectUris) {
    const verdict = validateRedirectUri(uri, policy);
    if (!verdict.ok)
      throw new MetadataDocumentError(
        `the document's redirect URI ${uri} is refused: ${verdict.message}`,
      );
  }
  const postLogoutRedirectUris = stringList(document.post_logout_redirect_uris) ?? [];
  // Post-logout redirects are held to the policy of the document's redirect URIs too.
  for (const uri of postLogoutRedirectUris) {
    const verdict = validateRedirectUri(uri, policy);
    if (!verdict.ok)
      throw new MetadataDocumentError(
        `the document's post-logout redirect URI ${uri} is refused: ${verdict.message}`,
      );
  }
  const type: ClientType = method === 'private_key_jwt' ? 'web' : 'native';
  const settings = settingsOf({
    postLogoutRedirectUris,
    jwks: (document.jwks ?? null) as ClientSettings['jwks'],
    jwksUri: typeof document.jwks_uri === 'string' ? document.jwks_uri : null,
    tokenEndpointAuthMethod: method === 'private_key_jwt' ? 'private_key_jwt' : null,
    idTokenSignedResponseAlg:
      typeof document.id_token_signed_response_alg === 'string'
        ? (document.id_token_signed_response_alg as ClientSettings['idTokenSignedResponseAlg'])
        : null,
    // RFC 9126 §6: a client that says it starts authorization requests only by PAR is held to
    // it (endpoints/authorize/steps/check-par-required.ts); ignoring it would serve the
    // front-channel requests it asked to have refused.
    requirePar: document.require_pushed_authorization_requests === true,
    // RFC 9449 §5.2: likewise a client that says it always sends DPoP proofs is held to it.
    requireDpop: document.dpop_bound_access_tokens === true,
  });
  if (document.jwks_uri !== undefined && typeof document.jwks_uri !== 'string')
    throw new MetadataDocumentError("the document's jwks_uri is not a string");
  if (
    document.require_pushed_authorization_requests !== undefined &&
    typeof document.require_pushed_authorization_requests !== 'boolean'
  )
    throw new MetadataDocumentError(
      "the document's require_pushed_authorization_requests is not a boolean",
    );
  if (
    document.dpop_bound_access_tokens !== undefined &&
    typeof document.dpop_bound_access_tokens !== 'boolean'
  )
    throw new MetadataDocumentError("the document's dpop_bound_access_tokens is not a boolean");
  try {
    checkClientSettings(environment, type, settings);
  } catch (error) {
    if (error instanceof InputError)
      throw new MetadataDocumentError(`the metadata document is refused: ${error.message}`);
    throw error;
  }
  const rawName = typeof document.client_name === 'string' ? document.client_name.trim() : '';
  let name: string;
  try {
    name = rawName === '' ? new URL(clientId).hostname : checkClientName(rawName.slice(0, 100));
  } catch (error) {
    if (error instanceof InputError)
      throw new MetadataDocumentError(`the metadata document is refused: ${error.message}`);
    throw error;
  }
  const clientUri =
    typeof document.client_uri === 'string' && document.client_uri.startsWith('https://')
      ? document.client_uri.slice(0, 2048)
      : undefined;
  return {
    type,
    settings,
    name,
    redirectUris,
    grantTypes: grants as GrantType[],
    applicationType,
    metadata: {
      application_type: applicationType,
      token_endpoint_auth_method: method,
      ...(rawName === '' ? {} : { client_name: name }),
      ...(clientUri === undefined ? {} : { client_uri: clientUri }),
    },
  };
}

/**
 * Resolves `client_id`s that are URLs (Client ID Metadata Documents, the MCP specification's
 * preferred registration): fetched through the SSRF-guarded fetcher, validated, cached in memory
 * within bounds, and kept as a client row (kind `metadata_document`) so tokens, consent, the
 * audit log and the console can refer to it like any other client.
 */
export class MetadataDocumentClients {
  private readonly cache = new Map<string, number>();
  /** Recent refusals, so a bad URL is not fetched again on every request. */
  private readonly refused = new Map<string, { until: number; message: string }>();
  /** One fetch per document at a time, however many requests arrive for it. */
  private readonly inFlight = new Map<string, Promise<Client>>();

  constructor(
    private readonly fetcher: DocumentFetcher,
    private readonly stores: Pick<Stores, 'clients' | 'audit'>,
    private readonly clock: () => number,
    /** Fetches per client address: each unknown URL costs an outbound request. */
    private readonly fetchLimiter: AttemptLimiter = new AttemptLimiter(30, 15 * 60_000),
  ) {}

  /**
   * The client a document URL names, fetched when it is not fresh. `requester` is the address
   * the request came from, for the fetch limit.
   */
  async resolve(environment: Environment, clientId: string, requester = ''): Promise<Client> {
    // Only where the environment allows them explicitly (its `metadataDocuments` setting); the
    // dynamic registration policy does not decide this.
    if (!environment.metadataDocuments)
      throw new MetadataDocumentError(
        `clients that describe themselves are not allowed in ${environment.name}`,
      );
    const url = documentUrl(clientId, environment);
    const now = this.clock();
    const key = `${environment.name} ${clientId}`;
    const existing = await this.stores.clients.get(environment.name, clientId);
    if (existing !== undefined && existing.kind !== 'metadata_document')
      throw new MetadataDocumentError('that client_id belongs to a registered client');
    const fresh = this.cache.get(key);
    if (existing !== undefined && fresh !== undefined && fresh > now) return existing;
    const refusal = this.refused.get(key);
    if (refusal !== undefined && refusal.until > now)
      throw new MetadataDocumentError(refusal.message);
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;

    const limitKey = `documents:${requester}`;
    if (this.fetchLimiter.retryAfter(limitKey, now) > 0)
      throw new MetadataDocumentError(
        'too many metadata documents fetched for this address; try later',
      );
    this.fetchLimiter.fail(limitKey, now);
    const work = this.fetchAndStore(environment, clientId, url, existing, key).finally(() => {
      this.inFlight.delete(key);
    });
    this.inFlight.set(key, work);
    return work;
  }

  private async fetchAndStore(
    environment: Environment,
    clientId: string,
    url: URL,
    existing: Client | undefined,
    key: string,
  ): Promise<Client> {
    const now = this.clock();
    try {
      return await this.fetchAndStoreOnce(environment, clientId, url, existing, key, now);
    } catch (error) {
      if (error instanceof MetadataDocumentError) {
        this.refused.set(key, { until: now + REFUSAL_TTL_MS, message: error.message });
        if (this.refused.size > CACHE_ENTRIES) {
          const oldest = this.refused.keys().next().value;
          if (oldest !== undefined) this.refused.delete(oldest);
        }
      }
      throw error;
    }
  }

  private async fetchAndStoreOnce(
    environment: Environment,
    clientId: string,
    url: URL,
    existing: Client | undefined,
    key: string,
    now: number,
  ): Promise<Client> {
    let document: unknown;
    try {
      document = await this.fetcher.fetchJson(url, {
        allowLoopback: environment.tier === 'development' && environment.allowLoopbackDocuments,
      });
    } catch (error) {
      if (error instanceof DocumentFetchError)
        throw new MetadataDocumentError(
          `the metadata document could not be used: ${error.message}`,
        );
      throw error;
    }
    const parsed = parseDocument(document, clientId, environment);
    const client =
      existing === undefined
        ? await this.create(environment, clientId, parsed, now)
        : await this.refresh(existing, parsed, now);
    this.remember(key, now + CACHE_TTL_MS);
    return client;
  }

  private async create(
    environment: Environment,
    clientId: string,
    parsed: ParsedDocument,
    now: number,
  ) {
    const client: Client = {
      clientId,
      environment: environment.name,
      name: parsed.name,
      type: parsed.type,
      secretHash: null,
      redirectUris: parsed.redirectUris,
      grantTypes: parsed.grantTypes,
      skipConsent: false,
      redirectUriExpiries: {},
      managedBy: null,
      promotedFrom: null,
      kind: 'metadata_document',
      metadata: parsed.metadata,
      registrationTokenHash: null,
      fetchedAt: now,
      allowedResources: null,
      exchangeAudiences: null,
      scopes: [],
      ...parsed.settings,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.stores.clients.create(client, METADATA_DOCUMENT);
    } catch (error) {
      // Another process stored it first: theirs is as good as ours.
      const stored = await this.stores.clients.get(environment.name, clientId);
      if (stored !== undefined) return stored;
      throw error;
    }
    await this.stores.audit.append(
      {
        environment: environment.name,
        type: 'client.metadata_document_resolved',
        actor: 'system',
        clientId,
        data: {
          kind: 'metadata_document',
          redirectUris: parsed.redirectUris,
          name: parsed.name,
          type: parsed.type,
          ...auditedSettings(parsed.settings),
        },
      },
      now,
    );
    return client;
  }

  private async refresh(existing: Client, parsed: ParsedDocument, now: number) {
    const changed =
      existing.name !== parsed.name ||
      JSON.stringify(existing.redirectUris) !== JSON.stringify(parsed.redirectUris) ||
      JSON.stringify(existing.grantTypes) !== JSON.stringify(parsed.grantTypes) ||
      existing.type !== parsed.type ||
      JSON.stringify(settingsOf(existing)) !== JSON.stringify(parsed.settings);
    const updated = await this.stores.clients.update(
      existing.environment,
      existing.clientId,
      {
        name: parsed.name,
        redirectUris: parsed.redirectUris,
        grantTypes: parsed.grantTypes,
        metadata: parsed.metadata,
        type: parsed.type,
        ...parsed.settings,
        fetchedAt: now,
      },
      now,
      METADATA_DOCUMENT,
    );
    if (changed)
      await this.stores.audit.append(
        {
          environment: existing.environment,
          type: 'client.metadata_document_changed',
          actor: 'system',
          clientId: existing.clientId,
          // The document's publisher changed it, not an operator: every change is recorded,
          // its keys and how it authenticates included (a new jwks_uri is a new credential).
          data: {
            before: {
              name: existing.name,
              redirectUris: existing.redirectUris,
              type: existing.type,
              ...auditedSettings(settingsOf(existing)),
            },
            after: {
              name: parsed.name,
              redirectUris: parsed.redirectUris,
              type: parsed.type,
              ...auditedSettings(parsed.settings),
            },
          },
        },
        now,
      );
    return updated ?? existing;
  }

  private remember(key: string, until: number): void {
    this.cache.delete(key);
    this.cache.set(key, until);
    if (this.cache.size > CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}
