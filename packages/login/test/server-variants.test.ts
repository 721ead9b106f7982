/**
 * How the kit adapts to what a server's metadata says, against a small fake server: when to send
 * `prompt=consent`, and what `logout` reports when revocation is refused or partial.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileTokenStore, logout, pasteLogin, type StoredTokens } from '../src/index.js';

describe('the kit against what a server says of itself', () => {
  let server: Server;
  let issuer: string;
  let metadata: Record<string, unknown>;
  /** The revocation endpoint's answer per token; default 200. */
  let revocation: Map<string, { status: number; body: unknown }>;
  let revoked: string[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', issuer);
      const json = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (url.pathname === '/.well-known/openid-configuration') {
        json(200, metadata);
        return;
      }
      if (url.pathname === '/revoke') {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          const token = new URLSearchParams(body).get('token') ?? '';
          const answer = revocation.get(token) ?? { status: 200, body: {} };
          if (answer.status === 200) revoked.push(token);
          json(answer.status, answer.body);
        });
        return;
      }
      // The authorization endpoint: a sign-in page, as far as the kit's probe can tell.
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<h1>Sign in</h1>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    metadata = {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      revocation_endpoint: `${issuer}/revoke`,
      code_challenge_methods_supported: ['S256'],
    };
    revocation = new Map();
    revoked = [];
  });

  /** The authorization URL the kit builds for `scope` (paste mode, abandoned at the paste). */
  async function authorizationUrl(scope?: string): Promise<URL> {
    let url = '';
    await pasteLogin({
      issuer,
      clientId: 'cli',
      allowHttpLoopbackIssuer: true,
      redirectUri: 'http://127.0.0.1:1/callback',
      ...(scope === undefined ? {} : { scope }),
      onAuthorizationUrl: (u) => (url = u),
      readPastedUrl: () => Promise.resolve(''),
    }).catch(() => undefined);
    return new URL(url);
  }

  it('sends prompt=consent with offline_access (OIDC Core §11), unless the server lists prompts without it', async () => {
    expect((await authorizationUrl()).searchParams.get('prompt')).toBe('consent');
    metadata.prompt_values_supported = ['none', 'login', 'consent'];
    expect((await authorizationUrl()).searchParams.get('prompt')).toBe('consent');
    expect((await authorizationUrl('openid email')).searchParams.has('prompt')).toBe(false);
    metadata.prompt_values_supported = ['none', 'login'];
    const url = await authorizationUrl();
    expect(url.searchParams.get('scope')).toBe('openid email offline_access');
    expect(url.searchParams.has('prompt')).toBe(false);
  });

  async function signedIn(withRefreshToken = true): Promise<FileTokenStore> {
    const store = new FileTokenStore(join(await mkdtemp(join(tmpdir(), 'gatehouse-sv-')), 'c'));
    const tokens: StoredTokens = {
      issuer,
      clientId: 'cli',
      accessToken: 'access',
      tokenType: 'bearer',
      expiresAt: 0,
      allowHttpLoopbackIssuer: true,
    };
    await store.set('p', withRefreshToken ? { ...tokens, refreshToken: 'refresh' } : tokens);
    return store;
  }

  it('logout reports a refusal with the server’s error, and still forgets the tokens', async () => {
    revocation.set('refresh', { status: 401, body: { error: 'invalid_client' } });
    const store = await signedIn();
    expect(await logout(store, 'p')).toEqual({
      known: true,
      revoked: false,
      notRevoked: 'refused',
      error: 'invalid_client',
    });
    expect(await store.list()).toEqual([]);
  });

  it('logout counts a server that revokes refresh tokens only as revoked (RFC 7009 §2.2.1)', async () => {
    revocation.set('access', { status: 400, body: { error: 'unsupported_token_type' } });
    expect(await logout(await signedIn(), 'p')).toEqual({ known: true, revoked: true });
    expect(revoked).toEqual(['refresh']);
    // Without a refresh token, nothing was revoked.
    expect(await logout(await signedIn(false), 'p')).toMatchObject({
      revoked: false,
      notRevoked: 'refused',
      error: 'unsupported_token_type',
    });
  });
});
