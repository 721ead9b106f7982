import {
  validateRedirectUri,
  type ClientType as PolicyClientType,
} from '@gatehouse/redirect-policy';
import { randomToken, sha256 } from '../crypto/random.js';
import { RegistrationError } from '../errors.js';
import type { Client, GrantType } from '../storage/clients.js';
import type { Environment } from '../storage/environments.js';
import { createClient, deleteClient, updateClient } from './clients.js';
import { literalHostVerdict, type ClientSettings } from './client-settings.js';
import type { ServiceContext } from './context.js';
import { InputError, type InputErrorCode } from './input-error.js';
import { redirectPolicyFor } from './redirect-checks.js';

// The registration errors are in the one catalogue; exported here too for existing importers.
export { RegistrationError, type RegistrationErrorCode } from '../errors.js';

export type AuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
const AUTH_METHODS: readonly AuthMethod[] = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];
/**
 * No client_credentials: a client anyone can register would get machine tokens for every
 * registered resource without a user ever agreeing. Operators register such clients by hand.
 */
const GRANTS: readonly GrantType[] = ['authorization_code', 'refresh_token'];

/** The client metadata Gatehouse registers (RFC 7591 §2); anything else sent is ignored. */
export interface DynamicClientMetadata {
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly GrantType[];
  readonly authMethod: AuthMethod;
  readonly applicationType: PolicyClientType;
  readonly clientName: string | null;
  readonly clientUri: string | null;
  readonly scope: string | null;
  /**
   * The issue #16 settings a client may register (RFC 7591 §2 jwks/jwks_uri, OpenID Connect
   * Registration id_token_signed_response_alg, RP-Initiated Logout post_logout_redirect_uris,
   * Back-Channel Logout backchannel_logout_uri, RFC 9126 §6 PAR). Never the no-PKCE exception:
   * a client that anyone may register does not get to weaken the protections of its users.
   */
  readonly settings: Omit<ClientSettings, 'pkceExemptWithNonce'>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw new RegistrationError('invalid_client_metadata', `${field} must be a list of strings`);
  return value;
}

function optionalString(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max)
    throw new RegistrationError(
      'invalid_client_metadata',
      `${field} must be a string of at most ${max} characters`,
    );
  return value;
}

/**
 * The MCP authorization specification (2026-07-28, Client Registration §Dynamic Client
 * Registration) requires clients that register dynamically to send `application_type`: its
 * OpenID Connect Registration §2 default (`web`) silently held loopback redirects of desktop and
 * CLI clients to the web policy. A registration without it is refused rather than guessed.
 */
function requiredApplicationType(value: unknown): PolicyClientType {
  if (value === undefined || value === null)
    throw new RegistrationError(
      'invalid_client_metadata',
      "application_type is required: native for an application on the user's device (desktop, mobile, CLI, or a local web app reached through localhost), web for one served from a remote host (OpenID Connect Registration §2; MCP authorization 2026-07-28)",
    );
  if (value !== 'web' && value !== 'native')
    throw new RegistrationError(
      'invalid_client_metadata',
      'application_type must be native or web',
    );
  return value;
}

/**
 * OpenID Connect Registration §2: a native client registers only private-use scheme or http
 * loopback redirect URIs. An https redirect URI is a web client's; registered as native by anyone,
 * it would be held to the native policy (loopback ports, no confidential secret expected).
 */
function refuseWebRedirectForNative(
  applicationType: PolicyClientType,
  uri: string,
  kind: string,
): void {
  if (applicationType === 'native' && kind !== 'loopback' && kind !== 'private-use-scheme')
    throw new RegistrationError(
      'invalid_redirect_uri',
      `${uri} is not a redirect URI of a native application: a native client registers http loopback (127.0.0.1, [::1], localhost) or private-use scheme redirect URIs (OpenID Connect Registration §2); register an https redirect URI with application_type web`,
    );
}

/**
 * Reads RFC 7591 §2 client metadata and holds its redirect URIs to the same policy as any
 * client's, chosen by `application_type`, which is required (RFC 7591 defaults:
 * `authorization_code`, `code`, `client_secret_basic`).
 */
export function parseClientMetadata(
  body: unknown,
  environment: Environment,
): DynamicClientMetadata {
  if (!isObject(body))
    throw new RegistrationError(
      'invalid_client_metadata',
      'the request body must be a JSON object',
    );
  const grantTypes = stringList(body.grant_types, 'grant_types') ?? ['authorization_code'];
  if (grantTypes.length === 0 || grantTypes.some((g) => !(GRANTS as readonly string[]).includes(g)))
    throw new RegistrationError(
      'invalid_client_metadata',
      `grant_types may hold ${GRANTS.join(', ')}`,
    );
  const responseTypes = stringList(body.response_types, 'response_types') ?? ['code'];
  if (responseTypes.some((r) => r !== 'code'))
    throw new RegistrationError('invalid_client_metadata', 'response_types may only be code');
  const authMethod = body.token_endpoint_auth_method ?? 'client_secret_basic';
  if (typeof authMethod !== 'string' || !(AUTH_METHODS as readonly string[]).includes(authMethod))
    throw new RegistrationError(
      'invalid_client_metadata',
      `token_endpoint_auth_method may be ${AUTH_METHODS.join(', ')}`,
    );

  const applicationType = requiredApplicationType(body.application_type);
  const redirectUris = stringList(body.redirect_uris, 'redirect_uris') ?? [];
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0)
    throw new RegistrationError(
      'invalid_redirect_uri',
      'redirect_uris is required for authorization_code',
    );
  if (redirectUris.length > 20)
    throw new RegistrationError('invalid_redirect_uri', 'at most 20 redirect_uris');
  // The environment's policy, its loopback hosts included (issue #18), as for every other
  // entry point (redirect-checks.ts).
  const policy = redirectPolicyFor(environment, applicationType);
  for (const uri of redirectUris) {
    const verdict = validateRedirectUri(uri, policy);
    if (!verdict.ok) throw new RegistrationError('invalid_redirect_uri', verdict.message);
    refuseWebRedirectForNative(applicationType, uri, verdict.kind);
  }
  if (new Set(redirectUris).size !== redirectUris.length)
    throw new RegistrationError('invalid_redirect_uri', 'a redirect URI is listed twice');
  const postLogoutRedirectUris =
    stringList(body.post_logout_redirect_uris, 'post_logout_redirect_uris') ?? [];
  // RP-Initiated Logout §3.1: held to the policy of the application type, as redirect URIs are
  // (the client service then checks them for the client's own type too).
  for (const uri of postLogoutRedirectUris) {
    const verdict = validateRedirectUri(uri, policy);
    if (!verdict.ok)
      throw new RegistrationError(
        'invalid_client_metadata',
        `post-logout redirect URI ${uri} refused (${verdict.code}): ${verdict.message}`,
      );
  }
  const clientUri = optionalString(body.client_uri, 'client_uri', 2048);
  if (clientUri !== null && !clientUri.startsWith('https://'))
    throw new RegistrationError('invalid_client_metadata', 'client_uri must be an https URL');
  const requirePar = body.require_pushed_authorization_requests ?? false;
  if (typeof requirePar !== 'boolean')
    throw new RegistrationError(
      'invalid_client_metadata',
      'require_pushed_authorization_requests must be a boolean',
    );
  // RFC 9449 §5.2: a client that will always send DPoP proofs says so, and is then held to it.
  const dpopBound = body.dpop_bound_access_tokens ?? false;
  if (typeof dpopBound !== 'boolean')
    throw new RegistrationError(
      'invalid_client_metadata',
      'dpop_bound_access_tokens must be a boolean',
    );
  if (body.jwks !== undefined && body.jwks !== null && !isObject(body.jwks))
    throw new RegistrationError('invalid_client_metadata', 'jwks must be a JWK Set object');
  // The values themselves are checked by the client service, like any client's.
  const settings: DynamicClientMetadata['settings'] = {
    idTokenSignedResponseAlg: optionalString(
      body.id_token_signed_response_alg,
      'id_token_signed_response_alg',
      10,
    ) as ClientSettings['idTokenSignedResponseAlg'],
    postLogoutRedirectUris,
    backchannelLogoutUri: optionalString(
      body.backchannel_logout_uri,
      'backchannel_logout_uri',
      2048,
    ),
    jwks: (body.jwks ?? null) as ClientSettings['jwks'],
    jwksUri: optionalString(body.jwks_uri, 'jwks_uri', 2048),
    // Only private_key_jwt is recorded as the client's method; the secret methods stay implied
    // by the type (either is accepted) as before, the registered name kept in the metadata.
    tokenEndpointAuthMethod: authMethod === 'private_key_jwt' ? 'private_key_jwt' : null,
    // RFC 9126 §6: an environment that requires PAR requires it of every client whatever the
    // client registers; the answer says so (RFC 7591 §3.2.1: the server may replace values).
    requirePar: requirePar || environment.requirePar,
    // Likewise for DPoP: an environment that requires it requires it of every client.
    requireDpop: dpopBound || environment.requireDpop,
  };
  refuseLoopbackServerUrls(settings, environment);
  return {
    redirectUris,
    grantTypes: grantTypes as GrantType[],
    authMethod: authMethod as AuthMethod,
    applicationType,
    clientName: optionalString(body.client_name, 'client_name', 100),
    clientUri,
    scope: optionalString(body.scope, 'scope', 1000),
    settings,
  };
}

/**
 * A URL this server will request (the back-channel logout POST, the JWK Set fetch) that an
 * anonymous registrant aims at this machine: allowed only where the environment allows loopback
 * documents (a development environment for local tests), as the JWK Set fetcher does. The
 * development tier alone is not enough: every server has a development environment, open to
 * registration by default, and a logout POST to a loopback port is a request to whatever listens
 * there (SSRF). Operators may still register loopback URLs in development for their own receivers.
 */
function refuseLoopbackServerUrls(
  settings: DynamicClientMetadata['settings'],
  environment: Environment,
): void {
  if (environment.tier === 'development' && environment.allowLoopbackDocuments) return;
  const named: [string, string | null][] = [
    ['backchannel_logout_uri', settings.backchannelLogoutUri],
    ['jwks_uri', settings.jwksUri],
  ];
  for (const [field, value] of named) {
    if (value === null || !URL.canParse(value)) continue;
    if (literalHostVerdict(new URL(value).hostname) === 'loopback')
      throw new RegistrationError(
        'invalid_client_metadata',
        `${field} ${value} points at a loopback address: a client registering itself may do that only where the environment allows loopback documents`,
      );
  }
}

function metadataRecord(m: DynamicClientMetadata): Record<string, unknown> {
  return {
    application_type: m.applicationType,
    token_endpoint_auth_method: m.authMethod,
    ...(m.clientName === null ? {} : { client_name: m.clientName }),
    ...(m.clientUri === null ? {} : { client_uri: m.clientUri }),
    ...(m.scope === null ? {} : { scope: m.scope }),
  };
}

/** The registered metadata as RFC 7591 §3.2.1 returns it. */
export function registrationResponse(
  client: Client,
  registrationClientUri: string,
): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_id_issued_at: Math.floor(client.createdAt / 1000),
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    response_types: ['code'],
    ...client.metadata,
    ...registeredSettings(client),
    registration_client_uri: registrationClientUri,
  };
}

/** The settings a client has, by their registration names, where they are not the default. */
function registeredSettings(client: Client): Record<string, unknown> {
  return {
    ...(client.idTokenSignedResponseAlg == null
      ? {}
      : { id_token_signed_response_alg: client.idTokenSignedResponseAlg }),
    ...((client.postLogoutRedirectUris ?? []).length === 0
      ? {}
      : { post_logout_redirect_uris: client.postLogoutRedirectUris }),
    ...(client.backchannelLogoutUri == null
      ? {}
      : { backchannel_logout_uri: client.backchannelLogoutUri }),
    ...(client.jwks == null ? {} : { jwks: client.jwks }),
    ...(client.jwksUri == null ? {} : { jwks_uri: client.jwksUri }),
    ...(client.requirePar === true ? { require_pushed_authorization_requests: true } : {}),
    ...(client.requireDpop === true ? { dpop_bound_access_tokens: true } : {}),
  };
}

/** The refusals about a redirect URI: RFC 7591 §3.2.2 invalid_redirect_uri; any other is metadata. */
const REDIRECT_URI_REFUSALS: ReadonlySet<InputErrorCode> = new Set<InputErrorCode>([
  'duplicate_redirect_uri',
  'redirect_uri_refused',
  'redirect_uri_required',
  'unknown_redirect_uri',
]);

function translate(error: unknown): never {
  if (error instanceof InputError)
    throw new RegistrationError(
      REDIRECT_URI_REFUSALS.has(error.code) ? 'invalid_redirect_uri' : 'invalid_client_metadata',
      error.message,
    );
  throw error;
}

/** The inventory records what a client registers for itself as dynamic registration. */
function asDynamic(ctx: ServiceContext): ServiceContext {
  return { ...ctx, channel: 'dynamic' };
}

/** RFC 7591: registers a client; the secret and registration access token are shown once. */
export async function registerDynamicClient(
  ctx: ServiceContext,
  environment: Environment,
  body: unknown,
): Promise<{ client: Client; clientSecret?: string; registrationAccessToken: string }> {
  const metadata = parseClientMetadata(body, environment);
  const registrationAccessToken = `ghrat_${randomToken(32)}`;
  try {
    const created = await createClient(asDynamic(ctx), {
      environment: environment.name,
      type: metadata.authMethod === 'none' ? 'native' : 'web',
      name: metadata.clientName ?? 'Unnamed application',
      redirectUris: metadata.redirectUris,
      grantTypes: metadata.grantTypes,
      kind: 'dynamic',
      metadata: metadataRecord(metadata),
      registrationTokenHash: sha256(registrationAccessToken),
      ...metadata.settings,
    });
    return created.clientSecret === undefined
      ? { client: created.client, registrationAccessToken }
      : { client: created.client, clientSecret: created.clientSecret, registrationAccessToken };
  } catch (error) {
    return translate(error);
  }
}

/** RFC 7592 §2.2: replaces a dynamic client's metadata. */
export async function updateDynamicClient(
  ctx: ServiceContext,
  environment: Environment,
  client: Client,
  body: unknown,
): Promise<{ client: Client; clientSecret?: string }> {
  if (isObject(body) && body.client_id !== client.clientId)
    throw new RegistrationError(
      'invalid_client_metadata',
      'client_id must be the client being updated',
    );
  const metadata = parseClientMetadata(body, environment);
  const confidential = metadata.authMethod !== 'none';
  if (confidential !== (client.type === 'web'))
    throw new RegistrationError(
      'invalid_client_metadata',
      'token_endpoint_auth_method cannot switch between public and confidential',
    );
  try {
    // RFC 7592 §2.2: the request replaces the registration; absent settings go back to defaults.
    // A switch to or from private_key_jwt ends the secret or issues one (answered once).
    const { client: updated, clientSecret } = await updateClient(
      asDynamic(ctx),
      environment.name,
      client.clientId,
      {
        name: metadata.clientName ?? 'Unnamed application',
        setRedirectUris: metadata.redirectUris,
        grantTypes: metadata.grantTypes,
        metadata: metadataRecord(metadata),
        auditType: 'client.updated_dynamically',
        ...metadata.settings,
      },
    );
    return clientSecret === undefined ? { client: updated } : { client: updated, clientSecret };
  } catch (error) {
    return translate(error);
  }
}

export async function deleteDynamicClient(
  ctx: ServiceContext,
  environment: Environment,
  client: Client,
): Promise<void> {
  await deleteClient(ctx, environment.name, client.clientId);
}

/** RFC 7591 §3: an initial access token for registration where it is protected. Shown once. */
export async function createInitialAccessToken(
  ctx: ServiceContext,
  environment: string,
  lifetimeMs: number,
): Promise<{ token: string; expiresAt: number }> {
  const token = `ghiat_${randomToken(32)}`;
  const now = ctx.clock();
  const expiresAt = now + lifetimeMs;
  await ctx.stores.initialAccessTokens.create(environment, sha256(token), expiresAt, now);
  await ctx.stores.audit.append(
    {
      environment,
      type: 'registration.initial_access_token_created',
      actor: ctx.actor,
      data: { expiresAt },
    },
    now,
  );
  return { token, expiresAt };
}

/** Revokes every initial access token of an environment (one leaked; rotate them all). */
export async function revokeInitialAccessTokens(
  ctx: ServiceContext,
  environment: string,
): Promise<number> {
  const count = await ctx.stores.initialAccessTokens.revokeAll(environment);
  await ctx.stores.audit.append(
    {
      environment,
      type: 'registration.initial_access_tokens_revoked',
      actor: ctx.actor,
      data: { count },
    },
    ctx.clock(),
  );
  return count;
}
