/**
 * Issue #17's settings where they enter the server: a client's requireDpop (RFC 9449) through the
 * admin API, dynamic registration and Client ID Metadata Documents (RFC 9449 §5.2
 * `dpop_bound_access_tokens`), with the production default for public clients an operator
 * registers; an environment's requireDpop and refresh grace window through the admin API. Bad
 * input is refused with a clear message and changes nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentFetcher } from '../src/net/document-fetcher.js';
import { createClient } from '../src/services/clients.js';
import { createInitialAccessToken } from '../src/services/dynamic-clients.js';
import { updateEnvironmentSettings } from '../src/services/environments.js';
import {
  MetadataDocumentClients,
  MetadataDocumentError,
} from '../src/services/metadata-documents.js';
import { promoteClient } from '../src/services/promote.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { DATABASES, throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('DPoP settings in the admin API', () => {
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

  const create = (env: string, body: Record<string, unknown>) =>
    admin.call('POST', `/environments/${env}/clients`, { name: 'App', ...body });
  const native = { type: 'native', redirectUris: ['http://127.0.0.1/callback'] };
  const spa = { type: 'spa', redirectUris: ['https://app.example.com/callback'] };
  const web = { type: 'web', redirectUris: ['https://app.example.com/callback'] };

  it('a native or spa client created in production requires DPoP unless the body says requireDpop: false', async () => {
    for (const body of [native, spa]) {
      const created = await create('production', body);
      expect(created.status).toBe(201);
      expect(created.body.client).toMatchObject({ requireDpop: true });
      const optedOut = await create('production', { ...body, requireDpop: false });
      expect(optedOut.body.client).toMatchObject({ requireDpop: false });
    }
    expect((await create('production', web)).body.client).toMatchObject({ requireDpop: false });
    expect((await create('staging', native)).body.client).toMatchObject({ requireDpop: false });
    expect((await create('development', { ...web, requireDpop: true })).body.client).toMatchObject({
      requireDpop: true,
    });
  });

  it('PATCH sets and clears it (admins only); the change is audited; GET shows it', async () => {
    const created = await create('production', { ...native, requireDpop: false });
    const clientId = (created.body.client as { clientId: string }).clientId;
    const url = `/environments/production/clients/${clientId}`;
    expect((await viewer.call('PATCH', url, { requireDpop: true })).status).toBe(403);
    expect((await viewer.call('GET', url)).body.client).toMatchObject({ requireDpop: false });
    const set = await admin.call('PATCH', url, { requireDpop: true });
    expect(set.status).toBe(200);
    expect(set.body.client).toMatchObject({ requireDpop: true });
    const [entry] = await t.ctx.stores.audit.tail({ type: 'client.updated', limit: 1 });
    expect(entry?.data).toMatchObject({ after: { requireDpop: true } });
    // Other changes leave it alone.
    expect((await admin.call('PATCH', url, { name: 'Renamed' })).body.client).toMatchObject({
      requireDpop: true,
    });
    expect((await admin.call('PATCH', url, { requireDpop: false })).body.client).toMatchObject({
      requireDpop: false,
    });
    expect((await admin.call('PATCH', url, { requireDpop: 'yes' })).status).toBe(400);
  });

  it('sets the environment’s require-DPoP and refresh grace window, listed for viewers', async () => {
    const env = await admin.call('PATCH', '/environments/staging', {
      requireDpop: true,
      refreshGraceSeconds: 0,
    });
    expect(env.status).toBe(200);
    expect(env.body.environment).toMatchObject({
      name: 'staging',
      requireDpop: true,
      refreshGraceSeconds: 0,
    });
    const listed = (await viewer.call('GET', '/environments')).body.environments as {
      name: string;
      requireDpop: boolean;
      refreshGraceSeconds: number;
    }[];
    expect(listed.map((e) => [e.name, e.requireDpop, e.refreshGraceSeconds])).toEqual([
      ['development', false, 5],
      ['staging', true, 0],
      ['production', false, 5],
    ]);
    const [entry] = await t.ctx.stores.audit.tail({
      type: 'environment.settings_changed',
      limit: 1,
    });
    expect(entry?.data).toMatchObject({
      before: { requireDpop: false, refreshGraceSeconds: 5 },
      after: { requireDpop: true, refreshGraceSeconds: 0 },
    });
    expect(
      (await viewer.call('PATCH', '/environments/staging', { refreshGraceSeconds: 9 })).status,
    ).toBe(403);
    await admin.call('PATCH', '/environments/staging', {
      requireDpop: false,
      refreshGraceSeconds: 5,
    });
  });

  it.each([61, -1, 1.5, 1e9])(
    'refuses a refresh grace of %j with invalid_refresh_grace, changing nothing',
    async (seconds) => {
      const before = await t.ctx.stores.audit.tail({ limit: 1 });
      const refused = await admin.call('PATCH', '/environments/production', {
        requireDpop: true,
        refreshGraceSeconds: seconds,
      });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_refresh_grace' });
      expect(JSON.stringify(refused.body)).toMatch(/whole number of seconds from 0 .*to 60/);
      expect(await t.ctx.stores.environments.get('production')).toMatchObject({
        requireDpop: false,
        refreshGraceSeconds: 5,
      });
      expect(await t.ctx.stores.audit.tail({ limit: 1 })).toEqual(before);
    },
  );
});

describe.each(DATABASES)(
  'DPoP settings of clients that register themselves on $kind',
  ({ create }) => {
    let db: ThrowawayDatabase;
    let t: TestServer;
    let docs: Server;
    let docsBase = '';
    const documents = new Map<string, Record<string, unknown>>();

    beforeAll(async () => {
      db = await create();
      t = await startTestServer(db);
      docs = createServer((request, response) => {
        const body = documents.get(request.url ?? '');
        if (body === undefined) {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
      await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
      docsBase = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) =>
        docs.close(() => {
          resolve();
        }),
      );
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
    const register = (body: unknown, env = 'development', token?: string) =>
      call('POST', `${t.issuer(env)}/register`, body, token);
    const cli = (extra: Record<string, unknown> = {}) => ({
      client_name: 'CLI',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      ...extra,
    });
    const stored = async (env: string, clientId: unknown) =>
      (await t.ctx.stores.clients.get(env, clientId as string))?.requireDpop;

    it('registers dpop_bound_access_tokens (RFC 9449 §5.2) and reads it back (RFC 7592)', async () => {
      const bound = await register(cli({ dpop_bound_access_tokens: true }));
      expect(bound.status).toBe(201);
      expect(bound.body.dpop_bound_access_tokens).toBe(true);
      expect(await stored('development', bound.body.client_id)).toBe(true);
      const read = await call(
        'GET',
        bound.body.registration_client_uri as string,
        undefined,
        bound.body.registration_access_token as string,
      );
      expect(read.body.dpop_bound_access_tokens).toBe(true);

      // RFC 7592 §2.2: an update that leaves it out goes back to the default.
      const updated = await call(
        'PUT',
        bound.body.registration_client_uri as string,
        cli({ client_id: bound.body.client_id }),
        bound.body.registration_access_token as string,
      );
      expect(updated.status).toBe(200);
      expect(updated.body.dpop_bound_access_tokens).toBeUndefined();
      expect(await stored('development', bound.body.client_id)).toBe(false);

      const plain = await register(cli());
      expect(plain.body.dpop_bound_access_tokens).toBeUndefined();
      expect(await stored('development', plain.body.client_id)).toBe(false);
    });

    it('refuses a dpop_bound_access_tokens that is not a boolean, registering nothing', async () => {
      const before = (await t.ctx.stores.clients.list('development')).length;
      const refused = await register(cli({ dpop_bound_access_tokens: 'true' }));
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({
        error: 'invalid_client_metadata',
        error_description: 'dpop_bound_access_tokens must be a boolean',
      });
      expect((await t.ctx.stores.clients.list('development')).length).toBe(before);
    });

    it('a public client registering itself in production is not held to DPoP unless it asks or the environment requires it', async () => {
      const { token } = await createInitialAccessToken(t.ctx, 'production', 60_000);
      const plain = await register(cli(), 'production', token);
      expect(plain.status).toBe(201);
      expect(await stored('production', plain.body.client_id)).toBe(false);
      await updateEnvironmentSettings(t.ctx, 'production', { requireDpop: true });
      try {
        const required = await register(
          cli({ dpop_bound_access_tokens: false }),
          'production',
          token,
        );
        expect(required.body.dpop_bound_access_tokens).toBe(true);
        expect(await stored('production', required.body.client_id)).toBe(true);
      } finally {
        await updateEnvironmentSettings(t.ctx, 'production', { requireDpop: false });
      }
    });

    it('an operator’s production client requires DPoP by default, also when promoted there; an existing one keeps its setting', async () => {
      const registered = await createClient(t.ctx, {
        environment: 'production',
        type: 'spa',
        name: 'Shop',
        redirectUris: ['https://shop.example.com/callback'],
      });
      expect(registered.client.requireDpop).toBe(true);
      const staging = await createClient(t.ctx, {
        environment: 'staging',
        type: 'native',
        name: 'Desk',
        redirectUris: ['http://127.0.0.1/callback'],
      });
      expect(staging.client.requireDpop).toBe(false);
      const promoted = await promoteClient(t.ctx, 'staging', staging.client.clientId, 'production');
      expect(promoted.client.requireDpop).toBe(true);
      expect(await stored('production', promoted.client.clientId)).toBe(true);
      // A client stored before the setting existed (the migration gave it 0) keeps it.
      await t.ctx.stores.clients.update(
        'production',
        promoted.client.clientId,
        { requireDpop: false },
        Date.now(),
      );
      const again = await promoteClient(t.ctx, 'staging', staging.client.clientId, 'production');
      expect(again.client.requireDpop).toBe(false);
    });

    describe('metadata documents', () => {
      let resolver: MetadataDocumentClients;
      const env = async () => {
        const e = await t.ctx.stores.environments.get('development');
        if (e === undefined) throw new Error('no development environment');
        return { ...e, allowLoopbackDocuments: true, metadataDocuments: true };
      };
      const publish = (path: string, extra: Record<string, unknown>) => {
        const clientId = `${docsBase}${path}`;
        documents.set(path, {
          client_id: clientId,
          client_name: 'Agent',
          redirect_uris: ['http://127.0.0.1/callback'],
          ...extra,
        });
        return clientId;
      };
      beforeAll(() => {
        resolver = new MetadataDocumentClients(new DocumentFetcher(), t.ctx.stores, Date.now);
      });

      it('holds a document that says dpop_bound_access_tokens to it; others are not', async () => {
        const bound = publish('/bound.json', { dpop_bound_access_tokens: true });
        expect(await resolver.resolve(await env(), bound)).toMatchObject({
          kind: 'metadata_document',
          requireDpop: true,
        });
        const plain = publish('/plain.json', {});
        expect(await resolver.resolve(await env(), plain)).toMatchObject({ requireDpop: false });
      });

      it('refuses a document whose dpop_bound_access_tokens is not a boolean', async () => {
        const clientId = publish('/bad-dpop.json', { dpop_bound_access_tokens: 'yes' });
        await expect(resolver.resolve(await env(), clientId)).rejects.toThrow(
          MetadataDocumentError,
        );
        await expect(resolver.resolve(await env(), clientId)).rejects.toThrow(
          /dpop_bound_access_tokens is not a boolean/,
        );
        expect(await t.ctx.stores.clients.get('development', clientId)).toBeUndefined();
      });
    });
  },
);
