/**
 * The whole MCP authorization flow with the real MCP TypeScript SDK: an MCP server protected by
 * @gatehouse/resource; the SDK's client discovering Gatehouse from the server's WWW-Authenticate
 * and protected resource metadata, identifying itself with a Client ID Metadata Document (and, in
 * a second test, with dynamic registration), completing authorization code + PKCE through a
 * loopback redirect with the login and consent pages driven in headless Chromium, checking `iss`,
 * and calling a tool. A token for another resource is refused by the MCP server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  UnauthorizedError,
  type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import {
  createClient,
  createUser,
  registerResource,
  resolveServerConfig,
  startServer,
  updateEnvironmentSettings,
  type RunningServer,
} from '@gatehouse/server';
import express from 'express';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { metadataMiddleware, requireBearer } from '../src/express.js';
import { createResourceServer } from '../src/index.js';

const PASSWORD = 'mcp user password 1';

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => {
      resolve();
    });
  });

/** What an MCP client application keeps: in memory here. */
class MemoryProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  /** Set: the client identifies itself by this document; unset: it registers dynamically. */
  readonly clientMetadataUrl?: string;
  private information: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';

  constructor(
    private readonly callback: string,
    clientMetadataUrl?: string,
  ) {
    if (clientMetadataUrl !== undefined) this.clientMetadataUrl = clientMetadataUrl;
  }

  get redirectUrl(): string {
    return this.callback;
  }
  get clientMetadata(): OAuthClientMetadata {
    // MCP authorization 2026-07-28: a client that registers dynamically MUST send
    // application_type. The SDK (1.32.2) sends the provider's metadata as it is and adds none,
    // and its OAuthClientMetadata type has no such field.
    const metadata = {
      client_name: 'Notes MCP client',
      redirect_uris: [this.callback],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    };
    return metadata;
  }
  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.information = information;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

describe('MCP authorization with the MCP TypeScript SDK, Gatehouse and @gatehouse/resource', () => {
  let certDir: string;
  let gatehouse: RunningServer;
  let issuer: string;
  let browser: Browser;
  let mcpHttp: Server;
  let resource: string;
  let documentServer: Server;
  let documentUrl: string;
  let callbackServer: Server;
  let callbackUrl: string;
  let nextCallback: (query: URLSearchParams) => void = () => undefined;

  beforeAll(async () => {
    // An https metadata document on loopback (the SDK only sends https client_id URLs), with a
    // throwaway certificate that Gatehouse is told to trust.
    certDir = await mkdtemp(join(tmpdir(), 'gatehouse-mcp-cert-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(certDir, 'key.pem'),
        '-out',
        join(certDir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const cert = await readFile(join(certDir, 'cert.pem'), 'utf8');
    const key = await readFile(join(certDir, 'key.pem'), 'utf8');

    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-mcp-'));
    gatehouse = await startServer(resolveServerConfig({ port: 0, dataDir }, process.cwd()), {
      logger: false,
      documentFetcher: { extraCa: cert },
    });
    issuer = `${gatehouse.url}/e/development`;
    const ctx = { stores: gatehouse.stores, clock: Date.now, actor: 'admin:test' };
    await createUser(ctx, {
      environment: 'development',
      email: 'nora@example.com',
      password: PASSWORD,
    });
    await updateEnvironmentSettings(ctx, 'development', { allowLoopbackDocuments: true });

    documentServer = createHttpsServer({ cert, key }, (request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          client_id: documentUrl,
          client_name: 'Notes MCP client',
          redirect_uris: ['http://127.0.0.1/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          application_type: 'native',
        }),
      );
    });
    documentUrl = `https://127.0.0.1:${await listen(documentServer)}/client.json`;

    callbackServer = createServer((request, response) => {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<p>You can close this page.</p>');
      nextCallback(new URL(request.url ?? '/', 'http://127.0.0.1').searchParams);
    });
    callbackUrl = `http://127.0.0.1:${await listen(callbackServer)}/callback`;

    // The MCP server: a tool behind @gatehouse/resource.
    mcpHttp = createServer();
    resource = `http://127.0.0.1:${await listen(mcpHttp)}/mcp`;
    await registerResource(ctx, 'development', {
      uri: resource,
      name: 'Notes MCP server',
      scopes: ['mcp:tools'],
    });
    const rs = createResourceServer({ resource, issuer, scopesSupported: ['mcp:tools'] });
    const app = express();
    app.use(metadataMiddleware(rs));
    app.use(express.json());
    app.post('/mcp', requireBearer(rs, { requiredScopes: ['mcp:tools'] }), async (req, res) => {
      const server = new McpServer({ name: 'notes', version: '1.0.0' });
      server.registerTool('whoami', { description: 'Who is calling' }, (extra) => ({
        content: [
          {
            type: 'text',
            text: JSON.stringify({
              subject: (extra.authInfo?.extra as { subject?: string } | undefined)?.subject,
              clientId: extra.authInfo?.clientId,
              scopes: extra.authInfo?.scopes,
            }),
          },
        ],
      }));
      const transport = new StreamableHTTPServerTransport({});
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    });
    mcpHttp.on('request', app);
    browser = await launchChromium();
    // Three servers, a certificate and a browser: more than the default 10 s on a busy machine.
  }, 60_000);

  afterAll(async () => {
    await browser.close();
    await close(mcpHttp);
    await close(documentServer);
    await close(callbackServer);
    await gatehouse.close();
    await rm(certDir, { recursive: true, force: true });
  });

  /** Connects; on 401 the SDK discovers Gatehouse and hands over the authorization URL. */
  async function authorizeInBrowser(provider: MemoryProvider): Promise<URLSearchParams> {
    const first = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
    await expect(
      new Client({ name: 'notes-client', version: '1.0.0' }).connect(first),
    ).rejects.toThrow(UnauthorizedError);
    const url = provider.authorizationUrl;
    if (url === undefined) throw new Error('the SDK did not start an authorization');
    expect(url.origin + url.pathname).toBe(`${issuer}/authorize`);
    expect(url.searchParams.get('resource')).toBe(resource);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');

    const callback = new Promise<URLSearchParams>((resolve) => {
      nextCallback = resolve;
    });
    const page = await (await browser.newContext()).newPage();
    await page.goto(url.href);
    await page.getByLabel('Email').fill('nora@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    const consent = await page.locator('main').textContent();
    expect(consent).toContain('calling itself “Notes MCP client”');
    expect(consent).toContain('an application on this computer');
    await page.getByRole('button', { name: 'Allow' }).click();
    const query = await callback;
    await page.context().close();
    // RFC 9207: the response names the issuer the client started with, or it is refused.
    expect(query.get('iss')).toBe(issuer);
    expect(query.get('error')).toBeNull();
    await first.finishAuth(query.get('code') ?? '');
    return query;
  }

  async function callWhoami(provider: MemoryProvider) {
    const client = new Client({ name: 'notes-client', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }),
    );
    const result = await client.callTool({ name: 'whoami' });
    await client.close();
    const [content] = result.content as { type: string; text: string }[];
    return JSON.parse(content?.text ?? '{}') as {
      subject: string;
      clientId: string;
      scopes: string[];
    };
  }

  it('advertises Client ID Metadata Documents, and the SDK uses one as its client_id', async () => {
    const provider = new MemoryProvider(callbackUrl, documentUrl);
    await authorizeInBrowser(provider);
    expect(provider.authorizationUrl?.searchParams.get('client_id')).toBe(documentUrl);
    const caller = await callWhoami(provider);
    expect(caller.clientId).toBe(documentUrl);
    expect(caller.scopes).toEqual(['mcp:tools']);
    const user = await gatehouse.stores.users.findByEmail('development', 'nora@example.com');
    expect(caller.subject).toBe(user?.id);
    expect(await gatehouse.stores.clients.get('development', documentUrl)).toMatchObject({
      kind: 'metadata_document',
    });
  });

  it('falls back to dynamic registration when the client has no metadata document', async () => {
    const provider = new MemoryProvider(callbackUrl);
    await authorizeInBrowser(provider);
    const clientId = provider.clientInformation()?.client_id ?? '';
    expect(clientId).toMatch(/^ghc_development_/);
    expect(await gatehouse.stores.clients.get('development', clientId)).toMatchObject({
      kind: 'dynamic',
    });
    expect((await callWhoami(provider)).clientId).toBe(clientId);
  });

  it('refuses a token issued for another resource', async () => {
    const ctx = { stores: gatehouse.stores, clock: Date.now, actor: 'admin:test' };
    const other = `${resource}-other`;
    await registerResource(ctx, 'development', {
      uri: other,
      name: 'Other',
      scopes: ['mcp:tools'],
    });
    const agent = await createClient(ctx, {
      environment: 'development',
      type: 'web',
      name: 'Agent',
      redirectUris: [],
    });
    const token = (await (
      await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: agent.client.clientId,
          client_secret: agent.clientSecret ?? '',
          resource: other,
          scope: 'mcp:tools',
        }),
      })
    ).json()) as { access_token: string };
    const response = await fetch(resource, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(response.headers.get('www-authenticate')).toContain('resource_metadata=');
  });
});
