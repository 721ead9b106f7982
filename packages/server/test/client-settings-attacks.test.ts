/**
 * Review of the issue #16 client settings: attacks on a running server through dynamic
 * registration (RFC 7591/7592), promotion and the admin API. Each test performs the attack and
 * checks that it is refused, or that it gains nothing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient, updateClient } from '../src/services/clients.js';
import { createInitialAccessToken } from '../src/services/dynamic-clients.js';
import { DocumentFetcher } from '../src/net/document-fetcher.js';
import { MetadataDocumentClients } from '../src/services/metadata-documents.js';
import { updateEnvironmentSettings } from '../src/services/environments.js';
import { planPromotion, promoteClient } from '../src/services/promote.js';
import { limitAddress } from '../src/services/sign-in-limits.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const publicJwk = (kid = 'k1') => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid,
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('client settings under attack', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let admin: AdminSession;
  let viewer: AdminSession;
  const logLines: string[] = [];

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, {
      logoutDeliveries: { intervalMs: 50 },
      logStream: {
        write: (line) => {
          logLines.push(line);
        },
      },
    });
    ({ session: admin } = await operatorSession(t, 'admin@ops.example', 'admin'));
    ({ session: viewer } = await operatorSession(t, 'viewer@ops.example', 'viewer'));
  });
  // Twenty registrations an hour per address: each test starts with the allowance whole.
  beforeEach(async () => {
    await t.ctx.stores.attempts.clear(`register:${limitAddress(new URL(t.url).hostname)}`);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const call = async (
    method: string,
    url: string,
    body?: unknown,
    token?: string,
  ): Promise<Answer> => {
    const response = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
    };
  };
  const register = async (environment: string, body: unknown) => {
    const token =
      environment === 'development'
        ? undefined
        : (await createInitialAccessToken(t.ctx, environment, 60_000)).token;
    // These registrations are web applications unless a body says otherwise: the MCP
    // authorization specification (2026-07-28) has dynamic registrations name their type.
    return call(
      'POST',
      `${t.issuer(environment)}/register`,
      { application_type: 'web', ...(body as Record<string, unknown>) },
      token,
    );
  };

  it('registration cannot skip consent, drop PKCE, or turn PAR off where the environment requires it (RFC 7591 and RFC 7592)', async () => {
    await updateEnvironmentSettings(t.ctx, 'development', { requirePar: true });
    try {
      const metadata = {
        client_name: 'Greedy',
        redirect_uris: ['http://localhost:3000/callback'],
        skip_consent: true,
        pkce_exempt_with_nonce: true,
        require_pushed_authorization_requests: false,
      };
      const answer = await register('development', metadata);
      expect(answer.status).toBe(201);
      const uri = answer.body.registration_client_uri as string;
      const token = answer.body.registration_access_token as string;
      const updated = await call(
        'PUT',
        uri,
        { ...metadata, client_id: answer.body.client_id, application_type: 'web' },
        token,
      );
      expect(updated.status).toBe(200);
      expect(updated.body.require_pushed_authorization_requests).toBe(true);
      expect(
        await t.ctx.stores.clients.get('development', answer.body.client_id as string),
      ).toMatchObject({ skipConsent: false, pkceExemptWithNonce: false, requirePar: true });
    } finally {
      await updateEnvironmentSettings(t.ctx, 'development', { requirePar: false });
    }
  });

  it.each([
    ['backchannel_logout_uri', 'https://127.0.0.1/logout'],
    ['backchannel_logout_uri', 'https://localhost:8443/logout'],
    ['backchannel_logout_uri', 'https://169.254.169.254/latest/meta-data'],
    ['backchannel_logout_uri', 'https://[::1]/logout'],
    ['backchannel_logout_uri', 'https://10.1.2.3/logout'],
    ['jwks_uri', 'https://127.0.0.1/jwks.json'],
    ['jwks_uri', 'https://192.168.1.10/jwks.json'],
    ['jwks_uri', 'https://[::ffff:169.254.169.254]/jwks.json'],
    ['jwks_uri', 'https://app.localhost/jwks.json'],
    ['jwks_uri', 'https://localhost./jwks.json'],
    ['backchannel_logout_uri', 'https://0x7f.1/logout'],
  ])(
    'production registration refuses %s on an internal address (%s), registering nothing',
    async (field, uri) => {
      const before = (await t.ctx.stores.clients.list('production')).length;
      const answer = await register('production', {
        client_name: 'Internal',
        redirect_uris: ['https://app.example.com/callback'],
        ...(field === 'jwks_uri'
          ? { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: uri }
          : { backchannel_logout_uri: uri }),
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_client_metadata');
      expect(answer.body.error_description).toMatch(/internal|loopback/);
      expect((await t.ctx.stores.clients.list('production')).length).toBe(before);
    },
  );

  it('an anonymous registrant in a development environment cannot aim the logout POST or the key fetch at this machine, unless the environment allows loopback documents', async () => {
    const local = {
      client_name: 'Local',
      redirect_uris: ['http://localhost:3000/callback'],
      token_endpoint_auth_method: 'private_key_jwt',
    };
    const before = (await t.ctx.stores.clients.list('development')).length;
    // Every server has a development environment, open to registration by default: a loopback
    // back-channel URI there would make this server POST to any local port (SSRF).
    for (const extra of [
      { jwks: { keys: [publicJwk()] }, backchannel_logout_uri: 'http://127.0.0.1:6379/' },
      { jwks: { keys: [publicJwk()] }, backchannel_logout_uri: 'http://localhost:2375/x' },
      { jwks: { keys: [publicJwk()] }, backchannel_logout_uri: 'http://[::1]:9000/' },
      { jwks_uri: 'http://localhost:8080/jwks.json' },
    ]) {
      const refused = await register('development', { ...local, ...extra });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_client_metadata');
      expect(refused.body.error_description).toMatch(/loopback/);
    }
    expect((await t.ctx.stores.clients.list('development')).length).toBe(before);
    // An RFC 7592 update is held to the same rule.
    const registered = await register('development', { ...local, jwks: { keys: [publicJwk()] } });
    expect(registered.status).toBe(201);
    const update = await call(
      'PUT',
      registered.body.registration_client_uri as string,
      {
        ...local,
        application_type: 'web',
        client_id: registered.body.client_id,
        jwks: { keys: [publicJwk()] },
        backchannel_logout_uri: 'http://127.0.0.1:6379/',
      },
      registered.body.registration_access_token as string,
    );
    expect(update.status).toBe(400);
    expect(
      (await t.ctx.stores.clients.get('development', registered.body.client_id as string))
        ?.backchannelLogoutUri,
    ).toBeNull();

    await updateEnvironmentSettings(t.ctx, 'development', { allowLoopbackDocuments: true });
    try {
      const allowed = await register('development', {
        ...local,
        jwks_uri: 'https://localhost:8443/jwks.json',
        backchannel_logout_uri: 'http://127.0.0.1:3000/backchannel',
      });
      expect(allowed.status).toBe(201);
    } finally {
      await updateEnvironmentSettings(t.ctx, 'development', { allowLoopbackDocuments: false });
    }
  });

  it('the logout POST of a client that registered itself reaches this machine only while the environment allows loopback documents (a DNS name may resolve here whatever registration saw)', async () => {
    const received: string[] = [];
    const receiver = createServer((request, response) => {
      received.push(request.url ?? '');
      response.writeHead(200).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const uri = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/bc`;
      await updateEnvironmentSettings(t.ctx, 'development', { allowLoopbackDocuments: true });
      const answer = await register('development', {
        client_name: 'Self-registered',
        redirect_uris: ['http://localhost:3000/callback'],
        backchannel_logout_uri: uri,
      });
      expect(answer.status).toBe(201);
      // The environment stops allowing it: the stored URI is refused at delivery.
      await updateEnvironmentSettings(t.ctx, 'development', { allowLoopbackDocuments: false });
      await t.server.stores.logoutDeliveries.enqueue(
        [
          {
            id: 'r1-loopback',
            environment: 'development',
            clientId: answer.body.client_id as string,
            uri,
            sub: 'user-1',
            sid: 'sid-1',
          },
        ],
        Date.now(),
      );
      await expect
        .poll(async () => (await t.server.stores.logoutDeliveries.get('r1-loopback'))?.status, {
          timeout: 10_000,
        })
        .toBe('failed');
      // http is allowed only to a loopback host, and that only where loopback is allowed.
      expect((await t.server.stores.logoutDeliveries.get('r1-loopback'))?.lastError).toMatch(
        /must use https|this machine/,
      );
      expect(received).toEqual([]);
    } finally {
      await updateEnvironmentSettings(t.ctx, 'development', { allowLoopbackDocuments: false });
      await new Promise<void>((resolve) =>
        receiver.close(() => {
          resolve();
        }),
      );
    }
  });

  it.each([
    ['backchannelLogoutUri', 'https://app.example.com\t.evil.example/logout'],
    ['backchannelLogoutUri', ' https://app.example.com/logout'],
    ['jwksUri', 'https://keys.example.com/\njwks.json'],
    ['jwksUri', 'https://keys.example.com/jwks.json\u0000'],
  ])(
    'refuses a %s that the URL parser would silently rewrite (%j): what is shown is what is requested',
    async (field, uri) => {
      await expect(
        createClient(t.ctx, {
          environment: 'production',
          type: 'web',
          name: 'Hidden',
          redirectUris: ['https://app.example.com/callback'],
          ...(field === 'jwksUri'
            ? { jwksUri: uri, tokenEndpointAuthMethod: 'private_key_jwt' as const }
            : { backchannelLogoutUri: uri }),
        }),
      ).rejects.toThrow(/spaces or control characters/);
    },
  );

  it.each([
    ['web', 'javascript:alert(document.cookie)//'],
    ['native', 'javascript:alert(document.cookie)//'],
    ['native', 'data:text/html,<script>alert(1)</script>'],
    ['web', 'https://app.example.com/bye"><script>alert(1)</script>'],
  ])(
    'a %s client cannot register a post-logout redirect URI that runs script (%s): the logout page links to it',
    async (applicationType, uri) => {
      const answer = await register('development', {
        client_name: 'Scripted',
        application_type: applicationType,
        token_endpoint_auth_method: applicationType === 'native' ? 'none' : 'client_secret_basic',
        redirect_uris: [
          applicationType === 'native' ? 'http://127.0.0.1/callback' : 'https://app.example.com/cb',
        ],
        post_logout_redirect_uris: [uri],
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_client_metadata');
    },
  );

  it('promotion does not carry a loopback jwks_uri into production, and writes nothing', async () => {
    for (const jwksUri of ['http://localhost:8443/jwks.json', 'https://localhost:8443/jwks.json']) {
      const { client } = await createClient(t.ctx, {
        environment: 'development',
        type: 'web',
        name: 'Local keys',
        redirectUris: ['https://app.example.com/callback'],
        jwksUri,
        tokenEndpointAuthMethod: 'private_key_jwt',
      });
      const before = (await t.ctx.stores.clients.list('production')).length;
      // The dry run (CLI --dry-run, admin API dryRun) says so already.
      await expect(
        planPromotion(t.ctx, 'development', client.clientId, 'production'),
      ).rejects.toMatchObject({ code: 'invalid_jwks_uri' });
      await expect(
        promoteClient(t.ctx, 'development', client.clientId, 'production'),
      ).rejects.toMatchObject({ code: 'invalid_jwks_uri' });
      expect((await t.ctx.stores.clients.list('production')).length).toBe(before);
    }
  });

  it('RFC 7592: a secret replaced by keys stops working at once (even one verified before); going back answers a new secret once, never logged nor audited', async () => {
    const answer = await register('development', {
      client_name: 'Switcher',
      redirect_uris: ['http://localhost:3000/callback'],
      grant_types: ['authorization_code'],
    });
    expect(answer.status).toBe(201);
    const clientId = answer.body.client_id as string;
    const oldSecret = answer.body.client_secret as string;
    const uri = answer.body.registration_client_uri as string;
    const token = answer.body.registration_access_token as string;
    // The secret is verified once (remembered by this process: http/verified-secrets.ts).
    const probe = () =>
      t.tokenRequest({
        grant_type: 'authorization_code',
        code: 'not-a-code',
        redirect_uri: 'http://localhost:3000/callback',
        client_id: clientId,
        client_secret: oldSecret,
      });
    // Authenticated: the code is what is wrong, not the client.
    const first = await probe();
    expect(first.status).toBe(400);
    expect(first.error).not.toBe('invalid_client');

    const toKeys = await call(
      'PUT',
      uri,
      {
        client_id: clientId,
        application_type: 'web',
        client_name: 'Switcher',
        redirect_uris: ['http://localhost:3000/callback'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk()] },
      },
      token,
    );
    expect(toKeys.status).toBe(200);
    expect(toKeys.body.client_secret).toBeUndefined();
    expect((await probe()).error).toBe('invalid_client');

    // RFC 7592 §2.2: an update that leaves the keys without replacing them is refused, changing nothing.
    const stored = await t.ctx.stores.clients.get('development', clientId);
    const bare = await call(
      'PUT',
      uri,
      {
        client_id: clientId,
        application_type: 'web',
        client_name: 'Switcher',
        redirect_uris: ['http://localhost:3000/callback'],
        token_endpoint_auth_method: 'private_key_jwt',
      },
      token,
    );
    expect(bare.status).toBe(400);
    expect(await t.ctx.stores.clients.get('development', clientId)).toEqual(stored);

    const back = await call(
      'PUT',
      uri,
      {
        client_id: clientId,
        application_type: 'web',
        client_name: 'Switcher',
        redirect_uris: ['http://localhost:3000/callback'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      token,
    );
    expect(back.status).toBe(200);
    const newSecret = back.body.client_secret as string;
    expect(newSecret).toMatch(/^ghs_/);
    expect(newSecret).not.toBe(oldSecret);
    // Shown once: reading the registration again does not answer it.
    const read = await call('GET', uri, undefined, token);
    expect(read.body.client_secret).toBeUndefined();
    expect((await probe()).error).toBe('invalid_client');
    const audit = JSON.stringify(await t.ctx.stores.audit.after(0, 10_000));
    expect(audit).toContain('secret issued');
    expect(audit).not.toContain(newSecret);
    expect(audit).not.toContain(oldSecret);
    expect(logLines.join('\n')).not.toContain(newSecret);
  });

  it('a metadata document whose publisher swaps its key (same kid) or its jwks_uri is audited with the change', async () => {
    let document: Record<string, unknown> = {};
    const docs = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    });
    await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
    try {
      const clientId = `http://127.0.0.1:${(docs.address() as AddressInfo).port}/agent.json`;
      const development = await t.ctx.stores.environments.get('development');
      if (development === undefined) throw new Error('no development environment');
      const environment = {
        ...development,
        allowLoopbackDocuments: true,
        metadataDocuments: true,
      };
      const publish = (extra: Record<string, unknown>) => {
        document = {
          client_id: clientId,
          client_name: 'Agent',
          redirect_uris: ['http://127.0.0.1/callback'],
          token_endpoint_auth_method: 'private_key_jwt',
          ...extra,
        };
      };
      // A fresh resolver each time: nothing cached, the document is fetched again.
      const resolve = () =>
        new MetadataDocumentClients(new DocumentFetcher(), t.ctx.stores, Date.now).resolve(
          environment,
          clientId,
        );
      publish({ jwks: { keys: [publicJwk('k1')] } });
      await resolve();
      publish({ jwks: { keys: [publicJwk('k1')] } });
      await resolve();
      publish({ jwks_uri: 'https://keys.example.com/jwks.json' });
      await resolve();
      const changes = (await t.ctx.stores.audit.after(0, 10_000)).filter(
        (e) => e.type === 'client.metadata_document_changed' && e.clientId === clientId,
      );
      expect(changes).toHaveLength(2);
      const [swap, moved] = changes.map((e) => e.data as Record<string, Record<string, unknown>>);
      const thumbprints = (side: Record<string, unknown> | undefined) =>
        (side?.jwks as { thumbprints: string[] }).thumbprints;
      expect(swap?.before?.jwks).toMatchObject({ kids: ['k1'] });
      expect(swap?.after?.jwks).toMatchObject({ kids: ['k1'] });
      expect(thumbprints(swap?.before)).not.toEqual(thumbprints(swap?.after));
      expect(moved?.after).toMatchObject({
        jwksUri: 'https://keys.example.com/jwks.json',
        tokenEndpointAuthMethod: 'private_key_jwt',
        type: 'web',
      });
    } finally {
      await new Promise<void>((resolve) =>
        docs.close(() => {
          resolve();
        }),
      );
    }
  });

  it('admin API: a viewer changes no setting; partial updates cannot leave a key client without keys or a public client with a secret', async () => {
    const created = await admin.call('POST', '/environments/development/clients', {
      name: 'Partial',
      type: 'web',
      redirectUris: ['http://localhost:3000/callback'],
    });
    expect(created.status).toBe(201);
    const clientId = (created.body.client as { clientId: string }).clientId;
    const path = `/environments/development/clients/${encodeURIComponent(clientId)}`;
    const before = await t.ctx.stores.clients.get('development', clientId);

    for (const change of [
      { pkceExemptWithNonce: true },
      { requirePar: false },
      { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [publicJwk()] } },
    ])
      expect((await viewer.call('PATCH', path, change)).status).toBe(403);
    // Keys-based authentication without keys; keys removed from a key client.
    expect(
      (await admin.call('PATCH', path, { tokenEndpointAuthMethod: 'private_key_jwt' })).status,
    ).toBe(400);
    expect((await admin.call('PATCH', path, { tokenEndpointAuthMethod: 'none' })).status).toBe(400);
    expect(await t.ctx.stores.clients.get('development', clientId)).toEqual(before);

    const keyed = await admin.call('PATCH', path, {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [publicJwk()] },
    });
    expect(keyed.status).toBe(200);
    const withKeys = await t.ctx.stores.clients.get('development', clientId);
    for (const change of [{ jwks: null }, { jwksUri: null, jwks: null }])
      expect((await admin.call('PATCH', path, change)).status).toBe(400);
    expect(await t.ctx.stores.clients.get('development', clientId)).toEqual(withKeys);

    const spa = await admin.call('POST', '/environments/development/clients', {
      name: 'Spa',
      type: 'spa',
      redirectUris: ['http://localhost:5173/callback'],
    });
    const spaPath = `/environments/development/clients/${encodeURIComponent((spa.body.client as { clientId: string }).clientId)}`;
    for (const change of [
      { tokenEndpointAuthMethod: 'client_secret_basic' },
      { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [publicJwk()] } },
      { pkceExemptWithNonce: true },
    ]) {
      const refused = await admin.call('PATCH', spaPath, change);
      expect(refused.status).toBe(400);
      expect(refused.body.clientSecret).toBeUndefined();
    }
    await expect(
      updateClient(t.ctx, 'development', clientId, { idTokenSignedResponseAlg: 'none' as never }),
    ).rejects.toMatchObject({ code: 'invalid_id_token_alg' });
  });
});
