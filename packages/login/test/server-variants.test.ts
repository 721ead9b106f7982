/**
 * How the kit adapts to what a server's metadata says, against a small fake server: when to send
 * `prompt=consent`, when and how to push the authorization request (RFC 9126), and what `logout`
 * reports when revocation is refused or partial.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FileTokenStore,
  LoginError,
  logout,
  pasteLogin,
  type LoginOptions,
  type StoredTokens,
} from '../src/index.js';

describe('the kit against what a server says of itself', () => {
  let server: Server;
  let issuer: string;
  let metadata: Record<string, unknown>;
  /** The revocation endpoint's answer per token; default 200. */
  let revocation: Map<string, { status: number; body: unknown }>;
  let revoked: string[];
  /** The PAR endpoint's answer; what was pushed to it (body and Authorization header). */
  let parAnswer: { status: number; body: unknown };
  let pushed: { body: URLSearchParams; authorization: string | undefined }[];
  let authorizeRequests: number;

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
      if (url.pathname === '/par') {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          pushed.push({
            body: new URLSearchParams(body),
            authorization: request.headers.authorization,
          });
          json(parAnswer.status, parAnswer.body);
        });
        return;
      }
      // The authorization endpoint: a sign-in page, as far as the kit's probe can tell.
      authorizeRequests += 1;
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
    parAnswer = {
      status: 201,
      body: { request_uri: 'urn:ietf:params:oauth:request_uri:abc', expires_in: 60 },
    };
    pushed = [];
    authorizeRequests = 0;
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

  /** The kit's error before any URL is shown, and whether a URL was shown at all. */
  async function refusal(
    options: Partial<LoginOptions> = {},
  ): Promise<{ error: unknown; shown: boolean }> {
    let shown = false;
    const error = await pasteLogin({
      issuer,
      clientId: 'cli',
      allowHttpLoopbackIssuer: true,
      redirectUri: 'http://127.0.0.1:1/callback',
      ...options,
      onAuthorizationUrl: () => (shown = true),
      readPastedUrl: () => Promise.resolve(''),
    }).catch((e: unknown) => e);
    return { error, shown };
  }

  it('pushes the request where the server requires it (RFC 9126): the browser gets client_id and request_uri only', async () => {
    metadata.pushed_authorization_request_endpoint = `${issuer}/par`;
    metadata.require_pushed_authorization_requests = true;
    const url = await authorizationUrl();
    expect(`${url.origin}${url.pathname}`).toBe(`${issuer}/authorize`);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('client_id')).toBe('cli');
    expect(url.searchParams.get('request_uri')).toBe('urn:ietf:params:oauth:request_uri:abc');
    // A public client: its client_id alone, no secret and no Authorization header.
    expect(pushed).toHaveLength(1);
    const body = pushed[0]?.body;
    expect(pushed[0]?.authorization).toBeUndefined();
    expect(body?.get('client_id')).toBe('cli');
    expect(body?.has('client_secret')).toBe(false);
    // PKCE, state and nonce went in the push, with everything else the request says.
    expect(body?.get('code_challenge_method')).toBe('S256');
    expect(body?.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(body?.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(body?.get('nonce')).toMatch(/^[\w-]{20,}$/);
    expect(body?.get('redirect_uri')).toBe('http://127.0.0.1:1/callback');
    expect(body?.get('response_type')).toBe('code');
    expect(body?.get('prompt')).toBe('consent');
    // The one-time request_uri is not spent by the kit's fail-fast probe.
    expect(authorizeRequests).toBe(0);
  });

  it('pushes when asked although the server does not require it, and not otherwise', async () => {
    metadata.pushed_authorization_request_endpoint = `${issuer}/par`;
    const plain = await authorizationUrl();
    expect(plain.searchParams.has('request_uri')).toBe(false);
    expect(plain.searchParams.has('code_challenge')).toBe(true);
    expect(pushed).toHaveLength(0);
    let url = '';
    await pasteLogin({
      issuer,
      clientId: 'cli',
      allowHttpLoopbackIssuer: true,
      redirectUri: 'http://127.0.0.1:1/callback',
      pushAuthorizationRequest: true,
      onAuthorizationUrl: (u) => (url = u),
      readPastedUrl: () => Promise.resolve(''),
    }).catch(() => undefined);
    expect([...new URL(url).searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(pushed).toHaveLength(1);
  });

  it('fails clearly where the server requires pushing but names no PAR endpoint, or when asked to push to none', async () => {
    metadata.require_pushed_authorization_requests = true;
    const required = await refusal();
    expect(required.shown).toBe(false);
    expect(required.error).toBeInstanceOf(LoginError);
    expect(required.error).toMatchObject({ code: 'unsupported_server' });
    expect((required.error as Error).message).toBe(
      `${issuer} requires pushed authorization requests (require_pushed_authorization_requests) but its metadata names no pushed_authorization_request_endpoint`,
    );
    delete metadata.require_pushed_authorization_requests;
    const asked = await refusal({ pushAuthorizationRequest: true });
    expect(asked).toMatchObject({ shown: false, error: { code: 'unsupported_server' } });
    expect((asked.error as Error).message).toContain('offers no pushed authorization requests');
    expect(authorizeRequests).toBe(0);
  });

  it('a refused push fails at once with the server’s error; a PAR endpoint in clear off loopback is never used', async () => {
    metadata.pushed_authorization_request_endpoint = `${issuer}/par`;
    metadata.require_pushed_authorization_requests = true;
    parAnswer = {
      status: 400,
      body: { error: 'invalid_request', error_description: 'redirect_uri is not registered' },
    };
    const refused = await refusal();
    expect(refused.shown).toBe(false);
    expect(refused.error).toMatchObject({
      code: 'authorization_refused',
      message:
        'the server refused the pushed authorization request: invalid_request (redirect_uri is not registered)',
    });
    // The server's text is one bounded line.
    parAnswer = {
      status: 400,
      body: { error: 'invalid_request', error_description: 'x'.repeat(10_000) },
    };
    const long = await refusal();
    expect((long.error as Error).message.length).toBeLessThan(600);
    // An answer without a request_uri is no pushed request.
    parAnswer = { status: 201, body: { expires_in: 60 } };
    expect(await refusal()).toMatchObject({ shown: false, error: { code: 'par_failed' } });
    // The parameters (state, PKCE challenge) would cross the network in clear.
    pushed = [];
    metadata.pushed_authorization_request_endpoint = 'http://auth.example.com/par';
    expect(await refusal()).toMatchObject({ shown: false, error: { code: 'insecure_endpoint' } });
    expect(pushed).toHaveLength(0);
  });

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
