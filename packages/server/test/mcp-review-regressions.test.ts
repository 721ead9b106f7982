/**
 * Regressions for the adversarial review of the MCP work (issue #6): each was reproduced against
 * an earlier version.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import {
  createInitialAccessToken,
  revokeInitialAccessTokens,
} from '../src/services/dynamic-clients.js';
import { registerResource } from '../src/services/resources.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'review six password';
const A = 'https://notes.example.com/mcp';
const B = 'https://billing.example.com/api';

describe.each(DATABASES)('MCP review regressions on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let docs: Server;
  let docsBase = '';
  let hits = 0;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    await t.user('rita@example.com', PASSWORD);
    await registerResource(t.ctx, 'development', { uri: A, name: 'Notes', scopes: ['read'] });
    await registerResource(t.ctx, 'development', { uri: B, name: 'Billing', scopes: ['read'] });
    docs = createServer((request, response) => {
      hits++;
      const path = request.url ?? '';
      if (!path.startsWith('/ok')) {
        response.writeHead(404).end();
        return;
      }
      // A slow answer, so concurrent first uses overlap.
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            client_id: `${docsBase}${path}`,
            redirect_uris: ['http://127.0.0.1/callback'],
            token_endpoint_auth_method: 'none',
          }),
        );
      }, 100);
    });
    await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
    docsBase = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    await t.ctx.stores.environments.update('development', { allowLoopbackDocuments: true });
  });
  afterAll(async () => {
    docs.closeAllConnections();
    await new Promise<void>((resolve) => {
      docs.close(() => {
        resolve();
      });
    });
    await t.close();
    await db.drop();
  });

  const authorizeUrl = (clientId: string, extra: Record<string, string> = {}) =>
    `/e/development/authorize?${new URLSearchParams({
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:6000/callback',
      response_type: 'code',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      ...extra,
    }).toString()}`;

  it('never lets a self-registered client use client_credentials', async () => {
    const answer = await fetch(`${t.issuer('development')}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_post',
        application_type: 'web',
      }),
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });

  it('holds the device flow to the registered resources and the client’s list', async () => {
    const device = await createClient(t.ctx, {
      environment: 'development',
      type: 'native',
      name: 'TV',
      redirectUris: [],
      grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      allowedResources: [A],
    });
    const ask = async (resource: string, scope = '') =>
      (await (
        await fetch(`${t.issuer('development')}/device_authorization`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: device.client.clientId, resource, scope }),
        })
      ).json()) as { error?: string; device_code?: string };
    expect((await ask('https://unregistered.example/')).error).toBe('invalid_target');
    expect((await ask(B)).error).toBe('invalid_target');
    expect((await ask(A, 'read')).device_code).toMatch(/^ghdc_/);
  });

  it('does not take consent for one resource’s scope as consent for another’s', async () => {
    const app = await t.client({
      type: 'native',
      name: 'Reader',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    const browser = new FormBrowser(t.url);
    const location = await browser.authorize(
      {
        client_id: app.clientId,
        redirect_uri: 'http://127.0.0.1:6000/callback',
        response_type: 'code',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        resource: A,
        scope: 'read',
      },
      'rita@example.com',
      PASSWORD,
    );
    expect(new URL(location).searchParams.get('code')).not.toBeNull();
    // The same scope name at another resource needs the user again.
    const silent = await browser.follow(
      await browser.get(authorizeUrl(app.clientId, { resource: B, scope: 'read', prompt: 'none' })),
    );
    expect(new URL(silent.location ?? '').searchParams.get('error')).toBe('consent_required');
    const page = await (
      await browser.follow(
        await browser.get(authorizeUrl(app.clientId, { resource: B, scope: 'read' })),
      )
    ).last.text();
    expect(page).toContain('Access is for');
    expect(page).toContain('<strong>Billing</strong>');
    expect(page).toContain(`<code>${B}</code>`);
  });

  it('turns metadata-document clients off with their own setting, and fetches a refused URL once a minute', async () => {
    // Issue #13: one switch decides (the registration policy used to, and `token` let them in).
    await t.ctx.stores.environments.update('development', { metadataDocuments: false });
    const off = await new FormBrowser(t.url).get(authorizeUrl(`${docsBase}/ok/off.json`));
    expect(off.status).toBe(400);
    expect(await off.text()).toContain('not allowed');
    await t.ctx.stores.environments.update('development', { metadataDocuments: true });

    const before = hits;
    for (let i = 0; i < 3; i++)
      expect(
        (await new FormBrowser(t.url).get(authorizeUrl(`${docsBase}/missing.json`))).status,
      ).toBe(400);
    expect(hits - before).toBe(1);
  });

  it('resolves a new document once when many requests use it at the same time', async () => {
    const clientId = `${docsBase}/ok/concurrent.json`;
    const before = hits;
    const statuses = await Promise.all(
      Array.from(
        { length: 5 },
        async () => (await new FormBrowser(t.url).get(authorizeUrl(clientId))).status,
      ),
    );
    expect(statuses).toEqual([303, 303, 303, 303, 303]);
    expect(hits - before).toBe(1);
  });

  it('limits document fetches per address', async () => {
    let last = 0;
    let body = '';
    for (let i = 0; i < 35; i++) {
      const response = await new FormBrowser(t.url).get(
        authorizeUrl(`${docsBase}/nothing-${i}.json`),
      );
      last = response.status;
      body = await response.text();
    }
    expect(last).toBe(400);
    expect(body).toContain('too many metadata documents');
  });

  it('revokes initial access tokens, and closes RFC 7592 updates when registration is off', async () => {
    const { token } = await createInitialAccessToken(t.ctx, 'staging', 60_000);
    const register = (bearer: string) =>
      fetch(`${t.issuer('staging')}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({
          redirect_uris: ['https://app.example.com/cb'],
          token_endpoint_auth_method: 'client_secret_basic',
          application_type: 'web',
        }),
      });
    const created = (await (await register(token)).json()) as Record<string, string>;
    expect(await revokeInitialAccessTokens(t.ctx, 'staging')).toBe(1);
    expect((await register(token)).status).toBe(401);

    await t.ctx.stores.environments.update('staging', { registration: 'off' });
    const update = await fetch(created.registration_client_uri ?? '', {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${created.registration_access_token ?? ''}`,
      },
      body: JSON.stringify({
        client_id: created.client_id,
        redirect_uris: ['https://elsewhere.example.com/cb'],
        token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'web',
      }),
    });
    expect(update.status).toBe(403);
    const read = await fetch(created.registration_client_uri ?? '', {
      headers: { authorization: `Bearer ${created.registration_access_token ?? ''}` },
    });
    expect(((await read.json()) as { redirect_uris: string[] }).redirect_uris).toEqual([
      'https://app.example.com/cb',
    ]);
  });
});
