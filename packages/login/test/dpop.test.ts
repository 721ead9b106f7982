/**
 * The profile's DPoP key (RFC 9449) in the token store, the proofs made with it (checked with
 * jose), and a token file copied without its key.
 */
import { copyFile, mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { webcrypto } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  authorizationHeaders,
  dpopProof,
  FileTokenStore,
  fetchWithProfile,
  heldScope,
  LoginError,
  profileDpopKey,
  validAccessToken,
  type StoredTokens,
} from '../src/index.js';
import { accumulate } from '../src/login-flow.js';

const dir = async () => join(await mkdtemp(join(tmpdir(), 'gatehouse-dpop-')), 'config');

const bound = (jkt: string, overrides: Partial<StoredTokens> = {}): StoredTokens => ({
  issuer: 'https://as.example/e/production',
  clientId: 'ghc_cli',
  accessToken: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.sig',
  tokenType: 'DPoP',
  expiresAt: Date.now() + 3_600_000,
  refreshToken: 'ghr_refresh',
  scope: 'openid email offline_access',
  dpopJkt: jkt,
  ...overrides,
});

const sha256 = async (text: string) =>
  Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))).toString(
    'base64url',
  );

describe('the profile DPoP key', () => {
  it('is created once per profile, kept owner-only apart from the tokens, and never exportable in memory', async () => {
    const where = await dir();
    const store = new FileTokenStore(where);
    const [a, b] = await Promise.all([
      profileDpopKey(store, 'default'),
      profileDpopKey(store, 'default'),
    ]);
    expect(a?.jkt).toBeDefined();
    // Two sign-ins at once end up with one key, and it is the stored one.
    expect(b?.jkt).toBe(a?.jkt);
    expect((await profileDpopKey(store, 'default'))?.jkt).toBe(a?.jkt);
    expect((await store.getDpopKey('default'))?.jkt).toBe(a?.jkt);
    const other = await profileDpopKey(store, 'other');
    expect(other?.jkt).not.toBe(a?.jkt);

    const file = join(where, 'dpop-keys.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(where)).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(await readFile(file, 'utf8')) as Record<
      string,
      { privateJwk: Record<string, string>; jkt: string }
    >;
    expect(stored.default?.privateJwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(stored.default?.privateJwk.d).toMatch(/^[\w-]{43}$/);
    // RFC 7638 thumbprint, as any other implementation computes it.
    const privateJwk: Record<string, string> = stored.default?.privateJwk ?? {};
    const publicJwk = {
      kty: 'EC',
      crv: privateJwk.crv ?? '',
      x: privateJwk.x ?? '',
      y: privateJwk.y ?? '',
    };
    expect(await calculateJwkThumbprint(publicJwk)).toBe(a?.jkt);
    // The token file has no key in it (there is none yet, and a login writes none there).
    await store.set('default', bound(a?.jkt ?? ''));
    expect(await readFile(join(where, 'tokens.json'), 'utf8')).not.toContain(
      stored.default?.privateJwk.d ?? 'x',
    );
    // In memory the private half cannot be exported again.
    expect(a?.keyPair.privateKey.extractable).toBe(false);
    if (a === undefined) throw new Error('no key');
    await expect(webcrypto.subtle.exportKey('jwk', a.keyPair.privateKey)).rejects.toThrow();
  });

  it('makes well-formed proofs (RFC 9449 §4.2): typ, ES256, its public key, htm, htu without query, ath, a fresh jti, the nonce', async () => {
    const store = new FileTokenStore(await dir());
    const key = await profileDpopKey(store, 'default');
    if (key === undefined) throw new Error('no key');
    const token = 'the-access-token';
    const proof = await dpopProof(key, {
      method: 'post',
      url: 'https://api.example/orders?page=2#top',
      accessToken: token,
      nonce: 'n-1',
    });
    const header = decodeProtectedHeader(proof);
    expect(header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
    expect(header.jwk).not.toHaveProperty('d');
    expect(await calculateJwkThumbprint(header.jwk ?? {})).toBe(key.jkt);
    const { payload } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256'],
    });
    expect(payload).toMatchObject({
      htm: 'POST',
      htu: 'https://api.example/orders',
      ath: await sha256(token),
      nonce: 'n-1',
    });
    expect(Number.isInteger(payload.iat)).toBe(true);
    expect(payload.jti).toMatch(/^[\w-]{22,}$/);
    const again = await jwtVerify(
      await dpopProof(key, { method: 'GET', url: 'https://api.example/' }),
      EmbeddedJWK,
    );
    expect(again.payload.jti).not.toBe(payload.jti);
    expect(again.payload).not.toHaveProperty('ath');
    expect(again.payload).not.toHaveProperty('nonce');
  });

  it('gives the API headers for a bound token (DPoP scheme, proof with ath) and for an old unbound one (Bearer)', async () => {
    const where = await dir();
    const store = new FileTokenStore(where);
    const key = await profileDpopKey(store, 'default');
    await store.set('default', bound(key?.jkt ?? ''));
    const headers = await authorizationHeaders(
      store,
      'default',
      { method: 'DELETE', url: 'https://api.example/x/1' },
      { lockDir: where },
    );
    expect(headers.authorization).toBe(`DPoP ${bound('').accessToken}`);
    const { payload } = await jwtVerify(headers.dpop ?? '', EmbeddedJWK, { typ: 'dpop+jwt' });
    expect(payload).toMatchObject({
      htm: 'DELETE',
      htu: 'https://api.example/x/1',
      ath: await sha256(bound('').accessToken),
    });

    // A profile signed in before DPoP: it has no key binding, so it stays bearer.
    const old: StoredTokens = { ...bound(''), tokenType: 'bearer' };
    delete (old as { dpopJkt?: string }).dpopJkt;
    await store.set('old', old);
    expect(
      await authorizationHeaders(store, 'old', { url: 'https://api.example/' }, { lockDir: where }),
    ).toEqual({ authorization: `Bearer ${old.accessToken}` });
  });

  it('makes a token file copied without its key unusable: no header, no refresh, nothing sent', async () => {
    const home = await dir();
    const store = new FileTokenStore(home);
    const key = await profileDpopKey(store, 'default');
    await store.set('default', bound(key?.jkt ?? ''));

    // The attacker copies tokens.json alone into their own configuration.
    const attacker = await dir();
    await mkdir(attacker, { recursive: true });
    await copyFile(join(home, 'tokens.json'), join(attacker, 'tokens.json'));
    const stolen = new FileTokenStore(attacker);
    const refused = authorizationHeaders(
      stolen,
      'default',
      { url: 'https://api.example/' },
      { lockDir: attacker },
    );
    await expect(refused).rejects.toBeInstanceOf(LoginError);
    await expect(refused).rejects.toMatchObject({ code: 'dpop_key_missing' });
    // With a key of their own, the thumbprint is not the token's: still refused, not re-bound.
    await profileDpopKey(stolen, 'default');
    await expect(
      authorizationHeaders(
        stolen,
        'default',
        { url: 'https://api.example/' },
        { lockDir: attacker },
      ),
    ).rejects.toMatchObject({ code: 'dpop_key_missing' });
    // A refresh is refused before any request: the issuer here does not even exist.
    await stolen.set('expired', bound(key?.jkt ?? '', { expiresAt: 0 }));
    await expect(validAccessToken(stolen, 'expired', { lockDir: attacker })).rejects.toMatchObject({
      code: 'dpop_key_missing',
    });
  });

  it('retries an API call once with the nonce the API asks for (RFC 9449 §9)', async () => {
    const where = await dir();
    const store = new FileTokenStore(where);
    const key = await profileDpopKey(store, 'default');
    await store.set('default', bound(key?.jkt ?? ''));
    const seen: (string | undefined)[] = [];
    const api = createServer((req, res) => {
      const proof = req.headers.dpop;
      const nonce =
        typeof proof === 'string'
          ? (
              JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString()) as {
                nonce?: string;
              }
            ).nonce
          : undefined;
      seen.push(nonce);
      if (nonce !== 'server-nonce') {
        res.writeHead(401, {
          'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"',
          'dpop-nonce': 'server-nonce',
        });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`ok ${req.headers.authorization?.split(' ')[0] ?? ''}`);
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/thing`;
      const response = await fetchWithProfile(store, 'default', url, {}, { lockDir: where });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok DPoP');
      expect(seen).toEqual([undefined, 'server-nonce']);
      // The nonce is remembered for the next call to that API.
      await (await fetchWithProfile(store, 'default', url, {}, { lockDir: where })).text();
      expect(seen).toEqual([undefined, 'server-nonce', 'server-nonce']);
    } finally {
      api.close();
    }
  });
});

describe('step-up scopes', () => {
  it('asks for the new scopes and keeps the ones held, once each', () => {
    expect(accumulate(['orders:write'], 'openid email offline_access orders:read')).toEqual([
      'orders:write',
      'openid',
      'email',
      'offline_access',
      'orders:read',
    ]);
    expect(accumulate(['openid', 'email'], 'email openid')).toEqual(['openid', 'email']);
    expect(accumulate(['a'], undefined)).toEqual(['a']);
  });

  it('holds scopes only at the same issuer and client', async () => {
    const store = new FileTokenStore(await dir());
    await store.set('default', bound('jkt'));
    expect(await heldScope(store, 'default', 'https://as.example/e/production/', 'ghc_cli')).toBe(
      'openid email offline_access',
    );
    expect(await heldScope(store, 'default', 'https://other.example/', 'ghc_cli')).toBeUndefined();
    expect(
      await heldScope(store, 'default', 'https://as.example/e/production', 'ghc_x'),
    ).toBeUndefined();
    expect(
      await heldScope(store, 'none', 'https://as.example/e/production', 'ghc_cli'),
    ).toBeUndefined();
  });
});
