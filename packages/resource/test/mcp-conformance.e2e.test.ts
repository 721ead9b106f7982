/**
 * The MCP authorization specification, revision 2026-07-28, statement by statement: every MUST
 * and SHOULD it makes of the authorization server (Gatehouse) and of the protected resource (an
 * MCP server behind @gatehouse/resource), and those of the client this server can observe, each
 * a test against a running Gatehouse and a real MCP server. The MCP TypeScript SDK's client
 * (1.32.2) drives the flows, with the login and consent pages in headless Chromium.
 *
 * The text is the revision's own (modelcontextprotocol/modelcontextprotocol,
 * docs/specification/2026-07-28/basic/authorization/: index.mdx "Authorization",
 * authorization-server-discovery.mdx, client-registration.mdx, security-considerations.mdx);
 * each row quotes its statement briefly and names its section. A statement that is not met says
 * so in its title with the reason, and its test asserts what Gatehouse actually does. The summary
 * table is in docs/mcp.md.
 *
 * The step-up flow is the specification's (Scope Challenge Handling, Step-Up Authorization Flow):
 * a tool needs a scope the token lacks, the MCP server answers 403 insufficient_scope naming it,
 * the client re-authorizes with the union of what it asked before and the challenge, the consent
 * page asks only for what is new (incremental authorization), and the call then succeeds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
  registerClient,
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
  ConfigError,
  createClient,
  createUser,
  registerResource,
  resolveServerConfig,
  startServer,
  updateEnvironmentSettings,
  type RunningServer,
} from '@gatehouse/server';
import express from 'express';
import { decodeJwt } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { metadataMiddleware, requireBearer } from '../src/express.js';
import { createResourceServer, type ResourceServer } from '../src/index.js';

const PASSWORD = 'conformance user password 1';
const EMAIL = 'ada@example.com';

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

/** A JSON-RPC call of one tool, as the MCP server receives it. */
interface RpcBody {
  readonly method?: string;
  readonly params?: { readonly name?: string };
}

/**
 * What an MCP client application keeps, in memory. With `stepUp` it does what the specification
 * asks of a client that the SDK (1.32.2) leaves undone: on a 403 insufficient_scope it does not
 * spend its refresh token (which can only give back the scopes it has), and it asks for the union
 * of the scopes it asked for before and the challenge's (Step-Up Authorization Flow, step 2).
 */
class ConformanceProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  /** The scope the SDK put in its last authorization URL, before this provider widened it. */
  sdkScope: string | null = null;
  readonly clientMetadataUrl?: string;
  private information: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';
  private requested: string[] = [];
  private stepUpPending = false;

  constructor(
    private readonly callback: string,
    private readonly options: { readonly documentUrl?: string; readonly stepUp: boolean },
  ) {
    if (options.documentUrl !== undefined) this.clientMetadataUrl = options.documentUrl;
  }

  get redirectUrl(): string {
    return this.callback;
  }
  get clientMetadata(): OAuthClientMetadata {
    // Client Registration §Dynamic Client Registration: MUST specify application_type (the
    // SDK's type has no such field, and the SDK sends the provider's metadata as it is).
    const metadata = {
      client_name: 'Conformance MCP client',
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
  tokens(): OAuthTokens | undefined {
    if (!this.stepUpPending || this.saved === undefined) return this.saved;
    const withoutRefresh = { ...this.saved };
    delete withoutRefresh.refresh_token;
    return withoutRefresh;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
    this.stepUpPending = false;
  }
  redirectToAuthorization(url: URL) {
    this.sdkScope = url.searchParams.get('scope');
    const challenged = (this.sdkScope ?? '').split(' ').filter((s) => s !== '');
    if (this.options.stepUp) {
      const union = [...new Set([...this.requested, ...challenged])];
      url.searchParams.set('scope', union.join(' '));
      this.requested = union;
    } else this.requested = challenged;
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  /** The transport's fetch: a 403 insufficient_scope starts a step-up (when this provider does). */
  readonly fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    if (
      this.options.stepUp &&
      response.status === 403 &&
      extractWWWAuthenticateParams(response).error === 'insufficient_scope'
    )
      this.stepUpPending = true;
    return response;
  };
}

/** A row of the statement list: the specification's words, and the test of them. */
interface Statement {
  readonly id: string;
  /** The file and section of docs/specification/2026-07-28/basic/authorization/. */
  readonly source: string;
  readonly level: 'MUST' | 'MUST NOT' | 'SHOULD' | 'SHOULD NOT';
  readonly party: 'AS' | 'RS' | 'client (SDK 1.32.2, observed)';
  /** A brief quotation. */
  readonly text: string;
  /** Undefined: met. Otherwise why not; the test then asserts what happens instead. */
  readonly notMet?: string;
  readonly check: () => void | Promise<void>;
}

describe('MCP authorization 2026-07-28: Gatehouse and @gatehouse/resource, statement by statement', () => {
  let certDir: string;
  let gatehouse: RunningServer;
  let base: string;
  let issuer: string;
  let browser: Browser;
  let mcpHttp: Server;
  let resource: string;
  let rs: ResourceServer;
  let documentServer: Server;
  let documentBase: string;
  let documentUrl: string;
  const documentFetches = new Map<string, number>();
  /** How far the MCP server's clock is ahead of the machine's (TH-1 moves it past a token's exp). */
  let resourceClockAheadMs = 0;
  let callbackServer: Server;
  let callbackUrl: string;
  let nextCallback: (query: URLSearchParams) => void = () => undefined;
  const ctx = () => ({ stores: gatehouse.stores, clock: Date.now, actor: 'admin:test' });

  /** What the flows saw, for the statements that are about them. */
  const seen = {
    successIss: null as string | null,
    consentText: '',
    firstTokens: undefined as OAuthTokens | undefined,
    /** After the SDK spent the first refresh token on its own step-up attempt. */
    refreshedBySdk: undefined as OAuthTokens | undefined,
    stepUp: undefined as
      { sdkScope: string | null; asked: string[]; granted: string[]; scopes: string[] } | undefined,
  };

  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'gatehouse-mcp-conformance-'));
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

    gatehouse = await startServer(
      resolveServerConfig(
        { port: 0, dataDir: await mkdtemp(join(tmpdir(), 'gatehouse-mcp-conf-')) },
        process.cwd(),
      ),
      { logger: false, documentFetcher: { extraCa: cert } },
    );
    base = gatehouse.url;
    issuer = `${base}/e/development`;
    await createUser(ctx(), { environment: 'development', email: EMAIL, password: PASSWORD });
    await updateEnvironmentSettings(ctx(), 'development', { allowLoopbackDocuments: true });

    callbackServer = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<p>Done.</p>');
      nextCallback(new URL(request.url ?? '/', 'http://127.0.0.1').searchParams);
    });
    callbackUrl = `http://127.0.0.1:${await listen(callbackServer)}/callback`;

    // The client's metadata documents: a good one (no-store: see CIMD-3), and bad ones.
    documentServer = createHttpsServer({ cert, key }, (request, response) => {
      const path = request.url ?? '/';
      documentFetches.set(path, (documentFetches.get(path) ?? 0) + 1);
      const good = {
        client_id: `${documentBase}${path}`,
        client_name: 'Conformance MCP client',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      };
      const bodies: Record<string, string> = {
        '/client.json': JSON.stringify(good),
        '/other-client.json': JSON.stringify(good),
        '/mismatch.json': JSON.stringify({ ...good, client_id: `${documentBase}/client.json` }),
        '/not-json.json': '<html>not a document</html>',
        '/no-redirects.json': JSON.stringify({ ...good, redirect_uris: undefined }),
      };
      response.writeHead(200, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
      response.end(bodies[path] ?? '{}');
    });
    documentBase = `https://127.0.0.1:${await listen(documentServer)}`;
    documentUrl = `${documentBase}/client.json`;

    // The MCP server: whoami needs mcp:tools; write_note needs notes:write, and its challenge
    // names only that (Scope Challenge Handling: the scopes needed for the current operation).
    mcpHttp = createServer();
    resource = `http://127.0.0.1:${await listen(mcpHttp)}/mcp`;
    await registerResource(ctx(), 'development', {
      uri: resource,
      name: 'Notes MCP server',
      scopes: ['mcp:tools', 'notes:write', 'notes:admin'],
    });
    rs = createResourceServer({
      resource,
      issuer,
      scopesSupported: ['mcp:tools'],
      clock: () => Date.now() + resourceClockAheadMs,
    });
    const app = express();
    app.use(metadataMiddleware(rs));
    app.use(express.json());
    const needs = (body: RpcBody | undefined): readonly string[] =>
      body?.method === 'tools/call' && body.params?.name === 'write_note'
        ? ['notes:write']
        : ['mcp:tools'];
    app.post(
      '/mcp',
      requireBearer(rs, { requiredScopes: (req) => needs(req.body as RpcBody | undefined) }),
      async (req, res) => {
        const server = new McpServer({ name: 'notes', version: '1.0.0' });
        server.registerTool('whoami', { description: 'Who is calling' }, (extra) => ({
          content: [
            {
              type: 'text',
              text: JSON.stringify({
                clientId: extra.authInfo?.clientId,
                scopes: extra.authInfo?.scopes,
              }),
            },
          ],
        }));
        server.registerTool('write_note', { description: 'Writes a note' }, () => ({
          content: [{ type: 'text', text: 'saved' }],
        }));
        const transport = new StreamableHTTPServerTransport({});
        res.on('close', () => {
          void transport.close();
          void server.close();
        });
        await server.connect(transport);
        await transport.handleRequest(req, res, req.body);
      },
    );
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

  /** The user signs in and allows on the consent page; what the page asked is returned. */
  async function consentInBrowser(provider: ConformanceProvider) {
    const url = provider.authorizationUrl;
    if (url === undefined) throw new Error('the SDK did not start an authorization');
    provider.authorizationUrl = undefined;
    const callback = new Promise<URLSearchParams>((resolve) => {
      nextCallback = resolve;
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url.href);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    const text = (await page.locator('main').textContent()) ?? '';
    const asked = await page.locator('#asked-scopes li').allTextContents();
    const granted = await page.locator('#granted-scopes li').allTextContents();
    await page.getByRole('button', { name: 'Allow' }).click();
    const query = await callback;
    await context.close();
    // Authorization Response Validation: the client compares iss with the issuer it recorded
    // (the SDK's finishAuth takes only the code, so the application does it).
    expect(query.get('iss')).toBe(issuer);
    return {
      query,
      text,
      asked: asked.map((s) => s.trim()),
      granted: granted.map((s) => s.trim()),
    };
  }

  async function connected(provider: ConformanceProvider) {
    const transport = new StreamableHTTPClientTransport(new URL(resource), {
      authProvider: provider,
      fetch: provider.fetch,
    });
    const client = new Client({ name: 'conformance', version: '1.0.0' });
    await expect(client.connect(transport)).rejects.toThrow(UnauthorizedError);
    const consent = await consentInBrowser(provider);
    await transport.finishAuth(consent.query.get('code') ?? '');
    const ready = new Client({ name: 'conformance', version: '1.0.0' });
    const readyTransport = new StreamableHTTPClientTransport(new URL(resource), {
      authProvider: provider,
      fetch: provider.fetch,
    });
    await ready.connect(readyTransport);
    return { client: ready, transport: readyTransport, consent };
  }

  const whoami = async (client: Client) => {
    const result = await client.callTool({ name: 'whoami' });
    const [content] = result.content as { text: string }[];
    return JSON.parse(content?.text ?? '{}') as { clientId: string; scopes: string[] };
  };

  /** A GET of /authorize as a browser would send it, not followed. */
  async function authorize(params: Record<string, string>) {
    const response = await fetch(`${issuer}/authorize?${new URLSearchParams(params).toString()}`, {
      redirect: 'manual',
    });
    const location = response.headers.get('location');
    return {
      status: response.status,
      location: location === null ? null : new URL(location, issuer),
    };
  }
  const codeRequest = (extra: Record<string, string> = {}) => ({
    client_id: documentUrl,
    redirect_uri: 'http://127.0.0.1:4567/callback',
    response_type: 'code',
    scope: 'mcp:tools',
    resource,
    state: 'st',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    ...extra,
  });
  /** Refused before the client is trusted: a page, never a redirect to the client. */
  const refusedWithPage = (answer: { status: number; location: URL | null }) => {
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
  };
  const toLogin = (answer: { status: number; location: URL | null }) => {
    expect(answer.status).toBe(303);
    expect(answer.location?.pathname).toBe('/e/development/login');
  };

  const mcpPost = (headers: Record<string, string>, body: RpcBody, url = resource) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...body }),
    });

  /** A machine token for this resource (or another), from an operator's confidential client. */
  async function machineToken(scope: string, forResource = resource): Promise<string> {
    const agent = await createClient(ctx(), {
      environment: 'development',
      type: 'web',
      name: 'Conformance agent',
      redirectUris: [],
    });
    const answer = (await (
      await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: agent.client.clientId,
          client_secret: agent.clientSecret ?? '',
          resource: forResource,
          scope,
        }),
      })
    ).json()) as { access_token: string };
    return answer.access_token;
  }

  const asMetadata = async (url: string) => {
    const response = await fetch(url);
    expect(response.status, url).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  };

  // ---------------------------------------------------------------------------------------------
  // The flows, with the SDK's client: what they see is asserted by the statements below.

  it('flow: the SDK discovers Gatehouse, identifies itself by its metadata document, and calls a tool', async () => {
    const provider = new ConformanceProvider(callbackUrl, { documentUrl, stepUp: false });
    const { client, consent } = await connected(provider);
    seen.successIss = consent.query.get('iss');
    seen.consentText = consent.text;
    seen.firstTokens = provider.tokens();
    expect(await whoami(client)).toEqual({ clientId: documentUrl, scopes: ['mcp:tools'] });
    // Observed (Step-Up Authorization Flow): SDK 1.32.2 on its own answers the 403 by spending
    // its refresh token, which gives back the same scopes, and then gives up.
    await expect(client.callTool({ name: 'write_note' })).rejects.toThrow(
      /403 after trying upscoping/,
    );
    seen.refreshedBySdk = provider.tokens();
    await client.close();
  });

  it('flow: step-up with accumulated scopes: 403 insufficient_scope, a consent page asking only for the new scope, then the call succeeds', async () => {
    const provider = new ConformanceProvider(callbackUrl, {
      documentUrl: `${documentBase}/other-client.json`,
      stepUp: true,
    });
    const { client, transport } = await connected(provider);
    const before = provider.tokens();
    expect((await whoami(client)).scopes).toEqual(['mcp:tools']);

    // The tool needs notes:write: 403, and the SDK starts an authorization (UnauthorizedError).
    await expect(client.callTool({ name: 'write_note' })).rejects.toThrow(UnauthorizedError);
    expect(provider.sdkScope).toBe('notes:write');
    expect(provider.authorizationUrl?.searchParams.get('scope')).toBe('mcp:tools notes:write');
    const consent = await consentInBrowser(provider);
    await transport.finishAuth(consent.query.get('code') ?? '');

    const written = await client.callTool({ name: 'write_note' });
    expect((written.content as { text: string }[])[0]?.text).toBe('saved');
    const after = await whoami(client);
    seen.stepUp = {
      sdkScope: provider.sdkScope,
      asked: consent.asked,
      granted: consent.granted,
      scopes: [...after.scopes].sort(),
    };
    expect(seen.stepUp).toEqual({
      sdkScope: 'notes:write',
      asked: ['notes:write'],
      granted: ['mcp:tools'],
      scopes: ['mcp:tools', 'notes:write'],
    });
    await client.close();

    // The recorded consent is the union; the earlier grant's refresh token still works, for what
    // it was issued with (RFC 6749 §6: a refresh never widens a grant).
    const user = await gatehouse.stores.users.findByEmail('development', EMAIL);
    const recorded = await gatehouse.stores.consents.get(
      'development',
      user?.id ?? '',
      `${documentBase}/other-client.json`,
    );
    const at = encodeURIComponent(resource);
    expect(recorded).toEqual(
      expect.arrayContaining([`mcp:tools@${at}`, `notes:write@${at}`, `resource@${at}`]),
    );
    const refreshed = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: `${documentBase}/other-client.json`,
        refresh_token: before?.refresh_token ?? '',
        resource,
      }),
    });
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as { scope: string }).scope).toBe('mcp:tools');
  });

  // ---------------------------------------------------------------------------------------------
  // The statements.

  const statements: Statement[] = [
    {
      id: 'OV-1',
      source: 'index §Overview 1',
      level: 'MUST',
      party: 'AS',
      text: 'implement OAuth 2.1 with appropriate security measures for both confidential and public clients',
      async check() {
        // OAuth 2.1 §4.1.1: PKCE from every client, public (the SDK's, by its metadata document)
        // and confidential (an operator's web application with a secret): with it the request
        // goes on to sign-in; without it the client is sent an error and no code.
        const webApp = await createClient(ctx(), {
          environment: 'development',
          type: 'web',
          name: 'Conformance web application',
          redirectUris: ['https://app.example.com/callback'],
        });
        const secret = webApp.clientSecret ?? '';
        expect(secret).not.toBe('');
        const clients = [
          { client_id: documentUrl, redirect_uri: 'http://127.0.0.1:4567/callback' },
          { client_id: webApp.client.clientId, redirect_uri: 'https://app.example.com/callback' },
        ];
        for (const client of clients) {
          toLogin(await authorize(codeRequest(client)));
          const withoutPkce: Record<string, string> = codeRequest(client);
          delete withoutPkce.code_challenge;
          delete withoutPkce.code_challenge_method;
          const answer = await authorize(withoutPkce);
          expect(answer.status, client.client_id).toBe(303);
          expect(`${answer.location?.origin}${answer.location?.pathname}`).toBe(
            client.redirect_uri,
          );
          expect(answer.location?.searchParams.get('code') ?? null).toBeNull();
          expect(answer.location?.searchParams.get('error')).toBe('invalid_request');
        }
        // OAuth 2.1 §3.2.1: a confidential client authenticates at the token endpoint. With its
        // secret, a made-up code is merely not a grant; without it, or with another, the client
        // itself is refused.
        const redeem = (credentials: Record<string, string>) =>
          fetch(`${issuer}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              client_id: webApp.client.clientId,
              code: 'not-a-code',
              redirect_uri: 'https://app.example.com/callback',
              code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
              ...credentials,
            }),
          });
        const authenticated = await redeem({ client_secret: secret });
        expect(authenticated.status).toBe(400);
        expect(((await authenticated.json()) as { error: string }).error).toBe('invalid_grant');
        for (const credentials of [{}, { client_secret: `${secret}x` }]) {
          const refused = await redeem(credentials);
          expect(refused.status).toBe(401);
          expect(((await refused.json()) as { error: string }).error).toBe('invalid_client');
        }
      },
    },
    {
      id: 'OV-2',
      source: 'index §Overview 2; client-registration §Client ID Metadata Documents',
      level: 'SHOULD',
      party: 'AS',
      text: 'support OAuth Client ID Metadata Documents',
      async check() {
        const metadata = await asMetadata(
          `${base}/.well-known/oauth-authorization-server/e/development`,
        );
        expect(metadata.client_id_metadata_document_supported).toBe(true);
        // Only where the environment allows them: production refuses them until an operator says.
        const production = await asMetadata(
          `${base}/.well-known/oauth-authorization-server/e/production`,
        );
        expect(production.client_id_metadata_document_supported).toBe(false);
        // The SDK's flow identified itself by its document's URL, and its token names that client.
        expect(decodeJwt(seen.firstTokens?.access_token ?? '').client_id).toBe(documentUrl);
      },
    },
    {
      id: 'OV-4',
      source: 'index §Overview 4; authorization-server-discovery §Authorization Server Location',
      level: 'MUST',
      party: 'RS',
      text: 'implement OAuth 2.0 Protected Resource Metadata; include authorization_servers with at least one',
      async check() {
        const metadata = await discoverOAuthProtectedResourceMetadata(resource);
        expect(metadata.resource).toBe(resource);
        expect(metadata.authorization_servers).toEqual([issuer]);
      },
    },
    {
      id: 'OV-5',
      source: 'index §Overview 5',
      level: 'MUST',
      party: 'AS',
      text: 'provide at least one of RFC 8414 metadata or OpenID Connect Discovery',
      async check() {
        for (const url of [
          `${base}/.well-known/oauth-authorization-server/e/development`,
          `${base}/.well-known/openid-configuration/e/development`,
          `${issuer}/.well-known/openid-configuration`,
        ])
          expect((await asMetadata(url)).issuer, url).toBe(issuer);
      },
    },
    {
      id: 'ASD-1',
      source: 'authorization-server-discovery §Protected Resource Metadata Discovery Requirements',
      level: 'MUST',
      party: 'RS',
      text: 'implement one of: resource_metadata in WWW-Authenticate on 401, or the well-known URI',
      async check() {
        const response = await mcpPost({}, { method: 'ping' });
        expect(response.status).toBe(401);
        expect(extractWWWAuthenticateParams(response).resourceMetadataUrl?.href).toBe(
          rs.metadataUrl,
        );
        expect(new URL(rs.metadataUrl).pathname).toBe('/.well-known/oauth-protected-resource/mcp');
      },
    },
    {
      id: 'ASD-2',
      source: 'authorization-server-discovery §Authorization Server Metadata Discovery',
      level: 'MUST',
      party: 'AS',
      text: 'the issuer value in the document MUST be identical to the issuer identifier used to construct the well-known URL',
      async check() {
        const metadata = await discoverAuthorizationServerMetadata(issuer);
        expect(metadata?.issuer).toBe(issuer);
      },
    },
    {
      id: 'SS-1',
      source: 'index §Scope Selection Strategy',
      level: 'SHOULD',
      party: 'RS',
      text: 'include a scope parameter in the WWW-Authenticate header to indicate the scopes required',
      async check() {
        const response = await mcpPost({}, { method: 'ping' });
        expect(extractWWWAuthenticateParams(response).scope).toBe('mcp:tools');
      },
    },
    {
      id: 'RT-1',
      source: 'index §Refresh Tokens',
      level: 'SHOULD NOT',
      party: 'RS',
      text: 'include offline_access in WWW-Authenticate scope or Protected Resource Metadata scopes_supported',
      async check() {
        const challenge = extractWWWAuthenticateParams(await mcpPost({}, { method: 'ping' }));
        expect(challenge.scope).not.toContain('offline_access');
        const metadata = await discoverOAuthProtectedResourceMetadata(resource);
        expect(metadata.scopes_supported).not.toContain('offline_access');
      },
    },
    {
      id: 'ARV-1',
      source: 'index §Authorization Response Validation',
      level: 'SHOULD',
      party: 'AS',
      text: 'include the iss parameter in authorization responses, including error responses',
      async check() {
        expect(seen.successIss).toBe(issuer);
        const refused = await authorize(codeRequest({ scope: 'mcp:tools not-a-scope' }));
        expect(refused.location?.searchParams.get('error')).toBe('invalid_scope');
        expect(refused.location?.searchParams.get('iss')).toBe(issuer);
      },
    },
    {
      id: 'ARV-2',
      source: 'index §Authorization Response Validation (RFC 9207 §2.3)',
      level: 'MUST',
      party: 'AS',
      text: 'servers that include iss MUST advertise authorization_response_iss_parameter_supported true',
      async check() {
        // (The SDK's metadata type has no such field: it reads iss nowhere; see docs/mcp.md.)
        const metadata = await asMetadata(`${issuer}/.well-known/openid-configuration`);
        expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
      },
    },
    {
      id: 'RP-1',
      source: 'index §Canonical Server URI',
      level: 'SHOULD',
      party: 'AS',
      text: 'implementations SHOULD accept uppercase scheme and host components',
      notMet:
        'resource indicators are compared exactly as registered (RFC 8707 §2 names one resource by one URI); another spelling is refused with invalid_target, so a client must send the URI the protected resource metadata names',
      async check() {
        const upper = resource.replace('http://127.0.0.1', 'HTTP://127.0.0.1');
        const answer = await authorize(codeRequest({ resource: upper }));
        expect(answer.location?.searchParams.get('error')).toBe('invalid_target');
      },
    },
    {
      id: 'TH-1',
      source: 'index §Token Handling; security-considerations §Access Token Privilege Restriction',
      level: 'MUST',
      party: 'RS',
      text: 'validate access tokens (OAuth 2.1 §5.2); invalid or expired tokens MUST receive a HTTP 401',
      async check() {
        const token = await machineToken('mcp:tools');
        const [header, payload] = token.split('.');
        const forged = `${header}.${payload}.${'A'.repeat(86)}`;
        for (const bad of ['not-a-token', forged]) {
          const response = await mcpPost({ authorization: `Bearer ${bad}` }, { method: 'ping' });
          expect(response.status).toBe(401);
          expect(extractWWWAuthenticateParams(response).error).toBe('invalid_token');
        }
        // Expired: a token Gatehouse signed, accepted now, then presented once the MCP server's
        // clock is past its exp and the 30 s leeway (RFC 9068 §4, RFC 7519 §4.1.4).
        const auth = { authorization: `Bearer ${token}` };
        expect((await mcpPost(auth, { method: 'ping' })).status).toBe(200);
        const exp = decodeJwt(token).exp ?? 0;
        resourceClockAheadMs = (exp + 31) * 1000 - Date.now();
        try {
          const response = await mcpPost(auth, { method: 'ping' });
          expect(response.status).toBe(401);
          const challenge = response.headers.get('www-authenticate') ?? '';
          expect(extractWWWAuthenticateParams(response).error).toBe('invalid_token');
          expect(challenge).toContain('error_description="the access token has expired"');
        } finally {
          resourceClockAheadMs = 0;
        }
      },
    },
    {
      id: 'TH-2',
      source:
        'index §Token Handling; security-considerations §Token Audience Binding and Validation',
      level: 'MUST',
      party: 'RS',
      text: 'validate that access tokens were issued specifically for them as the intended audience; only accept tokens valid for their own resources',
      async check() {
        const other = `${resource}-other`;
        await registerResource(ctx(), 'development', {
          uri: other,
          name: 'Another server',
          scopes: ['mcp:tools'],
        });
        const token = await machineToken('mcp:tools', other);
        const response = await mcpPost({ authorization: `Bearer ${token}` }, { method: 'ping' });
        expect(response.status).toBe(401);
        expect(extractWWWAuthenticateParams(response).error).toBe('invalid_token');
      },
    },
    {
      id: 'TR-1',
      source: 'index §Token Requirements',
      level: 'MUST NOT',
      party: 'RS',
      text: 'access tokens MUST NOT be included in the URI query string',
      async check() {
        const token = await machineToken('mcp:tools');
        const response = await mcpPost(
          {},
          { method: 'ping' },
          `${resource}?access_token=${encodeURIComponent(token)}`,
        );
        expect(response.status).toBe(400);
        expect(extractWWWAuthenticateParams(response).error).toBe('invalid_request');
      },
    },
    {
      id: 'EH-1',
      source: 'index §Error Handling',
      level: 'MUST',
      party: 'RS',
      text: 'return appropriate HTTP status codes: 401 token missing or invalid, 403 insufficient scope, 400 malformed request',
      async check() {
        expect((await mcpPost({}, { method: 'ping' })).status).toBe(401);
        const token = await machineToken('mcp:tools');
        const auth = { authorization: `Bearer ${token}` };
        expect(
          (await mcpPost(auth, { method: 'tools/call', params: { name: 'write_note' } })).status,
        ).toBe(403);
        expect((await mcpPost(auth, { method: 'ping' }, `${resource}?access_token=x`)).status).toBe(
          400,
        );
      },
    },
    {
      id: 'SC-1',
      source: 'index §Runtime Insufficient Scope Errors',
      level: 'SHOULD',
      party: 'RS',
      text: 'respond 403 with error="insufficient_scope", scope="…" and resource_metadata',
      async check() {
        const token = await machineToken('mcp:tools');
        const response = await mcpPost(
          { authorization: `Bearer ${token}` },
          { method: 'tools/call', params: { name: 'write_note' } },
        );
        expect(response.status).toBe(403);
        expect(extractWWWAuthenticateParams(response)).toMatchObject({
          error: 'insufficient_scope',
          scope: 'notes:write',
          resourceMetadataUrl: new URL(rs.metadataUrl),
        });
      },
    },
    {
      id: 'SC-2',
      source: 'index §Runtime Insufficient Scope Errors',
      level: 'SHOULD',
      party: 'RS',
      text: 'include all scopes required for the current operation in a single challenge',
      async check() {
        // A token with none of them: the challenge names every scope the request needs at once.
        const token = await machineToken('notes:admin');
        const response = await mcpPost({ authorization: `Bearer ${token}` }, { method: 'ping' });
        expect(response.status).toBe(403);
        expect(extractWWWAuthenticateParams(response).scope).toBe('mcp:tools');
        expect(seen.stepUp?.scopes).toEqual(['mcp:tools', 'notes:write']);
      },
    },
    {
      id: 'SC-3',
      source: 'index §Step-Up Authorization Flow',
      level: 'MUST',
      party: 'RS',
      text: 'account for scope hierarchies, where a broader scope implies narrower ones',
      notMet:
        '@gatehouse/resource compares scopes as exact strings (RFC 6749 §3.3 defines no hierarchy); an MCP server whose scopes nest must list every scope a token may hold for an operation itself, so a broader scope alone is refused',
      async check() {
        const token = await machineToken('mcp:tools notes:admin');
        const response = await mcpPost(
          { authorization: `Bearer ${token}` },
          { method: 'tools/call', params: { name: 'write_note' } },
        );
        expect(response.status).toBe(403);
      },
    },
    {
      id: 'SU-1',
      source: 'index §Scope Selection Strategy; §Step-Up Authorization Flow 2',
      level: 'SHOULD',
      party: 'client (SDK 1.32.2, observed)',
      text: 'when re-authorizing, include these scopes alongside any previously granted scopes',
      notMet:
        'the SDK asks for the challenge\'s scope only, and first spends its refresh token (which cannot widen a grant) and gives up with "403 after trying upscoping"; a provider must hold back the refresh token on a 403 and widen the scope itself, as docs/mcp.md shows. Gatehouse then asks the user only for what is new',
      check() {
        expect(seen.stepUp?.sdkScope).toBe('notes:write');
        expect(seen.stepUp?.asked).toEqual(['notes:write']);
        expect(seen.stepUp?.granted).toEqual(['mcp:tools']);
      },
    },
    {
      id: 'TT-1',
      source: 'security-considerations §Token Theft',
      level: 'SHOULD',
      party: 'AS',
      text: 'issue short-lived access tokens',
      check() {
        const claims = decodeJwt(seen.firstTokens?.access_token ?? '');
        expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(600);
      },
    },
    {
      id: 'TT-2',
      source: 'security-considerations §Token Theft',
      level: 'MUST',
      party: 'AS',
      text: 'for public clients, rotate refresh tokens',
      async check() {
        // The SDK's refresh in the first flow was answered with a new refresh token.
        expect(seen.refreshedBySdk?.refresh_token).toMatch(/./);
        expect(seen.refreshedBySdk?.refresh_token).not.toBe(seen.firstTokens?.refresh_token);
        const old = seen.refreshedBySdk?.refresh_token ?? '';
        const response = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            client_id: documentUrl,
            refresh_token: old,
            resource,
          }),
        });
        const answer = (await response.json()) as { refresh_token?: string };
        expect(response.status).toBe(200);
        expect(answer.refresh_token).toMatch(/./);
        expect(answer.refresh_token).not.toBe(old);
      },
    },
    {
      id: 'CS-1',
      source: 'security-considerations §Communication Security 1',
      level: 'MUST',
      party: 'AS',
      text: 'all authorization server endpoints MUST be served over HTTPS',
      check() {
        // Plain http only on a loopback host (this test's server); any other base URL is refused.
        expect(() =>
          resolveServerConfig({ port: 0, baseUrl: 'http://auth.example.com' }, process.cwd()),
        ).toThrow(ConfigError);
      },
    },
    {
      id: 'CS-2',
      source: 'security-considerations §Communication Security 2',
      level: 'MUST',
      party: 'AS',
      text: 'all redirect URIs MUST be either localhost or use HTTPS',
      async check() {
        const response = await fetch(`${issuer}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            redirect_uris: ['http://app.example.com/callback'],
            token_endpoint_auth_method: 'none',
            application_type: 'web',
          }),
        });
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: string }).error).toBe('invalid_redirect_uri');
      },
    },
    {
      id: 'AC-1',
      source: 'security-considerations §Authorization Code Protection',
      level: 'MUST',
      party: 'AS',
      text: 'servers providing OpenID Connect Discovery MUST include code_challenge_methods_supported',
      async check() {
        const metadata = await asMetadata(`${issuer}/.well-known/openid-configuration`);
        expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
      },
    },
    {
      id: 'OR-1',
      source:
        'security-considerations §Open Redirection; client-registration §Implementation Requirements',
      level: 'MUST',
      party: 'AS',
      text: 'validate exact redirect URIs against pre-registered values (for a metadata document: those in the document)',
      async check() {
        // Exact, but for a loopback redirect's port (OAuth 2.1 §8.4.2, RFC 8252 §7.3).
        toLogin(await authorize(codeRequest()));
        refusedWithPage(
          await authorize(codeRequest({ redirect_uri: 'http://127.0.0.1:4567/elsewhere' })),
        );
        refusedWithPage(
          await authorize(codeRequest({ redirect_uri: 'https://evil.example.com/callback' })),
        );
      },
    },
    {
      id: 'OR-2',
      source: 'security-considerations §Open Redirection',
      level: 'MUST',
      party: 'AS',
      text: 'take precautions to prevent redirecting user agents to untrusted URIs; SHOULD only automatically redirect if it trusts the URI',
      async check() {
        // An unknown client or redirect is answered with a page; a self-described client's
        // consent page says its name is its own claim and where the browser goes.
        refusedWithPage(await authorize(codeRequest({ client_id: 'no-such-client' })));
        expect(seen.consentText).toContain('Gatehouse has not verified this application');
      },
    },
    {
      id: 'CIMD-1',
      source: 'client-registration §Implementation Requirements (authorization servers)',
      level: 'SHOULD',
      party: 'AS',
      text: 'fetch metadata documents when encountering URL-formatted client_ids',
      async check() {
        expect(documentFetches.get('/client.json')).toBeGreaterThanOrEqual(1);
        expect(await gatehouse.stores.clients.get('development', documentUrl)).toMatchObject({
          kind: 'metadata_document',
          name: 'Conformance MCP client',
        });
      },
    },
    {
      id: 'CIMD-2',
      source: 'client-registration §Implementation Requirements (authorization servers)',
      level: 'MUST',
      party: 'AS',
      text: "validate that the fetched document's client_id matches the URL exactly",
      async check() {
        refusedWithPage(
          await authorize(codeRequest({ client_id: `${documentBase}/mismatch.json` })),
        );
        expect(
          await gatehouse.stores.clients.get('development', `${documentBase}/mismatch.json`),
        ).toBeUndefined();
      },
    },
    {
      id: 'CIMD-3',
      source: 'client-registration §Implementation Requirements (authorization servers)',
      level: 'SHOULD',
      party: 'AS',
      text: 'cache metadata respecting HTTP cache headers',
      notMet:
        'a document is kept 5 minutes in memory (and a refusal 1 minute) whatever its Cache-Control says: a bounded, fixed lifetime so a client cannot make every request an outbound fetch; no-store and shorter max-age are not honoured',
      async check() {
        const before = documentFetches.get('/client.json') ?? 0;
        toLogin(await authorize(codeRequest()));
        toLogin(await authorize(codeRequest()));
        // The document said no-store; it was not fetched again.
        expect(documentFetches.get('/client.json')).toBe(before);
      },
    },
    {
      id: 'CIMD-4',
      source: 'client-registration §Implementation Requirements (authorization servers)',
      level: 'MUST',
      party: 'AS',
      text: 'validate the document structure is valid JSON and contains required fields',
      async check() {
        for (const path of ['/not-json.json', '/no-redirects.json'])
          refusedWithPage(await authorize(codeRequest({ client_id: `${documentBase}${path}` })));
      },
    },
    {
      id: 'CIMD-5',
      source: 'security-considerations §Authorization Server Abuse Protection',
      level: 'SHOULD',
      party: 'AS',
      text: 'consider Server-Side Request Forgery (SSRF) risks when fetching metadata documents',
      async check() {
        // Loopback and private addresses are refused unless the environment allows loopback
        // documents (development, for local tests): here production-like settings.
        await updateEnvironmentSettings(ctx(), 'development', { allowLoopbackDocuments: false });
        try {
          const fresh = `${documentBase}/ssrf-probe.json`;
          refusedWithPage(await authorize(codeRequest({ client_id: fresh })));
          expect(documentFetches.get('/ssrf-probe.json')).toBeUndefined();
        } finally {
          await updateEnvironmentSettings(ctx(), 'development', { allowLoopbackDocuments: true });
        }
      },
    },
    {
      id: 'CIMD-6',
      source: 'security-considerations §Localhost Redirect URI Risks',
      level: 'SHOULD',
      party: 'AS',
      text: 'display additional warnings for localhost-only redirect URIs',
      check() {
        expect(seen.consentText).toContain('an application on this computer');
      },
    },
    {
      id: 'CIMD-7',
      source: 'security-considerations §Localhost Redirect URI Risks',
      level: 'MUST',
      party: 'AS',
      text: 'clearly display the redirect URI hostname during authorization',
      check() {
        expect(seen.consentText).toContain(new URL(callbackUrl).host);
      },
    },
    {
      id: 'DCR-1',
      source: 'client-registration §Application Type and Redirect URI Constraints',
      level: 'MUST',
      party: 'AS',
      text: 'MCP clients MUST specify an appropriate application_type during Dynamic Client Registration (Gatehouse requires it)',
      async check() {
        const metadata = await discoverAuthorizationServerMetadata(issuer);
        if (metadata === undefined) throw new Error('no authorization server metadata');
        const without: OAuthClientMetadata & { application_type?: string } =
          new ConformanceProvider(callbackUrl, { stepUp: false }).clientMetadata;
        delete without.application_type;
        // The SDK surfaces the refusal as a meaningful error (client-registration: SHOULD).
        await expect(registerClient(issuer, { metadata, clientMetadata: without })).rejects.toThrow(
          /application_type is required/,
        );
        const registered = await registerClient(issuer, {
          metadata,
          clientMetadata: new ConformanceProvider(callbackUrl, { stepUp: false }).clientMetadata,
        });
        expect(registered.client_id).toMatch(/^ghc_development_/);
      },
    },
  ];

  for (const statement of statements) {
    const title = `${statement.id} ${statement.party} ${statement.level}: “${statement.text}” (${statement.source})${
      statement.notMet === undefined ? '' : ` — not met: ${statement.notMet}`
    }`;
    it(title, statement.check);
  }
});
