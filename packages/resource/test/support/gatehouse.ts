/**
 * A real Gatehouse server as the issuer: on an ephemeral loopback port, with a throwaway SQLite
 * directory, a confidential client for client_credentials, and registered resources.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createClient,
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
  /** An access token from client_credentials with `resource` (RFC 8707), so `aud` is it. */
  token(resource: string, scope?: string, environment?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startGatehouse(): Promise<Gatehouse> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-resource-'));
  const server = await startServer(resolveServerConfig({ port: 0, dataDir }, process.cwd()), {
    logger: false,
  });
  const ctx = { stores: server.stores, clock: Date.now, actor: 'admin:test' };
  const clients = new Map<string, { clientId: string; clientSecret: string }>();

  const clientOf = async (environment: string) => {
    const known = clients.get(environment);
    if (known !== undefined) return known;
    const created = await createClient(ctx, {
      environment,
      type: 'web',
      name: 'Agent',
      redirectUris: [],
    });
    if (created.clientSecret === undefined) throw new Error('a web client has a secret');
    const client = { clientId: created.client.clientId, clientSecret: created.clientSecret };
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
