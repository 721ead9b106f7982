/**
 * The authorization endpoint's checks, in the order they run. The first two decide whether the
 * client and the redirect URI can be trusted at all: until both pass, an error is shown on a page
 * and never redirected (RFC 6749 §4.1.2.1). After them, errors go back to the client.
 */
import { MAX_REDIRECT_URI_LENGTH, matchRedirectUri } from '@gatehouse/redirect-policy';
import {
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  UnauthorizedClient,
  UnsafeAuthorizationRequest,
  UnsupportedResponseType,
} from '../../errors.js';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import { isDocumentClientId, MetadataDocumentError } from '../../services/metadata-documents.js';
import { decideResource } from '../../services/resources.js';
import type { PendingAuthorization } from '../../storage/authorization-requests.js';
import { activeRedirectUris, type Client } from '../../storage/clients.js';
import { scopeList } from '../../protocol.js';

/** check-client */
export async function checkClient(
  deps: AppDeps,
  ctx: EnvironmentContext,
  params: Record<string, string>,
  /** The request's address: metadata-document fetches are limited per address. */
  requester = '',
): Promise<Client> {
  const clientId = params.client_id;
  if (clientId === undefined || clientId === '') {
    throw new UnsafeAuthorizationRequest(
      'This sign-in link is incomplete: it does not say which application is asking.',
      { message: 'client_id is missing' },
    );
  }
  if (isDocumentClientId(clientId)) {
    try {
      return await deps.documentClients.resolve(ctx.environment, clientId, requester);
    } catch (error) {
      if (!(error instanceof MetadataDocumentError)) throw error;
      throw new UnsafeAuthorizationRequest(
        'This sign-in link names an application whose description could not be used.',
        { message: error.message },
      );
    }
  }
  const client = await deps.stores.clients.get(ctx.environment.name, clientId);
  if (client === undefined) {
    throw new UnsafeAuthorizationRequest(
      'This sign-in link names an application that is not registered here.',
      { message: `no client ${clientId} in environment ${ctx.environment.name}` },
    );
  }
  return client;
}

/** check-redirect-uri: exact matching by the redirect policy, with its explanation on failure. */
export async function checkRedirectUri(
  deps: AppDeps,
  ctx: EnvironmentContext,
  client: Client,
  requested: string | undefined,
): Promise<string> {
  const environment = ctx.environment.name;
  const now = deps.clock();
  const registered = activeRedirectUris(client, now);
  if (requested === undefined) {
    // OAuth 2.1 §2.3.2: may be omitted only when exactly one URI is registered and nothing in it
    // can vary at request time (no loopback port, no wildcard label).
    const only = registered.length === 1 ? registered[0] : undefined;
    if (
      only !== undefined &&
      !only.startsWith('http://127.0.0.1') &&
      !only.startsWith('http://[::1]') &&
      !only.startsWith('http://localhost') &&
      !only.includes('*')
    ) {
      return only;
    }
    throw new UnsafeAuthorizationRequest('This sign-in link does not say where to return to.', {
      message:
        'redirect_uri is required: the client has several redirect URIs, or one whose port or host label varies',
    });
  }
  const result = matchRedirectUri(requested, registered, {
    environment: ctx.environment.tier,
  });
  if (result.ok) return requested;
  // Kept for the console's "refused redirects", but only values that could ever be registered.
  // Independent of the audit entry, so both are written at once (one round trip's wait, not two).
  const counted =
    requested.length <= MAX_REDIRECT_URI_LENGTH
      ? deps.stores.refusedRedirects.record(
          environment,
          client.clientId,
          requested,
          result.code,
          now,
        )
      : Promise.resolve();
  const audited = deps.stores.audit.append(
    {
      environment,
      type: 'redirect.refused',
      actor: `client:${client.clientId}`,
      clientId: client.clientId,
      // The requested value is recorded for diagnosis; it is untrusted text, never a secret.
      data: {
        policyCode: result.code,
        requested: requested.slice(0, 2048),
        closest: result.closest ?? null,
        kind: result.diff?.kind ?? null,
      },
    },
    now,
  );
  await Promise.all([counted, audited]);
  throw new UnsafeAuthorizationRequest(
    'This application asked to send you somewhere it is not registered to use, so the sign-in was stopped.',
    {
      message: result.message,
      requested,
      ...(result.closest === undefined ? {} : { closest: result.closest }),
      ...(result.diff === undefined
        ? {}
        : { expected: result.diff.expected, index: result.diff.index }),
    },
  );
}

const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * check-resource and check-scope (RFC 8707): the resource must be one this environment and client
 * allow, and the scopes the user's or that resource's.
 */
export async function checkResource(
  deps: AppDeps,
  ctx: EnvironmentContext,
  client: Client,
  pending: PendingAuthorization,
): Promise<void> {
  const decision = await decideResource(
    deps.stores,
    ctx.environment.name,
    client,
    pending.resource,
    pending.scope,
  );
  if (!decision.ok)
    throw decision.error === 'invalid_target'
      ? new InvalidTarget(decision.description)
      : new InvalidScope(decision.description);
}

/** check-response-type, check-pkce, check-prompt, check-grant */
export function checkParameters(
  client: Client,
  params: Record<string, string>,
  redirectUri: string,
): PendingAuthorization {
  if (params.response_type === undefined) throw new InvalidRequest('response_type is required');
  if (params.response_type !== 'code')
    throw new UnsupportedResponseType('only response_type=code is supported');
  if (params.request !== undefined || params.request_uri !== undefined)
    throw new InvalidRequest('request objects are not supported');

  // RFC 7636 §4.3: a missing method means "plain", which OAuth 2.1 and Gatehouse refuse.
  if (params.code_challenge === undefined)
    throw new InvalidRequest('code_challenge is required (PKCE with S256)');
  if (params.code_challenge_method !== 'S256')
    throw new InvalidRequest('code_challenge_method must be S256');
  if (!CODE_CHALLENGE.test(params.code_challenge))
    throw new InvalidRequest('code_challenge must be a base64url SHA-256 (43 characters)');

  // Scopes and the resource are checked together by check-resource (they depend on the data).
  const scope = scopeList(params.scope);
  const resource = params.resource ?? null;

  const prompt = scopeList(params.prompt);
  if (prompt.some((p) => !['none', 'login', 'consent'].includes(p)))
    throw new InvalidRequest('prompt may be none, login or consent');
  if (prompt.includes('none') && prompt.length > 1)
    throw new InvalidRequest('prompt=none cannot be combined with other values');

  let maxAge: number | null = null;
  if (params.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(params.max_age))
      throw new InvalidRequest('max_age must be a number of seconds');
    maxAge = Number(params.max_age);
  }
  if (!client.grantTypes.includes('authorization_code'))
    throw new UnauthorizedClient('this client may not use the authorization code grant');

  return {
    clientId: client.clientId,
    redirectUri,
    scope,
    state: params.state ?? null,
    codeChallenge: params.code_challenge,
    nonce: params.nonce ?? null,
    prompt,
    maxAge,
    loginHint: params.login_hint ?? null,
    resource,
  };
}
