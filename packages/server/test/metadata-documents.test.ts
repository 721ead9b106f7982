/**
 * Client ID Metadata Documents: the SSRF guard of the fetcher, and clients identified by a URL
 * going through the real authorization endpoint.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyAddress } from '../src/net/address-policy.js';
import { DocumentFetcher, DocumentFetchError } from '../src/net/document-fetcher.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

/** A document server on loopback whose answers each test chooses by path. */
async function documentServer(
  routes: Record<
    string,
    (base: string) => {
      status?: number;
      type?: string;
      body: string;
      delayMs?: number;
      headers?: Record<string, string>;
    }
  >,
): Promise<{ base: string; server: Server }> {
  let base = '';
  const server = createServer((request, response) => {
    const route = routes[request.url ?? ''];
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    const answer = route(base);
    setTimeout(() => {
      response.writeHead(answer.status ?? 200, {
        'content-type': answer.type ?? 'application/json',
        ...answer.headers,
      });
      response.end(answer.body);
    }, answer.delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, server };
}

describe('the SSRF guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.1.2.3', 'internal'],
    ['172.16.0.1', 'internal'],
    ['192.168.1.1', 'internal'],
    ['169.254.169.254', 'internal'],
    ['100.64.0.1', 'internal'],
    ['0.0.0.0', 'internal'],
    ['224.0.0.1', 'internal'],
    ['fe80::1', 'internal'],
    ['fd12:3456::1', 'internal'],
    ['::', 'internal'],
    ['::ffff:10.0.0.1', 'internal'],
    ['::ffff:a9fe:a9fe', 'internal'],
    ['not an address', 'internal'],
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
  ])('classifies %s as %s', (address, verdict) => {
    expect(classifyAddress(address)).toBe(verdict);
  });

  it('never calls an address in a private IPv4 range public, however written', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(10, 127, 169, 172, 192),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (first, b, c, d, mapped) => {
          const second =
            first === 169 ? 254 : first === 172 ? 16 + (b % 16) : first === 192 ? 168 : b;
          const v4 = `${first}.${second}.${c}.${d}`;
          expect(classifyAddress(mapped ? `::ffff:${v4}` : v4)).not.toBe('public');
        },
      ),
    );
  });

  const fetcher = new DocumentFetcher({ limits: { timeoutMs: 500, maxBytes: 1024 } });
  const refusal = async (url: string, allowLoopback = false) => {
    try {
      await fetcher.fetchJson(new URL(url), { allowLoopback });
    } catch (error) {
      return error instanceof DocumentFetchError ? error.code : 'other';
    }
    return 'fetched';
  };

  it('refuses internal, loopback and metadata-service addresses before connecting', async () => {
    for (const url of [
      'https://127.0.0.1/client.json',
      'https://[::1]/client.json',
      'https://10.0.0.1/client.json',
      'https://169.254.169.254/latest/meta-data',
      'https://[::ffff:169.254.169.254]/x',
      'https://192.168.0.10/client.json',
    ])
      expect(await refusal(url), url).toBe('internal_address');
    // A name that resolves to this machine is refused in the lookup the connection uses.
    expect(await refusal('https://localhost/client.json')).toBe('internal_address');
    expect(await refusal('http://example.com/client.json')).toBe('scheme');
    expect(await refusal('http://127.0.0.1:9/client.json', false)).toBe('scheme');
  });

  describe('against a loopback document server (allowed for local tests only)', () => {
    let docs: { base: string; server: Server };
    beforeAll(async () => {
      docs = await documentServer({
        '/ok': () => ({ body: '{"client_id":"x"}' }),
        '/big': () => ({ body: `{"pad":"${'a'.repeat(4000)}"}` }),
        '/big-chunked': () => ({
          body: `{"pad":"${'a'.repeat(4000)}"}`,
          headers: { 'transfer-encoding': 'chunked' },
        }),
        '/slow': () => ({ body: '{}', delayMs: 2000 }),
        '/redirect': () => ({ status: 302, body: '', headers: { location: '/ok' } }),
        '/html': () => ({ type: 'text/html', body: '<p>hi</p>' }),
        '/broken': () => ({ body: '{not json' }),
        '/missing': () => ({ status: 404, body: '' }),
      });
    });
    afterAll(
      () =>
        new Promise<void>((resolve) => {
          docs.server.close(() => {
            resolve();
          });
        }),
    );

    it('fetches a small JSON document', async () => {
      expect(await fetcher.fetchJson(new URL(`${docs.base}/ok`), { allowLoopback: true })).toEqual({
        client_id: 'x',
      });
    });
    it.each([
      ['/big', 'too_large'],
      ['/big-chunked', 'too_large'],
      ['/slow', 'timeout'],
      ['/redirect', 'redirect'],
      ['/html', 'content_type'],
      ['/broken', 'json'],
      ['/missing', 'status'],
    ])('refuses %s (%s)', async (path, code) => {
      expect(await refusal(`${docs.base}${path}`, true)).toBe(code);
    });
  });
});

describe.each(DATABASES)('metadata-document clients on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let docs: { base: string; server: Server };
  const document =
    (overrides: Record<string, unknown> = {}) =>
    (base: string) => ({
      body: JSON.stringify({
        client_id: `${base}/client.json`,
        client_name: 'Notes <b>Agent</b>',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'none',
        ...overrides,
      }),
    });

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    await t.user('meta@example.com', 'meta password 123');
    docs = await documentServer({
      '/client.json': document(),
      '/mismatch.json': document({ client_id: 'https://someone-else.example/client.json' }),
      '/refused.json': (base) =>
        document({
          client_id: `${base}/refused.json`,
          redirect_uris: ['http://evil.example.com/callback'],
        })(base),
      '/secret.json': (base) =>
        document({ client_id: `${base}/secret.json`, client_secret: 'x' })(base),
    });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      docs.server.close(() => {
        resolve();
      });
    });
    await t.close();
    await db.drop();
  });

  const authorize = (browser: FormBrowser, clientId: string) => {
    const { verifier, challenge } = pkce();
    return {
      verifier,
      response: browser.get(
        `/e/development/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: 'http://127.0.0.1:5123/callback', response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 's' }).toString()}`,
      ),
    };
  };

  it('advertises metadata documents and, in development, the registration endpoint', async () => {
    const metadata = (await (
      await fetch(`${t.url}/.well-known/oauth-authorization-server/e/development`)
    ).json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBe(true);
    expect(metadata.registration_endpoint).toBe(`${t.issuer('development')}/register`);
  });

  it('never fetches a loopback document unless the development setting allows it', async () => {
    const { response } = authorize(new FormBrowser(t.url), `${docs.base}/client.json`);
    const page = await response;
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
    expect(
      await t.ctx.stores.clients.get('development', `${docs.base}/client.json`),
    ).toBeUndefined();
    await t.ctx.stores.environments.update('development', { allowLoopbackDocuments: true });
  });

  it('signs a user in to a client known only by its document, marked unverified', async () => {
    const clientId = `${docs.base}/client.json`;
    const browser = new FormBrowser(t.url);
    const { verifier, response } = authorize(browser, clientId);
    let { last } = await browser.follow(await response);
    const login = await last.text();
    expect(login).toContain('name="password"');
    ({ last } = await browser.follow(
      await browser.post('/e/development/login', {
        ...FormBrowser.fields(login),
        email: 'meta@example.com',
        password: 'meta password 123',
      }),
    ));
    const consent = await last.text();
    expect(consent).toContain('An application calling itself “Notes &lt;b&gt;Agent&lt;/b&gt;”');
    expect(consent).toContain('has not verified this application');
    expect(consent).toContain(`It identifies itself by <code>${clientId}</code>`);
    expect(consent).toContain('an application on this computer');
    const { location } = await browser.follow(
      await browser.post('/e/development/consent', {
        ...FormBrowser.fields(consent),
        decision: 'allow',
      }),
    );
    const code = new URL(location ?? '').searchParams.get('code') ?? '';
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1:5123/callback',
      client_id: clientId,
    });
    expect(tokens.status).toBe(200);
    const stored = await t.ctx.stores.clients.get('development', clientId);
    expect(stored).toMatchObject({ kind: 'metadata_document', type: 'native', secretHash: null });
    const [entry] = await t.ctx.stores.audit.tail({
      type: 'client.metadata_document_resolved',
      clientId,
    });
    expect(entry?.data).toMatchObject({ kind: 'metadata_document' });
  });

  it.each([
    ['mismatch.json', 'client_id differs from its URL'],
    ['refused.json', 'is refused'],
    ['secret.json', 'must not carry a client secret'],
  ])('refuses %s on a page, never redirecting', async (path, why) => {
    const { response } = authorize(new FormBrowser(t.url), `${docs.base}/${path}`);
    const page = await response;
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
    expect(await page.text()).toContain(why);
  });
});
