/**
 * A real Gatehouse server as the issuer: on an ephemeral loopback port, with a throwaway SQLite
 * directory, a confidential client for client_credentials, and registered resources.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createClient,
  deleteClient,
  registerResource,
  resolveServerConfig,
  startServer,
  type RunningServer,
} from '@gatehouse/server';

export interface Gatehouse {
  readonly server: RunningServer;
  /** The `development` environment's issuer: `<base>/e/development`. */
  readonly issuer: string;
  issuerOf(environment: string): string;
  /**
   * Registers a resource with its scopes (once an environment has any, only registered resources
   * may be asked for) and a client allowed to ask for it in that environment.
   */
  register(resource: string, scopes: readonly string[], environment?: string): Promise<void>;
  /**
   * Registers a resource linked to a new confidential client of its own (what `gatehouse
   * resources add --client` does), whose credentials it returns: the resource's server reads the
   * revocation feed and introspects with them.
   */
  registerLinked(
    resource: string,
    scopes: readonly string[],
    environment?: string,
  ): Promise<{ clientId: string; clientSecret: string }>;
  /** An access token from client_credentials with `resource` (RFC 8707), so `aud` is it. */
  token(resource: string, scope?: string, environment?: string): Promise<string>;
  /** The credentials of the client `token` gets tokens for: a client linked to no resource. */
  tokenClient(environment?: string): Promise<{ clientId: string; clientSecret: string }>;
  /** Revokes a token at the RFC 7009 endpoint, as the client it was issued to. */
  revoke(token: string, environment?: string): Promise<void>;
  /** Deletes the client the tokens are issued to (a `client` revocation event). */
  deleteTokenClient(environment?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startGatehouse(): Promise<Gatehouse> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-resource-'));
  const server = await startServer(resolveServerConfig({ port: 0, dataDir }, process.cwd()), {
    logger: false,
  });
  const ctx = { stores: server.stores, clock: Date.now, actor: 'admin:test' };
  const clients = new Map<string, { clientId: string; clientSecret: string }>();

  const newClient = async (environment: string, name: string) => {
    const created = await createClient(ctx, {
      environment,
      type: 'web',
      name,
      redirectUris: [],
    });
    if (created.clientSecret === undefined) throw new Error('a web client has a secret');
    return { clientId: created.client.clientId, clientSecret: created.clientSecret };
  };
  const clientOf = async (environment: string) => {
    const known = clients.get(environment);
    if (known !== undefined) return known;
    const client = await newClient(environment, 'Agent');
    clients.set(environment, client);
    return client;
  };

  return {
    server,
    issuer: `${server.url}/e/development`,
    issuerOf: (environment) => `${server.url}/e/${environment}`,
    async register(resource, scopes, environment = 'development') {
      await server.stores.resources.create({
        environment,
        uri: resource,
        name: `Resource ${resource}`,
        scopes: [...scopes],
        createdAt: Date.now(),
      });
    },
    async registerLinked(resource, scopes, environment = 'development') {
      const client = await newClient(environment, `Server of ${resource}`);
      await registerResource(ctx, environment, {
        uri: resource,
        name: `Resource ${resource}`,
        scopes,
        clientId: client.clientId,
      });
      return client;
    },
    tokenClient: (environment = 'development') => clientOf(environment),
    async revoke(token, environment = 'development') {
      const { clientId, clientSecret } = await clientOf(environment);
      const response = await fetch(`${server.url}/e/${environment}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: clientId, client_secret: clientSecret }),
      });
      if (response.status !== 200) throw new Error(`revocation failed: ${response.status}`);
      await response.body?.cancel();
    },
    async deleteTokenClient(environment = 'development') {
      const { clientId } = await clientOf(environment);
      await deleteClient(ctx, environment, clientId);
      clients.delete(environment);
    },
    async token(resource, scope, environment = 'development') {
      const { clientId, clientSecret } = await clientOf(environment);
      const response = await fetch(`${server.url}/e/${environment}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
          resource,
          ...(scope === undefined ? {} : { scope }),
        }),
      });
      const body = (await response.json()) as { access_token?: string; error_description?: string };
      if (response.status !== 200 || body.access_token === undefined)
        throw new Error(`token request failed: ${response.status} ${body.error_description ?? ''}`);
      return body.access_token;
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The client id the development client got: the `client_id` of its tokens. */
export function clientIdOf(token: string): string {
  const [, payload = ''] = token.split('.');
  return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { client_id: string })
    .client_id;
}
