/**
 * The issue #16 client settings and the environment's require-PAR switch through the admin API:
 * set on create and update, answered in the `Client` shape, refused with the service's code and
 * nothing changed, and only for admins.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorSession, type AdminSession } from './support/admin.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const jwk = () => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid: 'k1',
});

describe('client settings in the admin API', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let admin: AdminSession;
  let viewer: AdminSession;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    ({ session: admin } = await operatorSession(t, 'admin@ops.example', 'admin'));
    ({ session: viewer } = await operatorSession(t, 'viewer@ops.example', 'viewer'));
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('creates a private_key_jwt client with logout settings, without a secret', async () => {
    const key = jwk();
    const created = await admin.call('POST', '/environments/development/clients', {
      name: 'Keys app',
      type: 'web',
      redirectUris: ['http://localhost:3000/callback'],
      idTokenSignedResponseAlg: 'ES256',
      postLogoutRedirectUris: ['http://localhost:3000/bye'],
      backchannelLogoutUri: 'http://localhost:3000/backchannel',
      jwks: { keys: [key] },
      tokenEndpointAuthMethod: 'private_key_jwt',
      requirePar: true,
      pkceExemptWithNonce: true,
    });
    expect(created.status).toBe(201);
    expect(created.body.clientSecret).toBeUndefined();
    expect(created.body.client).toMatchObject({
      hasSecret: false,
      idTokenSignedResponseAlg: 'ES256',
      postLogoutRedirectUris: ['http://localhost:3000/bye'],
      backchannelLogoutUri: 'http://localhost:3000/backchannel',
      jwks: { keys: [key] },
      jwksUri: null,
      tokenEndpointAuthMethod: 'private_key_jwt',
      requirePar: true,
      pkceExemptWithNonce: true,
    });
    const clientId = (created.body.client as { clientId: string }).clientId;

    // Switching back to a secret issues one, shown once in the answer.
    const switched = await admin.call('PATCH', `/environments/development/clients/${clientId}`, {
      tokenEndpointAuthMethod: null,
      jwks: null,
      pkceExemptWithNonce: false,
    });
    expect(switched.status).toBe(200);
    expect(switched.body.clientSecret).toMatch(/^ghs_/);
    expect(switched.body.client).toMatchObject({
      hasSecret: true,
      jwks: null,
      tokenEndpointAuthMethod: null,
      pkceExemptWithNonce: false,
    });
  });

  it('refuses a bad setting with its code and changes nothing', async () => {
    const created = await admin.call('POST', '/environments/development/clients', {
      name: 'Plain app',
      type: 'web',
      redirectUris: ['http://localhost:3000/callback'],
    });
    const clientId = (created.body.client as { clientId: string }).clientId;
    const before = await admin.call('GET', `/environments/development/clients/${clientId}`);
    const refused = await admin.call('PATCH', `/environments/development/clients/${clientId}`, {
      postLogoutRedirectUris: ['http://app.example.com/bye'],
      requirePar: true,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('post_logout_redirect_uri_refused');
    expect(refused.body.message).toMatch(/http:\/\/app\.example\.com\/bye/);
    const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'jwk',
    });
    const leaked = await admin.call('PATCH', `/environments/development/clients/${clientId}`, {
      jwks: { keys: [privateKey] },
    });
    expect(leaked.body.error).toBe('invalid_jwks');
    const pkce = await admin.call('POST', '/environments/development/clients', {
      name: 'Browser app',
      type: 'spa',
      redirectUris: ['http://localhost:5173/callback'],
      pkceExemptWithNonce: true,
    });
    expect(pkce.body.error).toBe('pkce_exemption_refused');
    expect(await admin.call('GET', `/environments/development/clients/${clientId}`)).toEqual(
      before,
    );
    // A viewer sees the settings but may not change them.
    expect(
      (
        await viewer.call('PATCH', `/environments/development/clients/${clientId}`, {
          requirePar: true,
        })
      ).status,
    ).toBe(403);
  });

  it('creates spa clients and sets require PAR per environment', async () => {
    const spa = await admin.call('POST', '/environments/development/clients', {
      name: 'Browser app',
      type: 'spa',
      redirectUris: ['http://localhost:5173/callback'],
    });
    expect(spa.status).toBe(201);
    expect(spa.body.clientSecret).toBeUndefined();
    expect(spa.body.client).toMatchObject({ type: 'spa', hasSecret: false });

    const env = await admin.call('PATCH', '/environments/production', { requirePar: true });
    expect(env.body.environment).toMatchObject({ name: 'production', requirePar: true });
    const listed = await viewer.call('GET', '/environments');
    expect(
      (listed.body.environments as { name: string; requirePar: boolean }[]).map((e) => [
        e.name,
        e.requirePar,
      ]),
    ).toEqual([
      ['development', false],
      ['staging', false],
      ['production', true],
    ]);
  });
});
