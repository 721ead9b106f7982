/**
 * The kit against a server that says or sends what it should not: endpoints that would carry
 * tokens in clear off loopback, an oversized or booby-trapped UserInfo answer, a refresh that
 * names another person. A small fake server on loopback plays the authorization server.
 */
import { createSign, generateKeyPairSync } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthorizationServer } from 'oauth4webapi';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  discover,
  FileTokenStore,
  LoginError,
  pasteLogin,
  validAccessToken,
  type StoredTokens,
} from '../src/index.js';
import { withUserInfoEmail } from '../src/userinfo.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** An RS256 ID token (the kit trusts the token endpoint's TLS, as OIDC Core §3.1.3.7 allows). */
function idToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url');
  return `${input}.${signature}`;
}

describe('the kit against a hostile or careless server', () => {
  let server: Server;
  let issuer: string;
  let metadata: Record<string, unknown>;
  let userinfo: () => { body: string };
  let tokenAnswer: () => Record<string, unknown>;
  let onTokenRequest: (() => void) | undefined;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', issuer);
      const json = (body: string) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(body);
      };
      if (url.pathname === '/.well-known/openid-configuration') json(JSON.stringify(metadata));
      else if (url.pathname === '/userinfo') json(userinfo().body);
      else if (url.pathname === '/token') {
        request.resume();
        if (onTokenRequest !== undefined) {
          // A server that takes the request and never answers.
          onTokenRequest();
          return;
        }
        request.on('end', () => {
          json(JSON.stringify(tokenAnswer()));
        });
      } else {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<h1>Sign in</h1>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    metadata = {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      code_challenge_methods_supported: ['S256'],
    };
    userinfo = () => ({ body: JSON.stringify({ sub: 'olive', email: 'olive@example.com' }) });
    tokenAnswer = () => ({ access_token: 'at', token_type: 'Bearer', expires_in: 600 });
    onTokenRequest = undefined;
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const http = { allowHttpLoopbackIssuer: true };
  const signedIn = (extra: Partial<StoredTokens> = {}): StoredTokens => ({
    issuer,
    clientId: 'cli',
    accessToken: 'at',
    tokenType: 'Bearer',
    expiresAt: 0,
    subject: 'olive',
    scope: 'openid email offline_access',
    allowHttpLoopbackIssuer: true,
    ...extra,
  });

  describe('plain http is for loopback only, endpoints included', () => {
    it('refuses metadata of a loopback issuer naming plain-http endpoints elsewhere (tokens would cross the network in clear)', async () => {
      for (const [member, value] of [
        ['userinfo_endpoint', 'http://userinfo.example/me'],
        ['token_endpoint', 'http://10.0.0.7/token'],
        ['revocation_endpoint', 'http://auth.example:8080/revoke'],
      ] as const) {
        metadata[member] = value;
        const error = await discover(issuer, http).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LoginError);
        expect(error).toMatchObject({ code: 'insecure_endpoint' });
        expect((error as Error).message).toContain(`${member} ${value}`);
        // A sign-in does not even start: no authorization URL is shown.
        let shown = false;
        await expect(
          pasteLogin({
            issuer,
            clientId: 'cli',
            redirectUri: 'http://127.0.0.1:1/callback',
            ...http,
            onAuthorizationUrl: () => (shown = true),
            readPastedUrl: () => Promise.resolve(''),
          }),
        ).rejects.toMatchObject({ code: 'insecure_endpoint' });
        expect(shown).toBe(false);
        metadata = { ...metadata, [member]: `${issuer}/${member}` };
      }
      // https elsewhere and http on loopback stay fine.
      metadata.userinfo_endpoint = 'https://userinfo.example/me';
      metadata.revocation_endpoint = 'http://localhost:9/revoke';
      await expect(discover(issuer, http)).resolves.toMatchObject({ issuer });
    });

    it('never sends the bearer token to a plain-http UserInfo endpoint off loopback', async () => {
      const sent: string[] = [];
      vi.stubGlobal('fetch', (input: string | URL) => {
        sent.push(String(input));
        return Promise.reject(new TypeError('no network in this test'));
      });
      const as: AuthorizationServer = { issuer, userinfo_endpoint: 'http://userinfo.example/me' };
      expect(await withUserInfoEmail(as, signedIn(), http)).not.toHaveProperty('email');
      expect(sent).toEqual([]);
    });
  });

  describe('what UserInfo answers is bounded and checked before it is kept', () => {
    const as = (): AuthorizationServer => ({ issuer, userinfo_endpoint: `${issuer}/userinfo` });

    it('ignores an answer over 64 KB', async () => {
      userinfo = () => ({
        body: JSON.stringify({
          sub: 'olive',
          email: 'olive@example.com',
          padding: 'x'.repeat(1 << 20),
        }),
      });
      expect(await withUserInfoEmail(as(), signedIn(), http)).not.toHaveProperty('email');
      // A normal answer is still taken.
      userinfo = () => ({ body: JSON.stringify({ sub: 'olive', email: 'olive@example.com' }) });
      expect(await withUserInfoEmail(as(), signedIn(), http)).toMatchObject({
        email: 'olive@example.com',
      });
    });

    it('keeps no email with terminal controls, bidi overrides or an absurd length', async () => {
      for (const email of [
        'olive@example.com\u001b]52;c;cm0gLXJmIH4=\u0007',
        'olive\u009b2J@example.com',
        '\u202emoc.elpmaxe@evilo',
        `${'o'.repeat(300)}@example.com`,
      ]) {
        userinfo = () => ({ body: JSON.stringify({ sub: 'olive', email }) });
        expect(await withUserInfoEmail(as(), signedIn(), http)).not.toHaveProperty('email');
      }
    });
  });

  it('a token endpoint that never answers does not hold the sign-in once it is cancelled (Ctrl-C)', async () => {
    const controller = new AbortController();
    onTokenRequest = () => {
      controller.abort();
    };
    let authorization = new URL('http://unset.invalid');
    const signIn = pasteLogin({
      issuer,
      clientId: 'cli',
      redirectUri: 'http://127.0.0.1:1/callback',
      ...http,
      signal: controller.signal,
      onAuthorizationUrl: (url) => (authorization = new URL(url)),
      readPastedUrl: () =>
        Promise.resolve(
          `http://127.0.0.1:1/callback?code=c&state=${authorization.searchParams.get('state') ?? ''}`,
        ),
    });
    await expect(signIn).rejects.toMatchObject({ code: 'cancelled' });
  });

  describe('a refresh', () => {
    async function storeWith(tokens: StoredTokens) {
      const dir = join(await mkdtemp(join(tmpdir(), 'gatehouse-hostile-')), 'c');
      const store = new FileTokenStore(dir);
      await store.set('p', tokens);
      return { store, dir };
    }
    const idTokenClaims = (sub: string, extra: Record<string, unknown> = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return { iss: issuer, aud: 'cli', sub, iat: now, exp: now + 600, ...extra };
    };

    it('refuses an ID token naming another subject than the sign-in did (OIDC Core §12.2)', async () => {
      tokenAnswer = () => ({
        access_token: 'at-2',
        token_type: 'Bearer',
        expires_in: 600,
        refresh_token: 'rt-2',
        id_token: idToken(idTokenClaims('mallory')),
      });
      const { store, dir } = await storeWith(
        signedIn({ refreshToken: 'rt-1', email: 'olive@example.com' }),
      );
      await expect(validAccessToken(store, 'p', { lockDir: dir })).rejects.toMatchObject({
        code: 'subject_mismatch',
      });
      // Nothing of the answer is kept: the profile no longer speaks for olive or mallory.
      expect(await store.get('p')).toBeUndefined();
    });

    it('takes an ID token for the same subject, and keeps the email from the sign-in', async () => {
      tokenAnswer = () => ({
        access_token: 'at-2',
        token_type: 'Bearer',
        expires_in: 600,
        refresh_token: 'rt-2',
        id_token: idToken(idTokenClaims('olive')),
      });
      const { store, dir } = await storeWith(
        signedIn({ refreshToken: 'rt-1', email: 'olive@example.com' }),
      );
      expect(await validAccessToken(store, 'p', { lockDir: dir })).toMatchObject({
        accessToken: 'at-2',
        refreshToken: 'rt-2',
        subject: 'olive',
        email: 'olive@example.com',
      });
    });

    it('drops an ID token email with terminal controls', async () => {
      tokenAnswer = () => ({
        access_token: 'at-2',
        token_type: 'Bearer',
        expires_in: 600,
        id_token: idToken(idTokenClaims('olive', { email: 'o\u009b31m@example.com' })),
      });
      const { store, dir } = await storeWith(signedIn({ refreshToken: 'rt-1' }));
      const refreshed = await validAccessToken(store, 'p', { lockDir: dir });
      expect(refreshed.accessToken).toBe('at-2');
      expect(refreshed).not.toHaveProperty('email');
    });
  });
});
