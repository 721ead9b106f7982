import { UNSAFE_IN_SHOWN_TEXT } from '../pages/shown-text.js';
import { clientIdEnvironment } from '../crypto/credentials.js';
import { InvalidScope, InvalidTarget } from '../errors.js';
import { OIDC_SCOPES } from '../protocol.js';
import type { Client } from '../storage/clients.js';
import { ACCESS_TOKEN_ALGS, type AccessTokenAlg, type Resource } from '../storage/resources.js';
import type { Stores } from '../storage/index.js';
import type { ServiceContext } from './context.js';
import { requireEnvironment } from './environments.js';
import { InputError } from './input-error.js';

/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;

export interface ResourceSpec {
  readonly uri: string;
  readonly name: string;
  readonly scopes: readonly string[];
  /**
   * The confidential client the resource server authenticates as, to read the revocation feed
   * and introspect tokens for it; absent or null: none.
   */
  readonly clientId?: string | null;
  /** RS256 for a resource server that cannot verify ES256; absent or null: ES256. */
  readonly accessTokenAlg?: string | null;
}

/** A resource's access-token algorithm, checked: ES256 or RS256 (null: the default, ES256). */
function checkAccessTokenAlg(alg: string | null | undefined): AccessTokenAlg | null {
  if (alg === undefined || alg === null) return null;
  if (!(ACCESS_TOKEN_ALGS as readonly string[]).includes(alg))
    throw new InputError(
      `the access token algorithm must be ${ACCESS_TOKEN_ALGS.join(' or ')}, not "${alg}"`,
      'invalid_access_token_alg',
    );
  return alg as AccessTokenAlg;
}

/** RFC 8707 §2: an absolute URI without a fragment. */
export function isResourceIndicator(uri: string): boolean {
  return URL.canParse(uri) && !uri.includes('#') && uri.length <= 2048;
}

/**
 * Registers a protected resource: once an environment has any, only registered resources may be
 * asked for there, with the scopes they define.
 */
export async function registerResource(
  ctx: ServiceContext,
  environment: string,
  spec: ResourceSpec,
): Promise<Resource> {
  await requireEnvironment(ctx, environment);
  if (!isResourceIndicator(spec.uri))
    throw new InputError(
      `"${spec.uri}" is not a resource indicator: use an absolute URI without a fragment (RFC 8707)`,
      'invalid_resource',
    );
  const name = spec.name.trim();
  if (name === '' || name.length > 100)
    throw new InputError(
      'the resource name must have 1 to 100 characters',
      'invalid_resource_name',
    );
  // Shown to users on the consent page, as a client's name is (services/client-name.ts).
  if (name.search(UNSAFE_IN_SHOWN_TEXT) !== -1)
    throw new InputError(
      'the resource name must not contain control characters or bidirectional overrides (they change how the name reads on the consent page)',
      'invalid_resource_name',
    );
  for (const scope of spec.scopes) {
    if (!SCOPE_TOKEN.test(scope))
      throw new InputError(`"${scope}" is not a valid scope (RFC 6749 §3.3)`, 'invalid_scope');
    if (OIDC_SCOPES.includes(scope))
      throw new InputError(
        `"${scope}" is an OpenID Connect scope, not a resource's`,
        'invalid_scope',
      );
  }
  const clientId =
    spec.clientId === undefined || spec.clientId === null
      ? null
      : await requireResourceClient(ctx, environment, spec.clientId);
  const accessTokenAlg = checkAccessTokenAlg(spec.accessTokenAlg);
  const now = ctx.clock();
  const resource: Resource = {
    environment,
    uri: spec.uri,
    name,
    scopes: [...new Set(spec.scopes)],
    clientId,
    accessTokenAlg,
    createdAt: now,
  };
  if (!(await ctx.stores.resources.create(resource)))
    throw new InputError(
      `resource ${spec.uri} is registered already in ${environment}`,
      'resource_exists',
    );
  await ctx.stores.audit.append(
    {
      environment,
      type: 'resource.registered',
      actor: ctx.actor,
      data: {
        uri: resource.uri,
        name,
        scopes: resource.scopes,
        clientId,
        ...(accessTokenAlg === null ? {} : { accessTokenAlg }),
      },
    },
    now,
  );
  return resource;
}

/**
 * Sets the algorithm the resource's access tokens are signed with (null: ES256). Tokens already
 * issued keep theirs; both keys are in the JWKS, so a resource server verifies either.
 */
export async function setResourceAccessTokenAlg(
  ctx: ServiceContext,
  environment: string,
  uri: string,
  alg: string | null,
): Promise<Resource> {
  await requireEnvironment(ctx, environment);
  const checked = checkAccessTokenAlg(alg);
  const existing = await ctx.stores.resources.get(environment, uri);
  if (existing === undefined)
    throw new InputError(`no resource ${uri} in ${environment}`, 'unknown_resource');
  if (existing.accessTokenAlg === checked) return existing;
  if (!(await ctx.stores.resources.setAccessTokenAlg(environment, uri, checked)))
    throw new InputError(`no resource ${uri} in ${environment}`, 'unknown_resource');
  await ctx.stores.audit.append(
    {
      environment,
      type: 'resource.access_token_alg_changed',
      actor: ctx.actor,
      data: {
        uri,
        accessTokenAlg: checked ?? 'ES256',
        previous: existing.accessTokenAlg ?? 'ES256',
      },
    },
    ctx.clock(),
  );
  return { ...existing, accessTokenAlg: checked };
}

/**
 * The client a resource server may authenticate as, checked: it exists in the resource's own
 * environment and is confidential (a `web` client with a secret). A public client cannot prove
 * who it is (RFC 6749 §2.1), so it could not be trusted with the revocation feed or with
 * introspecting other clients' tokens.
 */
async function requireResourceClient(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
): Promise<string> {
  const client = await ctx.stores.clients.get(environment, clientId);
  if (client === undefined) {
    const elsewhere = clientIdEnvironment(clientId);
    throw new InputError(
      elsewhere !== undefined && elsewhere !== environment
        ? `client ${clientId} belongs to the ${elsewhere} environment: a resource's client must be one of ${environment}`
        : `no client ${clientId} in environment ${environment}`,
      'unknown_client',
    );
  }
  if (client.type !== 'web' || client.secretHash === null)
    throw new InputError(
      `client ${clientId} ${client.type === 'web' ? 'has no secret' : 'is a public client'}: a resource's client must be confidential (a web client with a secret)`,
      'public_resource_client',
    );
  return client.clientId;
}

/**
 * Links a registered resource to the confidential client it authenticates as, or unlinks it
 * (null). Audited as `resource.client_changed` with the client before and after.
 */
export async function setResourceClient(
  ctx: ServiceContext,
  environment: string,
  uri: string,
  clientId: string | null,
): Promise<Resource> {
  await requireEnvironment(ctx, environment);
  const existing = await ctx.stores.resources.get(environment, uri);
  if (existing === undefined)
    throw new InputError(`no resource ${uri} in ${environment}`, 'unknown_resource');
  const linked = clientId === null ? null : await requireResourceClient(ctx, environment, clientId);
  if (!(await ctx.stores.resources.setClientId(environment, uri, linked)))
    throw new InputError(`no resource ${uri} in ${environment}`, 'unknown_resource');
  await ctx.stores.audit.append(
    {
      environment,
      type: 'resource.client_changed',
      actor: ctx.actor,
      data: { uri, clientId: linked, previousClientId: existing.clientId },
    },
    ctx.clock(),
  );
  return { ...existing, clientId: linked };
}

/**
 * A deleted client can no longer be any resource's client: each resource that named it is unlinked
 * (audited), so its server's feed reads are refused at once and it fails closed rather than keep a
 * link to credentials that no longer exist.
 */
export async function unlinkDeletedClient(
  ctx: ServiceContext,
  environment: string,
  clientId: string,
): Promise<void> {
  for (const resource of await ctx.stores.resources.list(environment)) {
    if (resource.clientId !== clientId) continue;
    await ctx.stores.resources.setClientId(environment, resource.uri, null);
    await ctx.stores.audit.append(
      {
        environment,
        type: 'resource.client_changed',
        actor: ctx.actor,
        data: { uri: resource.uri, clientId: null, previousClientId: clientId },
      },
      ctx.clock(),
    );
  }
}

export async function removeResource(
  ctx: ServiceContext,
  environment: string,
  uri: string,
): Promise<void> {
  await requireEnvironment(ctx, environment);
  if (!(await ctx.stores.resources.delete(environment, uri)))
    throw new InputError(`no resource ${uri} in ${environment}`, 'unknown_resource');
  await ctx.stores.audit.append(
    { environment, type: 'resource.removed', actor: ctx.actor, data: { uri } },
    ctx.clock(),
  );
}

export type ResourceDecision =
  | { readonly ok: true; readonly resource: Resource | undefined }
  | {
      readonly ok: false;
      readonly error: 'invalid_target' | 'invalid_scope';
      readonly description: string;
    };

/**
 * A decision that refuses, as the protocol error it is (RFC 8707 §2 invalid_target, RFC 6749
 * §3.3 invalid_scope); one that accepts, as it is. Every endpoint and grant refuses through this.
 */
export function acceptedResource(
  decision: ResourceDecision,
): Extract<ResourceDecision, { ok: true }> {
  if (decision.ok) return decision;
  throw decision.error === 'invalid_target'
    ? new InvalidTarget(decision.description)
    : new InvalidScope(decision.description);
}

/**
 * May this client ask for this resource with these scopes? Once an environment registers
 * resources, only those may be named, each with its own scopes; a client may be restricted
 * further to a list. Without a resource only the user scopes are known. Descriptions never
 * repeat the request (RFC 6749 §4.1.2.1 limits their characters).
 */
export async function decideResource(
  stores: Pick<Stores, 'resources'>,
  environment: string,
  client: Client,
  resource: string | null,
  scope: readonly string[],
  options: { readonly userScopesAllowed: boolean } = { userScopesAllowed: true },
): Promise<ResourceDecision> {
  const known = options.userScopesAllowed ? OIDC_SCOPES : [];
  if (resource === null) {
    const unknown = scope.filter((s) => !known.includes(s));
    return unknown.length === 0
      ? { ok: true, resource: undefined }
      : {
          ok: false,
          error: 'invalid_scope',
          description: `unsupported scope without a resource; supported: ${known.join(' ')}`,
        };
  }
  if (!isResourceIndicator(resource))
    return {
      ok: false,
      error: 'invalid_target',
      description: 'resource must be an absolute URI without a fragment',
    };
  if (client.allowedResources !== null && !client.allowedResources.includes(resource))
    return {
      ok: false,
      error: 'invalid_target',
      description: 'this client may not ask for that resource',
    };
  const registered = await stores.resources.list(environment);
  const entry = registered.find((r) => r.uri === resource);
  if (registered.length > 0 && entry === undefined)
    return {
      ok: false,
      error: 'invalid_target',
      description: 'the resource is not registered here',
    };
  const allowed = [...known, ...(entry?.scopes ?? [])];
  const unknown = scope.filter((s) => !allowed.includes(s));
  if (unknown.length > 0)
    return {
      ok: false,
      error: 'invalid_scope',
      description: `unsupported scope for this resource; supported: ${allowed.join(' ')}`,
    };
  return { ok: true, resource: entry };
}

/**
 * What a consent covers: user scopes by name, a resource's scopes only together with that
 * resource (a `read` granted at A is not a `read` at B), and the resource itself.
 */
export function consentItems(scope: readonly string[], resource: string | null): string[] {
  if (resource === null) return [...scope];
  const at = `@${encodeURIComponent(resource)}`;
  return [...scope.map((s) => (OIDC_SCOPES.includes(s) ? s : `${s}${at}`)), `resource${at}`];
}
