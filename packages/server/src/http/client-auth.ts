import type { FastifyRequest } from 'fastify';
import { clientIdEnvironment, inspectClientSecret } from '../crypto/credentials.js';
import { InvalidClient, InvalidRequest } from '../errors.js';
import { isPublicClient, type Client } from '../storage/clients.js';
import type { ClientSecretHasher } from '../crypto/client-secret-hash.js';
import type { AppDeps } from './deps.js';
import { noteClient } from './request-log.js';
import { VerifiedSecrets } from './verified-secrets.js';

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/**
 * Authenticates the client of a token, revocation or introspection request (RFC 6749 §2.3.1):
 * `client_secret_basic`, `client_secret_post`, or `none` for native (public) clients. A client
 * must use exactly one method.
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
