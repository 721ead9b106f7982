import { createHash } from 'node:crypto';
import { lintRedirectUris, type LintWarning } from '@gatehouse/redirect-policy';
import { newClientId, newClientSecret } from '../crypto/credentials.js';
import {
  DEVICE_CODE_GRANT,
  GRANT_TYPES,
  OIDC_SCOPES,
  TOKEN_EXCHANGE_GRANT,
  type GrantType,
} from '../protocol.js';
import type { Client, ClientKind, ClientType } from '../storage/clients.js';
import { checkClientName } from './client-name.js';
import { provenanceOf, type ServiceContext } from './context.js';
import { requireEnvironment } from './environments.js';
import type { Environment } from '../storage/environments.js';
import { InputError } from './input-error.js';
import { isResourceIndicator, unlinkDeletedClient } from './resources.js';
import { recordRevocation } from './revocation.js';
import { redirectPolicyFor, refusedUris } from './redirect-checks.js';
import {
  checkClientSettings,
  mergeSettings,
  settingsOf,
  usesSecret,
  type ClientSettings,
  type ClientSettingsInput,
} from './client-settings.js';

/**
 * A client to create. The issue #16 and #17 settings (`ClientSettingsInput`:
 * idTokenSignedResponseAlg, postLogoutRedirectUris, backchannelLogoutUri, jwks, jwksUri,
 * tokenEndpointAuthMethod, requirePar, pkceExemptWithNonce, requireDpop) are checked by
 * services/client-settings.ts; `registeredDefaults` gives the defaults that depend on where.
 */
export interface ClientSpec extends ClientSettingsInput {
  readonly environment: string;
  readonly type: ClientType;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly grantTypes?: readonly GrantType[];
  readonly skipConsent?: boolean;
  /** Redirect URI -> expiry (ms) for URIs that must stop matching at a time. */
  readonly redirectUriExpiries?: Readonly<Record<string, number>>;
  readonly managedBy?: string | null;
  readonly promotedFrom?: string | null;
  readonly kind?: ClientKind;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly registrationTokenHash?: string | null;
  /** Dynamic and metadata-document clients bring their own id (a URL, or one made at registration). */
  readonly clientId?: string;
  readonly fetchedAt?: number | null;
  readonly allowedResources?: readonly string[] | null;
  readonly exchangeAudiences?: readonly string[] | null;
  /** Scopes it may be granted without a resource (client_credentials); none when not given. */
  readonly scopes?: readonly string[];
}

export interface CreatedClient {
  readonly client: Client;
  /** The secret, for web clients that use one (not private_key_jwt): shown once, never stored or logged. */
  readonly clientSecret?: string;
  readonly warnings: readonly LintWarning[];
}

// The policy checks live in their own module (client settings use them too); re-exported here
// for their existing importers.
export { redirectPolicyFor, refusedUris, type RefusedUri } from './redirect-checks.js';

/** Redirect URIs go through the policy for this environment and client type; all must pass. */
async function checkRedirectUris(
  ctx: ServiceContext,
  environment: string,
  type: ClientType,
  uris: readonly string[],
  /** Already registered and kept: tolerated when only the loopback policy refuses them. */
  kept: readonly string[] = [],
): Promise<LintWarning[]> {
  const env = await requireEnvironment(ctx, environment);
  const policy = redirectPolicyFor(env, type);
  const refused = refusedUris(policy, uris, kept);
  if (refused.length > 0) {
    const first = refused[0] as (typeof refused)[number];
    throw new InputError(
      refused.length === 1
        ? `redirect URI ${first.uri} refused: ${first.message}`
        : `${refused.length} redirect URIs refused; the first, ${first.uri}: ${first.message}`,
      'redirect_uri_refused',
      refused,
    );
  }
  const duplicates = uris.filter((uri, i) => uris.indexOf(uri) !== i);
  if (duplicates.length > 0)
    throw new InputError(
      `redirect URI ${duplicates[0] ?? ''} is listed twice`,
      'duplicate_redirect_uri',
    );
  return lintRedirectUris(uris, policy);
}

export function checkGrants(
  type: ClientType,
  grants: readonly GrantType[],
  redirectUris: readonly string[],
): void {
  for (const grant of grants) {
    if (!GRANT_TYPES.includes(grant))
      throw new InputError(
        `unknown grant type "${grant}" (use ${GRANT_TYPES.join(', ')})`,
        'invalid_grant_type',
      );
  }
  // A public client cannot authenticate, so it cannot hold credentials of its own (RFC 6749 §4.4).
  if (type !== 'web' && grants.includes('client_credentials')) {
    throw new InputError(
      `${type} clients cannot use client_credentials: they cannot keep a secret`,
      'invalid_grant_type',
    );
  }
  if (grants.includes('authorization_code') && redirectUris.length === 0) {
    throw new InputError(
      'a client using authorization_code needs at least one redirect URI',
      'redirect_uri_required',
    );
  }
  if (
    grants.includes('refresh_token') &&
    !grants.includes('authorization_code') &&
    !grants.includes(DEVICE_CODE_GRANT)
  ) {
    throw new InputError(
      'refresh_token is only issued with authorization_code or the device grant; add one of them',
      'invalid_grant_type',
    );
  }
  // RFC 8628 is for devices and CLIs that cannot receive a redirect: public clients.
  if (type !== 'native' && grants.includes(DEVICE_CODE_GRANT)) {
    throw new InputError('the device grant is for native clients only', 'invalid_grant_type');
  }
  // Delegation is granted to a client that proves who it is at the token endpoint.
  if (type !== 'web' && grants.includes(TOKEN_EXCHANGE_GRANT)) {
    throw new InputError(
      'token exchange is for confidential (web) clients only: they authenticate',
      'invalid_grant_type',
    );
  }
}

/** A list of resource URIs (RFC 8707 §2) for a client setting; null stays null. */
function checkResourceList(
  list: readonly string[] | null,
  what: 'exchange audience' | 'allowed resource',
): readonly string[] | null {
  if (list === null) return null;
  if (list.length > 100) throw new InputError(`at most 100 ${what}s`, 'invalid_resource');
  for (const uri of list)
    if (!isResourceIndicator(uri))
      throw new InputError(
        `${what} "${uri}" is not an absolute URI without a fragment (RFC 8707 §2)`,
        'invalid_resource',
      );
  return [...new Set(list)];
}

/** RFC 6749 §3.3: one scope token (NQCHAR), as a client setting. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,200}$/;

/**
 * The scopes a client may be granted without a resource (client_credentials). The OIDC scopes
 * are about a user, and client_credentials has none: they are refused here as by the grant.
 */
export function checkScopeList(list: readonly string[]): readonly string[] {
  if (list.length > 100) throw new InputError('at most 100 scopes', 'invalid_scope');
  for (const scope of list) {
    if (!SCOPE_TOKEN.test(scope))
      throw new InputError(`"${scope}" is not a scope (RFC 6749 §3.3)`, 'invalid_scope');
    if (OIDC_SCOPES.includes(scope))
      throw new InputError(
        `${scope} is about a user; a client's own scopes cannot include it`,
        'invalid_scope',
      );
  }
  return [...new Set(list)];
}

/** What a new client gets when its grants are not given. */
export function defaultGrantTypes(
  type: ClientType,
  redirectUris: readonly string[],
): readonly GrantType[] {
  return type === 'web' && redirectUris.length === 0
    ? ['client_credentials']
    : type === 'native'
      ? ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT]
      : ['authorization_code', 'refresh_token'];
}

/**
 * The defaults of a client an operator registers (or promotes) that does not say, for settings
 * whose default depends on where it is registered. Dynamically registered and metadata-document
 * clients get neither: their software may not push or send proofs, and they ask for each
 * themselves (`require_pushed_authorization_requests`, `dpop_bound_access_tokens`).
 *
 * - `requirePar` (RFC 9126 §6): on for a confidential (web) client in a production environment,
 *   where the authorization request's parameters then never travel through the browser (RFC 9126
 *   §1: integrity and confidentiality of the request).
 * - `requireDpop` (RFC 9449): on for a public (native or spa) client in a production
 *   environment. It holds no secret, so a token copied from its token file or browser storage is
 *   all a thief needs, unless the token is bound to a key that stays on the device (RFC 9449 §1).
 *   Confidential clients authenticate every token request and are left to choose.
 *
 * Off elsewhere: development and staging stay easy to try. Existing clients keep what they have.
 */
export function registeredDefaults(
  environment: Environment,
  type: ClientType,
): Pick<ClientSettings, 'requirePar' | 'requireDpop'> {
  const production = environment.tier === 'production';
  return {
    requirePar: production && type === 'web',
    requireDpop: production && (type === 'native' || type === 'spa'),
  };
}

export async function createClient(ctx: ServiceContext, spec: ClientSpec): Promise<CreatedClient> {
  const name = checkClientName(spec.name);
  const grantTypes = spec.grantTypes ?? defaultGrantTypes(spec.type, spec.redirectUris);
  checkGrants(spec.type, grantTypes, spec.redirectUris);
  const scopes = checkScopeList(spec.scopes ?? []);
  const warnings = await checkRedirectUris(ctx, spec.environment, spec.type, spec.redirectUris);
  const environment = await requireEnvironment(ctx, spec.environment);
  const defaults =
    (spec.kind ?? 'registered') === 'registered'
      ? registeredDefaults(environment, spec.type)
      : { requirePar: false, requireDpop: false };
  const settings = settingsOf({
    ...spec,
    requirePar: spec.requirePar ?? defaults.requirePar,
    requireDpop: spec.requireDpop ?? defaults.requireDpop,
  });
  checkClientSettings(environment, spec.type, settings);

  const now = ctx.clock();
  // A private_key_jwt client proves itself with its keys (RFC 7523 §2.2): no secret to leak.
  const clientSecret = usesSecret(spec.type, settings)
    ? newClientSecret(spec.environment)
    : undefined;
  const client: Client = {
    clientId: spec.clientId ?? newClientId(spec.environment),
    environment: spec.environment,
    name,
    type: spec.type,
    secretHash: clientSecret === undefined ? null : ctx.stores.clientSecrets.hash(clientSecret),
    redirectUris: [...spec.redirectUris],
    grantTypes: [...new Set(grantTypes)],
    skipConsent: spec.skipConsent ?? false,
    redirectUriExpiries: expiriesFor(spec.redirectUris, spec.redirectUriExpiries ?? {}),
    managedBy: spec.managedBy ?? null,
    promotedFrom: spec.promotedFrom ?? null,
    kind: spec.kind ?? 'registered',
    metadata: spec.metadata ?? {},
    registrationTokenHash: spec.registrationTokenHash ?? null,
    fetchedAt: spec.fetchedAt ?? null,
    allowedResources: spec.allowedResources ?? null,
    exchangeAudiences: spec.exchangeAudiences ?? null,
    scopes,
    ...settings,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.stores.clients.create(client, provenanceOf(ctx));
  await ctx.stores.audit.append(
    {
      environment: spec.environment,
      type: 'client.created',
      actor: ctx.actor,
      clientId: client.clientId,
      data: {
        name,
        clientType: client.type,
        redirectUris: client.redirectUris,
        grantTypes: client.grantTypes,
        ...(Object.keys(client.redirectUriExpiries).length === 0
          ? {}
          : { redirectUriExpiries: client.redirectUriExpiries }),
        ...(client.managedBy === null ? {} : { managedBy: client.managedBy }),
        ...(client.promotedFrom === null ? {} : { promotedFrom: client.promotedFrom }),
        ...(client.kind === 'registered' ? {} : { kind: client.kind }),
        ...(scopes.length === 0 ? {} : { scopes }),
        ...auditedSettings(settings),
      },
    },
    now,
  );
  return clientSecret === undefined ? { client, warnings } : { client, clientSecret, warnings };
}

export async function requireClient(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
): Promise<Client> {
  await requireEnvironment(ctx, environment);
  const client = await ctx.stores.clients.get(environment, clientId);
  if (client === undefined)
    throw new InputError(`no client ${clientId} in environment ${environment}`, 'unknown_client');
  return client;
}

/** Keeps the expiries of URIs still registered; a URI's expiry goes when the URI does. */
function expiriesFor(
  uris: readonly string[],
  expiries: Readonly<Record<string, number | null>>,
): Record<string, number> {
  const kept: Record<string, number> = {};
  for (const uri of uris) {
    const at = expiries[uri];
    if (at !== undefined && at !== null) kept[uri] = at;
  }
  return kept;
}

/** Changes to a client; each absent field keeps its value (null clears a nullable setting). */
export interface ClientUpdate extends ClientSettingsInput {
  readonly name?: string;
  readonly setRedirectUris?: readonly string[];
  readonly addRedirectUris?: readonly string[];
  readonly removeRedirectUris?: readonly string[];
  /** Sets (a time in ms) or clears (null) the expiry of redirect URIs. */
  readonly redirectUriExpiries?: Readonly<Record<string, number | null>>;
  readonly grantTypes?: readonly GrantType[];
  readonly skipConsent?: boolean;
  readonly managedBy?: string | null;
  /** Audiences the client may obtain by token exchange (RFC 8693); null or empty: none. */
  readonly exchangeAudiences?: readonly string[] | null;
  /** RFC 8707 resources the client may ask for; null: any the environment allows. */
  readonly allowedResources?: readonly string[] | null;
  /** Scopes it may be granted without a resource (client_credentials); empty: none. */
  readonly scopes?: readonly string[];
  /** Audit event type, when the change has a more specific name than `client.updated`. */
  readonly auditType?: string;
  /** RFC 7591 metadata (dynamic clients). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export async function updateClient(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
  update: ClientUpdate,
): Promise<{ client: Client; warnings: readonly LintWarning[]; clientSecret?: string }> {
  const current = await requireClient(ctx, environment, clientId);
  let uris = [...(update.setRedirectUris ?? current.redirectUris)];
  for (const uri of update.addRedirectUris ?? []) if (!uris.includes(uri)) uris.push(uri);
  for (const uri of update.removeRedirectUris ?? []) {
    if (!uris.includes(uri))
      throw new InputError(`client ${clientId} has no redirect URI ${uri}`, 'unknown_redirect_uri');
    uris = uris.filter((u) => u !== uri);
  }
  const grantTypes = update.grantTypes ?? current.grantTypes;
  checkGrants(current.type, grantTypes, uris);
  // A URI named in addRedirectUris is judged as new even when the client still has it: the
  // tolerance for a registration made before the loopback policy covers keeping it, not adding
  // it again (which would also clear an expired one's expiry and revive it).
  const added = update.addRedirectUris ?? [];
  const warnings = await checkRedirectUris(
    ctx,
    environment,
    current.type,
    uris,
    current.redirectUris.filter((uri) => !added.includes(uri)),
  );
  const name = update.name === undefined ? undefined : checkClientName(update.name);

  const exchangeAudiences =
    update.exchangeAudiences === undefined
      ? undefined
      : checkResourceList(update.exchangeAudiences, 'exchange audience');
  const allowedResources =
    update.allowedResources === undefined
      ? undefined
      : checkResourceList(update.allowedResources, 'allowed resource');
  const scopes = update.scopes === undefined ? undefined : checkScopeList(update.scopes);
  const settings = mergeSettings(settingsOf(current), update);
  checkClientSettings(
    await requireEnvironment(ctx, environment),
    current.type,
    settings,
    current.postLogoutRedirectUris ?? [],
  );
  // Switching to private_key_jwt ends the secret (it must no longer authenticate the client);
  // switching back from it issues a new one, shown once.
  const hadSecret = current.secretHash !== null;
  const needsSecret = usesSecret(current.type, settings);
  const clientSecret = needsSecret && !hadSecret ? newClientSecret(environment) : undefined;
  const secretHash =
    clientSecret !== undefined
      ? ctx.stores.clientSecrets.hash(clientSecret)
      : !needsSecret && hadSecret
        ? null
        : undefined;

  const now = ctx.clock();
  for (const [uri, at] of Object.entries(update.redirectUriExpiries ?? {})) {
    if (!uris.includes(uri))
      throw new InputError(`client ${clientId} has no redirect URI ${uri}`, 'unknown_redirect_uri');
    if (at !== null && at <= now)
      throw new InputError(`the expiry of ${uri} is in the past`, 'invalid_expiry');
  }
  const redirectUriExpiries = expiriesFor(uris, {
    ...current.redirectUriExpiries,
    ...update.redirectUriExpiries,
  });
  const client = await ctx.stores.clients.update(
    environment,
    clientId,
    {
      redirectUris: uris,
      redirectUriExpiries,
      grantTypes,
      ...(name === undefined ? {} : { name }),
      ...(update.skipConsent === undefined ? {} : { skipConsent: update.skipConsent }),
      ...(update.managedBy === undefined ? {} : { managedBy: update.managedBy }),
      ...(exchangeAudiences === undefined ? {} : { exchangeAudiences }),
      ...(allowedResources === undefined ? {} : { allowedResources }),
      ...(scopes === undefined ? {} : { scopes }),
      ...(update.metadata === undefined ? {} : { metadata: update.metadata }),
      ...changedSettings(settingsOf(current), settings),
      ...(secretHash === undefined ? {} : { secretHash }),
    },
    now,
    provenanceOf(ctx),
  );
  if (client === undefined)
    throw new InputError(`no client ${clientId} in environment ${environment}`, 'unknown_client');
  // A URI registered now is no longer a refused one.
  for (const uri of uris)
    if (!current.redirectUris.includes(uri))
      await ctx.stores.refusedRedirects.forget(environment, clientId, uri);
  for (const uri of settings.postLogoutRedirectUris)
    if (!(current.postLogoutRedirectUris ?? []).includes(uri))
      await ctx.stores.refusedPostLogoutRedirects.forget(environment, clientId, uri);
  await ctx.stores.audit.append(
    {
      environment,
      type: update.auditType ?? 'client.updated',
      actor: ctx.actor,
      clientId,
      data: {
        before: auditedFields(current),
        after: auditedFields(client),
        // Whether the update ended the client's secret or issued one (never the secret itself).
        ...(secretHash === undefined
          ? {}
          : { credential: secretHash === null ? 'secret removed' : 'secret issued' }),
      },
    },
    now,
  );
  return clientSecret === undefined ? { client, warnings } : { client, warnings, clientSecret };
}

/** Only the settings that changed, so an update writes (and audits) no more than it must. */
function changedSettings(before: ClientSettings, after: ClientSettings): ClientSettingsInput {
  const changed: Record<string, unknown> = {};
  for (const key of Object.keys(after) as (keyof ClientSettings)[])
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changed[key] = after[key];
  return changed;
}

/**
 * RFC 7638 §3: a key's JWK thumbprint (SHA-256 over its required members, in order), so that a
 * key replaced under the same kid still shows as a change in the audit log.
 */
function thumbprint(key: Readonly<Record<string, unknown>>): string {
  const members =
    key.kty === 'RSA'
      ? ['e', 'kty', 'n']
      : key.kty === 'EC'
        ? ['crv', 'kty', 'x', 'y']
        : ['crv', 'kty', 'x'];
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, key[m]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * The settings that differ from their defaults, as the audit log records them: the key set
 * itself is not written out, its kids and key thumbprints are.
 */
export function auditedSettings(settings: ClientSettings): Record<string, unknown> {
  const changed = changedSettings(settingsOf({}), settings) as Record<string, unknown>;
  if (settings.jwks !== null)
    changed.jwks = {
      kids: settings.jwks.keys.map((key) => key.kid ?? null),
      thumbprints: settings.jwks.keys.map(thumbprint),
    };
  return changed;
}

function auditedFields(client: Client): Record<string, unknown> {
  return {
    name: client.name,
    redirectUris: client.redirectUris,
    grantTypes: client.grantTypes,
    skipConsent: client.skipConsent,
    ...(Object.keys(client.redirectUriExpiries).length === 0
      ? {}
      : { redirectUriExpiries: client.redirectUriExpiries }),
    ...(client.managedBy === null ? {} : { managedBy: client.managedBy }),
    ...(client.exchangeAudiences === null ? {} : { exchangeAudiences: client.exchangeAudiences }),
    ...(client.allowedResources === null ? {} : { allowedResources: client.allowedResources }),
    ...(client.scopes.length === 0 ? {} : { scopes: client.scopes }),
    ...auditedSettings(settingsOf(client)),
  };
}

export async function rotateClientSecret(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
): Promise<{ client: Client; clientSecret: string }> {
  const current = await requireClient(ctx, environment, clientId);
  if (current.type !== 'web')
    throw new InputError(
      `client ${clientId} is a ${current.type} (public) client and has no secret`,
      'no_secret',
    );
  if (!usesSecret(current.type, settingsOf(current)))
    throw new InputError(
      `client ${clientId} authenticates with private_key_jwt and has no secret; change its keys instead`,
      'no_secret',
    );
  const clientSecret = newClientSecret(environment);
  const now = ctx.clock();
  const client = await ctx.stores.clients.update(
    environment,
    clientId,
    { secretHash: ctx.stores.clientSecrets.hash(clientSecret) },
    now,
  );
  if (client === undefined)
    throw new InputError(`no client ${clientId} in environment ${environment}`, 'unknown_client');
  await ctx.stores.audit.append(
    { environment, type: 'client.secret_rotated', actor: ctx.actor, clientId },
    now,
  );
  return { client, clientSecret };
}

export async function deleteClient(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
): Promise<void> {
  const current = await requireClient(ctx, environment, clientId);
  await ctx.stores.clients.delete(environment, clientId);
  // Its refresh tokens here; its access tokens, and exchanged ones, wherever they are checked.
  await ctx.stores.tokens.revokeForClient(environment, clientId, ctx.clock());
  await recordRevocation(ctx, environment, 'client', clientId, { final: true });
  await ctx.stores.refusedRedirects.forgetClient(environment, clientId);
  await ctx.stores.refusedPostLogoutRedirects.forgetClient(environment, clientId);
  await unlinkDeletedClient(ctx, environment, clientId);
  await ctx.stores.audit.append(
    {
      environment,
      type: 'client.deleted',
      actor: ctx.actor,
      clientId,
      data: { name: current.name },
    },
    ctx.clock(),
  );
}
