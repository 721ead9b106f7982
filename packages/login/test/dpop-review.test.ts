/**
 * Attacks on the login kit's DPoP key store and on the header lines `gatehouse token --url`
 * prints: a key file another local user planted (their own file, or a symbolic link), a key file
 * and directory left readable by others, and a hostile server's access token that would add
 * headers to a script's request to an API.
 */
import { chmod, chown, mkdir, mkdtemp, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  authorizationHeaders,
  FileTokenStore,
  generateDpopKey,
  profileDpopKey,
  validAccessToken,
  type StoredTokens,
} from '../src/index.js';
import { toStoredTokens } from '../src/tokens.js';

const dir = async () => join(await mkdtemp(join(tmpdir(), 'gatehouse-dpop-rd-')), 'config');

/** Another local user's uid: root may hand a file to it; others cannot, and skip that case. */
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** A key file as another local user would plant it: their key, so its private half is theirs. */
async function plantedKeyFile(path: string) {
  const attackerKey = await generateDpopKey();
  await writeFile(path, JSON.stringify({ default: attackerKey }), { mode: 0o644 });
  return attackerKey;
}

const unbound = (accessToken: string): StoredTokens => ({
  issuer: 'https://as.example/e/production',
  clientId: 'ghc_cli',
  accessToken,
  tokenType: 'Bearer',
  expiresAt: Date.now() + 3_600_000,
});

describe('the DPoP key file is this user’s alone', () => {
  it.runIf(isRoot)(
    'refuses a key file another user planted in a group-writable directory (their key would bind the tokens)',
    async () => {
      const where = await dir();
      await mkdir(where, { recursive: true });
      await chmod(where, 0o777);
      const file = join(where, 'dpop-keys.json');
      const attackerKey = await plantedKeyFile(file);
      await chown(file, NOBODY, NOBODY);
      const store = new FileTokenStore(where);
      await expect(profileDpopKey(store, 'default')).rejects.toThrow(/belongs to another user/);
      // Nothing changed: the planted file is still theirs, and no key of theirs was taken.
      expect((await stat(file)).uid).toBe(NOBODY);
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ default: attackerKey });
      // The directory was this user's: it is no longer writable by others.
      expect((await stat(where)).mode & 0o777).toBe(0o700);
    },
  );

  it('refuses a symbolic link in place of the key file (it would read a key someone else wrote)', async () => {
    const where = await dir();
    await mkdir(where, { recursive: true, mode: 0o700 });
    const elsewhere = join(await mkdtemp(join(tmpdir(), 'gatehouse-dpop-rd-other-')), 'keys.json');
    await plantedKeyFile(elsewhere);
    await symlink(elsewhere, join(where, 'dpop-keys.json'));
    const store = new FileTokenStore(where);
    await expect(profileDpopKey(store, 'default')).rejects.toThrow(/symbolic link/);
    await expect(store.getDpopKey('default')).rejects.toThrow(/symbolic link/);
  });

  it('tightens a key file and directory of this user’s left readable by others before using the key', async () => {
    const where = await dir();
    const store = new FileTokenStore(where);
    const key = await profileDpopKey(store, 'default');
    // An older copy, a restored backup, cp -r with a loose umask:
    await chmod(join(where, 'dpop-keys.json'), 0o644);
    await chmod(where, 0o755);
    // Reading the key (no write follows: the profile has one) must not leave it readable.
    expect((await profileDpopKey(store, 'default'))?.jkt).toBe(key?.jkt);
    expect((await stat(join(where, 'dpop-keys.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(where)).mode & 0o777).toBe(0o700);
  });
});

describe('the access token is sent only as a well-formed credential', () => {
  // A hostile authorization server chooses the token; printed on a header line it would add
  // headers of its choosing to the script's request to another party's API.
  const hostile = 'tok\r\nX-Forwarded-User: admin\r\nCookie: session=attacker';

  it('authorizationHeaders refuses a token that is not token68 (RFC 6750 §2.1), bound or not', async () => {
    const where = await dir();
    const store = new FileTokenStore(where);
    await store.set('default', unbound(hostile));
    await expect(
      authorizationHeaders(store, 'default', { url: 'https://api.example/' }, { lockDir: where }),
    ).rejects.toMatchObject({ code: 'invalid_token' });
    const key = await profileDpopKey(store, 'bound');
    await store.set('bound', {
      ...unbound(`${hostile}\n`),
      tokenType: 'DPoP',
      dpopJkt: key?.jkt ?? '',
    });
    await expect(
      authorizationHeaders(store, 'bound', { url: 'https://api.example/' }, { lockDir: where }),
    ).rejects.toMatchObject({ code: 'invalid_token' });
    // A well-formed token passes unchanged.
    await store.set('ok', unbound('eyJhbGciOiJFUzI1NiJ9.e30.c2ln'));
    expect(
      await authorizationHeaders(store, 'ok', { url: 'https://api.example/' }, { lockDir: where }),
    ).toEqual({ authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln' });
  });
});

describe('a refresh token bound where the access token came back Bearer', () => {
  it('is refreshed with a proof of the key (RFC 9449 §5: a public client’s refresh token is bound)', async () => {
    const where = await dir();
    const store = new FileTokenStore(where);
    const key = await profileDpopKey(store, 'default');
    if (key === undefined) throw new Error('no key');
    const proofs: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      const json = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.url === '/.well-known/openid-configuration') {
        json(200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          dpop_signing_alg_values_supported: ['ES256'],
        });
        return;
      }
      const proof = request.headers.dpop;
      proofs.push(typeof proof === 'string' ? proof : undefined);
      request.resume();
      // The refresh token is bound to the sign-in's key: without its proof, invalid_grant.
      if (typeof proof !== 'string') {
        json(400, { error: 'invalid_grant' });
        return;
      }
      json(200, { access_token: 'at-2', token_type: 'Bearer', expires_in: 600 });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // What the sign-in stored: a proof went with the code, the access token came back Bearer.
      const signedIn = toStoredTokens(
        { issuer, token_endpoint: `${issuer}/token` },
        'ghc_cli',
        {
          access_token: 'at-1',
          token_type: 'bearer',
          expires_in: 0,
          refresh_token: 'rt-bound',
        },
        Date.now() - 1000,
        undefined,
        true,
        key.jkt,
      );
      expect(signedIn.dpopJkt).toBeUndefined();
      await store.set('default', signedIn);
      const refreshed = await validAccessToken(store, 'default', { lockDir: where });
      expect(refreshed.accessToken).toBe('at-2');
      expect(proofs).toHaveLength(1);
      const header = JSON.parse(
        Buffer.from((proofs[0] ?? '').split('.')[0] ?? '', 'base64url').toString(),
      ) as { jwk: Record<string, string> };
      const { jwkThumbprint } = await import('../src/dpop-key.js');
      expect(await jwkThumbprint(header.jwk as never)).toBe(key.jkt);
      // A copy of the token file without the key cannot refresh either.
      const attacker = await dir();
      const stolen = new FileTokenStore(attacker);
      await stolen.set('default', { ...signedIn, expiresAt: 0 });
      await expect(
        validAccessToken(stolen, 'default', { lockDir: attacker }),
      ).rejects.toMatchObject({ code: 'dpop_key_missing' });
      expect(proofs).toHaveLength(1);
    } finally {
      server.close();
    }
  });
});
