import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { gatehouse, initData } from './harness.js';

let dataDir: string;
const data = (): string[] => ['--data-dir', dataDir];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  await initData(data());
});

interface ClientJson {
  client_id: string;
  type: string;
  client_secret?: string;
  [key: string]: unknown;
}

const json = (stdout: string) => JSON.parse(stdout) as ClientJson;

describe('gatehouse clients: the logout, key, PAR and PKCE settings', () => {
  it('creates a private_key_jwt client from a JWK Set file, without a secret, and updates it', async () => {
    const jwk = {
      ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
      kid: 'k1',
    };
    const file = join(dataDir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [jwk] }));
    const created = await gatehouse([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'web',
      '--name',
      'Keys',
      '--redirect-uri',
      'http://localhost:3000/cb',
      '--auth-method',
      'private_key_jwt',
      '--jwks',
      file,
      '--id-token-alg',
      'ES256',
      '--post-logout-redirect-uri',
      'http://localhost:3000/bye',
      '--backchannel-logout-uri',
      'http://localhost:3000/bc',
      '--require-par',
      '--pkce-exempt-with-nonce',
      '--json',
      ...data(),
    ]);
    expect(created.code).toBe(0);
    const client = json(created.stdout);
    expect(client.client_secret).toBeUndefined();
    expect(client).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [jwk] },
      jwks_uri: null,
      id_token_signed_response_alg: 'ES256',
      post_logout_redirect_uris: ['http://localhost:3000/bye'],
      backchannel_logout_uri: 'http://localhost:3000/bc',
      require_pushed_authorization_requests: true,
      pkce_exempt_with_nonce: true,
    });

    const update = (...args: string[]) =>
      gatehouse([
        'clients',
        'update',
        client.client_id,
        '--env',
        'development',
        ...args,
        ...data(),
      ]);
    const shown = await gatehouse([
      'clients',
      'show',
      client.client_id,
      '--env',
      'development',
      ...data(),
    ]);
    expect(shown.stdout).toMatch(/auth method {3}private_key_jwt/);
    expect(shown.stdout).toMatch(/WARNING .*PKCE not required/);

    const changed = await update(
      '--add-post-logout-redirect-uri',
      'http://localhost:3000/again',
      '--remove-post-logout-redirect-uri',
      'http://localhost:3000/bye',
      '--no-backchannel-logout-uri',
      '--no-require-par',
      '--no-pkce-exempt-with-nonce',
      '--json',
    );
    expect(json(changed.stdout)).toMatchObject({
      post_logout_redirect_uris: ['http://localhost:3000/again'],
      backchannel_logout_uri: null,
      require_pushed_authorization_requests: false,
      pkce_exempt_with_nonce: false,
    });

    // Back to a secret: one is issued and printed once.
    const back = await update('--auth-method', 'client_secret_basic', '--no-jwks', '--json');
    expect(back.code).toBe(0);
    expect(json(back.stdout)).toMatchObject({
      jwks: null,
      token_endpoint_auth_method: 'client_secret_basic',
    });
    expect(json(back.stdout).client_secret).toMatch(/^ghs_/);
  });

  it('refuses bad settings with one line and a non-zero exit, changing nothing', async () => {
    const created = json(
      (
        await gatehouse([
          'clients',
          'create',
          '--env',
          'development',
          '--type',
          'spa',
          '--name',
          'Browser',
          '--redirect-uri',
          'http://localhost:5173/cb',
          '--json',
          ...data(),
        ])
      ).stdout,
    );
    expect(created).toMatchObject({ type: 'spa', token_endpoint_auth_method: null });
    expect(created.client_secret).toBeUndefined();
    const refused = await gatehouse([
      'clients',
      'update',
      created.client_id,
      '--env',
      'development',
      '--pkce-exempt-with-nonce',
      ...data(),
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/confidential \(web\) clients only/);
    const post = await gatehouse([
      'clients',
      'update',
      created.client_id,
      '--env',
      'development',
      '--add-post-logout-redirect-uri',
      'http://app.example.com/bye',
      ...data(),
    ]);
    expect(post.code).not.toBe(0);
    expect(post.stderr).toMatch(/post-logout redirect URI http:\/\/app\.example\.com\/bye refused/);
    const privateKey = join(dataDir, 'private.json');
    await writeFile(
      privateKey,
      JSON.stringify({
        keys: [
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
        ],
      }),
    );
    const web = await gatehouse([
      'clients',
      'create',
      '--env',
      'development',
      '--type',
      'web',
      '--name',
      'W',
      '--auth-method',
      'private_key_jwt',
      '--jwks',
      privateKey,
      ...data(),
    ]);
    expect(web.code).not.toBe(0);
    expect(web.stderr).toMatch(/private member "d"/);
    const show = await gatehouse([
      'clients',
      'show',
      created.client_id,
      '--env',
      'development',
      '--json',
      ...data(),
    ]);
    expect(json(show.stdout)).toMatchObject({
      pkce_exempt_with_nonce: false,
      post_logout_redirect_uris: [],
    });
  });

  it('env settings shows and sets require PAR', async () => {
    const set = await gatehouse([
      'env',
      'settings',
      'production',
      '--require-par',
      '--json',
      ...data(),
    ]);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      name: 'production',
      require_pushed_authorization_requests: true,
    });
    const shown = await gatehouse(['env', 'settings', 'production', ...data()]);
    expect(shown.stdout).toMatch(/require PAR {9}yes, for every client/);
    const unset = await gatehouse([
      'env',
      'settings',
      'production',
      '--no-require-par',
      '--json',
      ...data(),
    ]);
    expect(JSON.parse(unset.stdout)).toMatchObject({
      require_pushed_authorization_requests: false,
    });
  });
});
