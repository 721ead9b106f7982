/**
 * The client settings of issue #16 at the service level: every one can be set on create and on
 * update, is stored and read back on both databases, and bad input is refused with a clear error
 * and its code, changing nothing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClient,
  rotateClientSecret,
  updateClient,
  type ClientSpec,
} from '../src/services/clients.js';
import { updateEnvironmentSettings } from '../src/services/environments.js';
import { promoteClient } from '../src/services/promote.js';
import { InputError } from '../src/services/input-error.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

function publicJwk(kid: string, type: 'rsa' | 'ec' | 'ed25519' = 'ec'): Record<string, unknown> {
  const { publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' };
}

function privateJwk(kid: string): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid };
}

/** The InputError code the promise is refused with. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InputError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe.each(DATABASES)('client settings on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const web = (extra: Partial<ClientSpec> = {}, environment = 'development') =>
    createClient(t.ctx, {
      environment,
      type: 'web',
      name: 'Web app',
      redirectUris: [
        environment === 'development'
          ? 'http://localhost:3000/callback'
          : `https://app.${environment}.example.com/callback`,
      ],
      ...extra,
    });
  const stored = async (clientId: string, environment = 'development') => {
    const client = await t.ctx.stores.clients.get(environment, clientId);
    if (client === undefined) throw new Error(`no client ${clientId}`);
    return client;
  };

  it('creates a client with every setting and reads each back', async () => {
    const jwk = publicJwk('k1', 'rsa');
    const { client, clientSecret } = await web({
      idTokenSignedResponseAlg: 'ES256',
      postLogoutRedirectUris: ['http://localhost:3000/signed-out'],
      backchannelLogoutUri: 'http://127.0.0.1:4000/backchannel',
      jwks: { keys: [jwk] },
      tokenEndpointAuthMethod: 'private_key_jwt',
      requirePar: true,
      pkceExemptWithNonce: true,
    });
    // RFC 7523 §2.2: a private_key_jwt client proves itself with its keys; it gets no secret.
    expect(clientSecret).toBeUndefined();
    expect(await stored(client.clientId)).toMatchObject({
      idTokenSignedResponseAlg: 'ES256',
      postLogoutRedirectUris: ['http://localhost:3000/signed-out'],
      backchannelLogoutUri: 'http://127.0.0.1:4000/backchannel',
      jwks: { keys: [jwk] },
      jwksUri: null,
      tokenEndpointAuthMethod: 'private_key_jwt',
      requirePar: true,
      pkceExemptWithNonce: true,
      secretHash: null,
    });
    const [entry] = await t.ctx.stores.audit.tail({
      type: 'client.created',
      clientId: client.clientId,
    });
    expect(entry?.data).toMatchObject({
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { kids: ['k1'] },
      pkceExemptWithNonce: true,
    });
  });

  it('leaves every setting at its default when none is given', async () => {
    const { client, clientSecret } = await web();
    expect(clientSecret).toBeDefined();
    expect(await stored(client.clientId)).toMatchObject({
      idTokenSignedResponseAlg: null,
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      jwks: null,
      jwksUri: null,
      tokenEndpointAuthMethod: null,
      requirePar: false,
      pkceExemptWithNonce: false,
    });
  });

  it('updates and clears each setting', async () => {
    const { client } = await web();
    await updateClient(t.ctx, 'development', client.clientId, {
      idTokenSignedResponseAlg: 'RS256',
      postLogoutRedirectUris: ['http://localhost:3000/bye'],
      backchannelLogoutUri: 'https://app.example.com/logout',
      jwksUri: 'https://app.example.com/jwks.json',
      tokenEndpointAuthMethod: 'client_secret_post',
      requirePar: true,
      pkceExemptWithNonce: true,
    });
    expect(await stored(client.clientId)).toMatchObject({
      idTokenSignedResponseAlg: 'RS256',
      postLogoutRedirectUris: ['http://localhost:3000/bye'],
      backchannelLogoutUri: 'https://app.example.com/logout',
      jwksUri: 'https://app.example.com/jwks.json',
      tokenEndpointAuthMethod: 'client_secret_post',
      requirePar: true,
      pkceExemptWithNonce: true,
    });
    // Absent fields keep their values.
    await updateClient(t.ctx, 'development', client.clientId, { name: 'Renamed' });
    expect((await stored(client.clientId)).requirePar).toBe(true);
    await updateClient(t.ctx, 'development', client.clientId, {
      idTokenSignedResponseAlg: null,
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      jwksUri: null,
      tokenEndpointAuthMethod: null,
      requirePar: false,
      pkceExemptWithNonce: false,
    });
    expect(await stored(client.clientId)).toMatchObject({
      idTokenSignedResponseAlg: null,
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      jwksUri: null,
      tokenEndpointAuthMethod: null,
      requirePar: false,
      pkceExemptWithNonce: false,
    });
    const updates = await t.ctx.stores.audit.tail({
      type: 'client.updated',
      clientId: client.clientId,
    });
    expect(updates[1]?.data).toMatchObject({
      before: { requirePar: true },
      after: { name: 'Renamed', requirePar: true },
    });
  });

  it('creates spa clients: public, no secret, no client_credentials or device grant', async () => {
    const { client, clientSecret } = await createClient(t.ctx, {
      environment: 'development',
      type: 'spa',
      name: 'Browser app',
      redirectUris: ['http://localhost:5173/callback'],
    });
    expect(clientSecret).toBeUndefined();
    expect(client.secretHash).toBeNull();
    expect(client.grantTypes).toEqual(['authorization_code', 'refresh_token']);
    expect((await stored(client.clientId)).type).toBe('spa');
    await expect(rotateClientSecret(t.ctx, 'development', client.clientId)).rejects.toThrow(
      /spa \(public\) client and has no secret/,
    );
    for (const grant of ['client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'])
      expect(
        (
          await refusal(
            createClient(t.ctx, {
              environment: 'development',
              type: 'spa',
              name: 'Browser app',
              redirectUris: ['http://localhost:5173/callback'],
              grantTypes: ['authorization_code', grant as 'client_credentials'],
            }),
          )
        ).code,
      ).toBe('invalid_grant_type');
  });

  it('switches a client between a secret and private_key_jwt, ending or issuing the secret', async () => {
    const { client } = await web();
    expect(client.secretHash).not.toBeNull();
    const { clientSecret: none } = await updateClient(t.ctx, 'development', client.clientId, {
      jwks: { keys: [publicJwk('a')] },
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    expect(none).toBeUndefined();
    // The old secret must no longer authenticate the client.
    expect((await stored(client.clientId)).secretHash).toBeNull();
    expect(
      (await refusal(rotateClientSecret(t.ctx, 'development', client.clientId))).message,
    ).toMatch(/private_key_jwt/);
    // Its keys cannot go while it authenticates with them.
    expect(
      (await refusal(updateClient(t.ctx, 'development', client.clientId, { jwks: null }))).code,
    ).toBe('invalid_token_endpoint_auth_method');
    const { clientSecret } = await updateClient(t.ctx, 'development', client.clientId, {
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    expect(clientSecret).toMatch(/^ghs_/);
    expect((await stored(client.clientId)).secretHash).toBe(
      t.ctx.stores.clientSecrets.hash(clientSecret as string),
    );
  });

  it('a secret stops authenticating the client once it switches to private_key_jwt', async () => {
    const { client, clientSecret } = await createClient(t.ctx, {
      environment: 'development',
      type: 'web',
      name: 'Machine',
      redirectUris: [],
      grantTypes: ['client_credentials'],
    });
    const withSecret = () =>
      fetch(`${t.issuer('development')}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret ?? ''}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
    expect((await withSecret()).status).toBe(200);
    await updateClient(t.ctx, 'development', client.clientId, {
      jwks: { keys: [publicJwk('m')] },
      tokenEndpointAuthMethod: 'private_key_jwt',
    });
    // The attacker holding the old secret is refused: the client now proves itself by its keys.
    const refused = await withSecret();
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('refuses each bad setting with its code, changing nothing', async () => {
    const { client } = await web({ requirePar: true });
    const before = await stored(client.clientId);
    const cases: [Partial<ClientSpec>, string, RegExp][] = [
      [{ idTokenSignedResponseAlg: 'HS256' as 'RS256' }, 'invalid_id_token_alg', /RS256 or ES256/],
      // The same redirect policy as redirect URIs, with the policy's code in the message.
      [
        { postLogoutRedirectUris: ['http://app.example.com/bye'] },
        'post_logout_redirect_uri_refused',
        /post-logout redirect URI http:\/\/app\.example\.com\/bye refused \(/,
      ],
      [
        { postLogoutRedirectUris: ['https://app.example.com/*'] },
        'post_logout_redirect_uri_refused',
        /https:\/\/app\.example\.com\/\*/,
      ],
      [
        { postLogoutRedirectUris: ['http://localhost:3000/a', 'http://localhost:3000/a'] },
        'post_logout_redirect_uri_refused',
        /listed twice/,
      ],
      [
        { backchannelLogoutUri: 'http://app.example.com/logout' },
        'invalid_backchannel_logout_uri',
        /must use https/,
      ],
      // Back-Channel Logout §2.2: no fragment.
      [
        { backchannelLogoutUri: 'https://app.example.com/logout#x' },
        'invalid_backchannel_logout_uri',
        /fragment/,
      ],
      [{ backchannelLogoutUri: 'logout' }, 'invalid_backchannel_logout_uri', /absolute/],
      [{ jwksUri: 'http://keys.example.com/jwks' }, 'invalid_jwks_uri', /https/],
      [
        { jwks: { keys: [publicJwk('a')] }, jwksUri: 'https://keys.example.com/jwks' },
        'invalid_jwks',
        /not both/,
      ],
      // An attacker-supplied or careless private key must never be stored and shown back.
      [{ jwks: { keys: [privateJwk('p')] } }, 'invalid_jwks', /private member "d"/],
      [
        { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }] } },
        'invalid_jwks',
        /kty must be RSA, EC or OKP/,
      ],
      [
        { jwks: { keys: [{ ...publicJwk('a'), alg: 'HS256' }] } },
        'invalid_jwks',
        /not an asymmetric/,
      ],
      [
        { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] } },
        'invalid_jwks',
        /valid EC/,
      ],
      [{ jwks: { keys: [publicJwk('a'), publicJwk('a')] } }, 'invalid_jwks', /two keys/],
      [
        { jwks: { keys: Array.from({ length: 11 }, (_, i) => publicJwk(`k${i}`)) } },
        'invalid_jwks',
        /more than 10/,
      ],
      [
        { jwks: { keys: [{ ...publicJwk('big'), x5c: ['A'.repeat(17_000)] }] } },
        'invalid_jwks',
        /16 KB/,
      ],
      [{ jwks: { nokeys: [] } as never }, 'invalid_jwks', /JWK Set/],
      [
        { tokenEndpointAuthMethod: 'private_key_jwt' },
        'invalid_token_endpoint_auth_method',
        /jwks or jwks_uri/,
      ],
      [{ tokenEndpointAuthMethod: 'none' }, 'invalid_token_endpoint_auth_method', /cannot be none/],
      [
        { tokenEndpointAuthMethod: 'tls_client_auth' as 'none' },
        'invalid_token_endpoint_auth_method',
        /must be client_secret_basic/,
      ],
    ];
    for (const [settings, code, message] of cases) {
      const refused = await refusal(updateClient(t.ctx, 'development', client.clientId, settings));
      expect({ code: refused.code, message: refused.message }).toEqual({
        code,
        message: expect.stringMatching(message) as unknown,
      });
      const created = await refusal(web(settings));
      expect(created.code).toBe(code);
    }
    expect(await stored(client.clientId)).toEqual(before);
  });

  it('allows http to loopback for logout and keys in development only', async () => {
    const { client } = await web({}, 'production');
    for (const settings of [
      { backchannelLogoutUri: 'http://127.0.0.1:4000/logout' },
      { jwksUri: 'http://localhost:4000/jwks' },
    ]) {
      expect(
        (await refusal(updateClient(t.ctx, 'production', client.clientId, settings))).message,
      ).toMatch(/only a development environment allows http/);
      await updateClient(t.ctx, 'development', (await web()).client.clientId, settings);
    }
  });

  it('keeps PKCE for public clients: the no-PKCE exception and key auth are refused', async () => {
    for (const type of ['native', 'spa'] as const) {
      const spec = {
        environment: 'development',
        type,
        name: 'Public app',
        redirectUris: ['http://127.0.0.1/callback'],
      };
      expect(
        (await refusal(createClient(t.ctx, { ...spec, pkceExemptWithNonce: true }))).code,
      ).toBe('pkce_exemption_refused');
      expect(
        (
          await refusal(
            createClient(t.ctx, {
              ...spec,
              jwks: { keys: [publicJwk('a')] },
              tokenEndpointAuthMethod: 'private_key_jwt',
            }),
          )
        ).code,
      ).toBe('invalid_token_endpoint_auth_method');
      const { client } = await createClient(t.ctx, { ...spec, tokenEndpointAuthMethod: 'none' });
      expect(
        (
          await refusal(
            updateClient(t.ctx, 'development', client.clientId, { pkceExemptWithNonce: true }),
          )
        ).code,
      ).toBe('pkce_exemption_refused');
    }
  });

  it('checks post-logout redirect URIs by the client type’s policy', async () => {
    // A native client may use a loopback URI without a port; a web client in production may not.
    const { client } = await createClient(t.ctx, {
      environment: 'production',
      type: 'native',
      name: 'CLI',
      redirectUris: ['http://127.0.0.1/callback'],
      postLogoutRedirectUris: ['http://127.0.0.1/signed-out'],
    });
    expect((await stored(client.clientId, 'production')).postLogoutRedirectUris).toEqual([
      'http://127.0.0.1/signed-out',
    ]);
    const refused = await refusal(
      web({ postLogoutRedirectUris: ['http://127.0.0.1/signed-out'] }, 'production'),
    );
    expect(refused.code).toBe('post_logout_redirect_uri_refused');
  });

  it('promotes how a client authenticates and signs, not its logout URIs or exceptions', async () => {
    const jwk = publicJwk('promoted');
    const { client } = await createClient(t.ctx, {
      environment: 'staging',
      type: 'web',
      name: 'Keys',
      redirectUris: ['https://keys.staging.example.com/callback'],
      jwks: { keys: [jwk] },
      tokenEndpointAuthMethod: 'private_key_jwt',
      idTokenSignedResponseAlg: 'ES256',
      postLogoutRedirectUris: ['https://keys.staging.example.com/bye'],
      pkceExemptWithNonce: true,
    });
    const promoted = await promoteClient(t.ctx, 'staging', client.clientId, 'production');
    // A private_key_jwt client has no secret in any environment.
    expect(promoted.clientSecret).toBeUndefined();
    expect(promoted.client).toMatchObject({
      secretHash: null,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [jwk] },
      idTokenSignedResponseAlg: 'ES256',
      postLogoutRedirectUris: [],
      pkceExemptWithNonce: false,
    });
    // The source goes back to a secret: promoting again issues the target one, shown once.
    await updateClient(t.ctx, 'staging', client.clientId, {
      tokenEndpointAuthMethod: null,
      jwks: null,
    });
    const again = await promoteClient(t.ctx, 'staging', client.clientId, 'production');
    expect(again.clientSecret).toMatch(/^ghs_production_/);
    expect(again.client).toMatchObject({ tokenEndpointAuthMethod: null, jwks: null });
  });

  it('sets require PAR per environment, audited', async () => {
    const env = await updateEnvironmentSettings(t.ctx, 'staging', { requirePar: true });
    expect(env.requirePar).toBe(true);
    expect((await t.ctx.stores.environments.get('staging'))?.requirePar).toBe(true);
    const entry = (await t.ctx.stores.audit.tail({ type: 'environment.settings_changed' })).at(-1);
    expect(entry?.data).toMatchObject({
      before: { requirePar: false },
      after: { requirePar: true },
    });
    await updateEnvironmentSettings(t.ctx, 'staging', { requirePar: false });
    expect((await t.ctx.stores.environments.get('staging'))?.requirePar).toBe(false);
  });
});
