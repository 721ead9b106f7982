import type { FastifyRequest } from 'fastify';
import { clientIdEnvironment, inspectClientSecret } from '../crypto/credentials.js';
import { InvalidClient, InvalidRequest } from '../errors.js';
import { isPublicClient, type Client } from '../storage/clients.js';
import type { ClientSecretHasher } from '../crypto/client-secret-hash.js';
import {
  assertionClientId,
  CLIENT_ASSERTION_TYPE,
  verifyClientAssertion,
} from './client-assertion.js';
import { issuerOf, type AppDeps } from './deps.js';
import { noteClient } from './request-log.js';
import { VerifiedSecrets } from './verified-secrets.js';

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/**
 * Authenticates the client of a token, revocation, introspection, device authorization or pushed
 * authorization request (RFC 6749 §2.3.1): `client_secret_basic`, `client_secret_post`,
 * `private_key_jwt` (RFC 7523 §2.2, http/client-assertion.ts) for a client registered with keys,
 * or `none` for public clients. A client must use exactly one method. Any endpoint may call it:
 * an assertion's audience may be the URL of the endpoint it is presented at.
 */
export async function authenticateClient(
  deps: AppDeps,
  environment: string,
  request: FastifyRequest,
  body: Record<string, string>,
): Promise<{ client: Client; method: AuthMethod }> {
  const basic = parseBasic(request.headers.authorization);
  const postId = body.client_id;
  const postSecret = body.client_secret;
  if (body.client_assertion !== undefined || body.client_assertion_type !== undefined) {
    // RFC 7521 §4.2.1: more than one client authentication mechanism is invalid_client.
    if (basic !== undefined || postSecret !== undefined)
      throw new InvalidClient(
        'use one client authentication method, not a secret and an assertion',
      );
    return authenticateWithAssertion(deps, environment, request, body);
  }
  if (basic !== undefined && postSecret !== undefined) {
    throw new InvalidRequest(
      'use one client authentication method, not both Basic and client_secret',
    );
  }
  const clientId = basic?.id ?? postId;
  if (clientId === undefined || clientId === '')
    throw new InvalidClient('client authentication is required');
  if (clientId.includes('\0') || basic?.secret.includes('\0') === true) {
    throw new InvalidClient('malformed client credentials');
  }
  if (basic !== undefined && postId !== undefined && postId !== basic.id)
    throw new InvalidRequest('client_id does not match the authenticated client');
  const secret = basic?.secret ?? postSecret;
  const method: AuthMethod =
    basic !== undefined
      ? 'client_secret_basic'
      : secret !== undefined
        ? 'client_secret_post'
        : 'none';

  // The environment prefix makes a credential pasted into the wrong environment fail loudly.
  const idEnvironment = clientIdEnvironment(clientId);
  if (idEnvironment !== undefined && idEnvironment !== environment) {
    throw new InvalidClient(
      `this client_id belongs to the ${idEnvironment} environment, not ${environment}`,
    );
  }
  const client = await deps.stores.clients.get(environment, clientId);
  if (client === undefined) throw new InvalidClient('unknown client');
  noteClient(request, client.clientId);

  if (isPublicClient(client)) {
    if (secret !== undefined)
      throw new InvalidClient('this is a public client: it has no secret to send');
    return { client, method: 'none' };
  }
  // The registered method is the only one (RFC 7591 §2): a client with keys cannot fall back
  // to a secret it may still have.
  if (client.tokenEndpointAuthMethod === 'private_key_jwt')
    throw new InvalidClient(
      'this client authenticates with a signed client assertion (private_key_jwt)',
    );
  if (secret === undefined)
    throw new InvalidClient('this client must authenticate with its client_secret');
  const stored = client.secretHash;
  if (stored === null) {
    checkSecretShape(secret, environment);
    throw new InvalidClient('client authentication failed');
  }
  const check = () => checkSecretShape(secret, environment);
  if (!verifiedSecrets(deps).matches(environment, client.clientId, secret, stored, check))
    throw new InvalidClient('client authentication failed');
  return { client, method };
}

/**
 * RFC 7523 §2.2: `client_assertion_type` and `client_assertion`, `client_id` optional (and then
 * the assertion's). The client is the one the assertion names; its keys decide.
 */
async function authenticateWithAssertion(
  deps: AppDeps,
  environment: string,
  request: FastifyRequest,
  body: Record<string, string>,
): Promise<{ client: Client; method: AuthMethod }> {
  const type = body.client_assertion_type;
  const assertion = body.client_assertion;
  if (type !== CLIENT_ASSERTION_TYPE)
    throw new InvalidClient(
      type === undefined
        ? 'client_assertion_type is required with client_assertion'
        : `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`,
    );
  if (assertion === undefined || assertion === '')
    throw new InvalidClient('client_assertion is required with client_assertion_type');
  const clientId = assertionClientId(assertion);
  if (body.client_id !== undefined && body.client_id !== clientId)
    throw new InvalidClient('client_id does not match the client assertion');
  if (clientId.includes('\0')) throw new InvalidClient('malformed client credentials');
  const idEnvironment = clientIdEnvironment(clientId);
  if (idEnvironment !== undefined && idEnvironment !== environment) {
    throw new InvalidClient(
      `this client_id belongs to the ${idEnvironment} environment, not ${environment}`,
    );
  }
  const client = await deps.stores.clients.get(environment, clientId);
  if (client === undefined) throw new InvalidClient('unknown client');
  noteClient(request, client.clientId);
  const issuer = issuerOf(deps, environment);
  // RFC 7523 §3 item 3: the audience identifies this server; OIDC Core §9 names the token
  // endpoint; the endpoint the assertion is presented at is this server too.
  const presentedAt = `${deps.config.baseUrl}${request.url.split('?')[0] ?? ''}`;
  await verifyClientAssertion(
    deps,
    environment,
    client,
    assertion,
    [issuer, `${issuer}/token`, presentedAt],
    request.ip,
  );
  return { client, method: 'private_key_jwt' };
}

/** Per hasher (one per server), the secrets it has confirmed before (verified-secrets.ts). */
const verifiedByHasher = new WeakMap<ClientSecretHasher, VerifiedSecrets>();

function verifiedSecrets(deps: AppDeps): VerifiedSecrets {
  const hasher = deps.stores.clientSecrets;
  let verified = verifiedByHasher.get(hasher);
  if (verified === undefined) {
    verified = new VerifiedSecrets(hasher);
    verifiedByHasher.set(hasher, verified);
  }
  return verified;
}

/**
 * Whether a presented secret has the form and checksum of a Gatehouse secret; one of another
 * environment is refused with a message that says so.
 */
function checkSecretShape(secret: string, environment: string): boolean {
  const shape = inspectClientSecret(secret);
  if (shape.ok && shape.environment !== environment) {
    throw new InvalidClient(
      `this client_secret belongs to the ${shape.environment} environment, not ${environment}`,
    );
  }
  return shape.ok;
}

/** application/x-www-form-urlencoded decoding; most ids and secrets have nothing to decode. */
function formDecoded(value: string): string {
  return value.includes('%') || value.includes('+')
    ? decodeURIComponent(value.replace(/\+/g, ' '))
    : value;
}

function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw new InvalidClient('malformed Basic credentials');
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return {
      id: formDecoded(decoded.slice(0, colon)),
      secret: formDecoded(decoded.slice(colon + 1)),
    };
  } catch {
    throw new InvalidClient('malformed Basic credentials');
  }
}
