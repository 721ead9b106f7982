/**
 * End to end with the MCP TypeScript SDK: an Express MCP server (StreamableHTTPServerTransport,
 * stateless) protected by this package, Gatehouse issuing the token, and the SDK's client
 * calling a tool that reads `extra.authInfo`. The SDK's client helpers read our challenge and
 * metadata as an MCP client would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataMiddleware, requireBearer } from '../src/express.js';
import { createResourceServer, type ResourceServer } from '../src/index.js';
import { startGatehouse, type Gatehouse } from './support/gatehouse.js';

function whoamiServer(): McpServer {
  const server = new McpServer({ name: 'resource-test', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who is calling, by their token' }, (extra) => ({
    content: [
      {
        type: 'text',
        text: JSON.stringify({
          clientId: extra.authInfo?.clientId,
          scopes: extra.authInfo?.scopes,
          resource: extra.authInfo?.resource?.href,
        }),
      },
    ],
  }));
  return server;
}

describe('an MCP SDK server protected by @gatehouse/resource', () => {
  let gatehouse: Gatehouse;
  let http: Server;
  let resource: string;
  let rs: ResourceServer;

  beforeAll(async () => {
    gatehouse = await startGatehouse();
    http = createServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    resource = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
    await gatehouse.register(resource, ['mcp:tools']);

    rs = createResourceServer({
      resource,
      issuer: gatehouse.issuer,
      scopesSupported: ['mcp:tools'],
    });
    const app = express();
    app.use(metadataMiddleware(rs));
    app.use(express.json());
    const auth = requireBearer(rs, { requiredScopes: ['mcp:tools'] });
    app.post('/mcp', auth, async (req, res) => {
      // Stateless: a server and a transport per request; req.auth reaches the tool as authInfo.
      const server = whoamiServer();
      const transport = new StreamableHTTPServerTransport({});
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    });
    app.get('/mcp', auth, (_req, res) => {
      res.status(405).set('allow', 'POST').end();
    });
    http.on('request', app);
  });

  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await gatehouse.close();
  });

  it('the tool sees the AuthInfo of the Gatehouse token', async () => {
    const token = await gatehouse.token(resource, 'mcp:tools');
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(resource), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const result = await client.callTool({ name: 'whoami' });
      const [content] = result.content as { type: string; text: string }[];
      const seen = JSON.parse(content?.text ?? '{}') as Record<string, unknown>;
      expect(seen).toMatchObject({ scopes: ['mcp:tools'], resource });
      expect(seen.clientId).toMatch(/^ghc_development_/);
    } finally {
      await client.close();
    }
  });

  it('without a token the SDK client learns where the metadata is and what scope to ask', async () => {
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await expect(
      client.connect(new StreamableHTTPClientTransport(new URL(resource))),
    ).rejects.toThrow();
    const response = await fetch(resource, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(response.status).toBe(401);
    const challenge = extractWWWAuthenticateParams(response);
    expect(challenge.resourceMetadataUrl?.href).toBe(rs.metadataUrl);
    expect(challenge.scope).toBe('mcp:tools');
    expect(challenge.error).toBeUndefined();
    const metadata = await discoverOAuthProtectedResourceMetadata(resource, {
      resourceMetadataUrl: challenge.resourceMetadataUrl ?? rs.metadataUrl,
    });
    expect(metadata).toMatchObject({ resource, authorization_servers: [gatehouse.issuer] });
  });

  it('a token without the scope is refused with insufficient_scope', async () => {
    const token = await gatehouse.token(resource);
    const response = await fetch(resource, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(response.status).toBe(403);
    expect(extractWWWAuthenticateParams(response)).toMatchObject({
      error: 'insufficient_scope',
      scope: 'mcp:tools',
    });
  });
});
