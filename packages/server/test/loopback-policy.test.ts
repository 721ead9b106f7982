/**
 * Issue #18: the per-environment loopback policy through the server's entry points, on SQLite and
 * PostgreSQL. By default all three loopback hosts may be registered, as before. An operator
 * refuses `localhost` in production through the admin API: the answer lists the registrations
 * made before that now violate it, the change is audited, and from then on /authorize and the
 * end-session endpoint refuse those registrations, dynamic registration (RFC 7591) refuses a new
 * one with the explainer's reason (RFC 8252 §8.3), and so does a Client ID Metadata Document.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, updateClient } from '../src/services/clients.js';
import { planPromotion } from '../src/services/promote.js';
import { refusedRedirectsOf } from '../src/services/redirects.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const RFC_8252_REASON = /RFC 8252 §8\.3 calls localhost NOT RECOMMENDED/;

/** The answer to a browser's code request (PKCE, openid) for `redirectUri` in `env`. */
function authorizePage(t: TestServer, env: string, clientId: string, redirectUri: string) {
  return new FormBrowser(t.url).get(
    `/e/${env}/authorize?${new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      state: 's',
    }).toString()}`,
  );
}

describe.each(DATABASES)('the loopback policy on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let admin: AdminSession;
  let viewer: AdminSession;
  let adminId = '';
  let clientId = '';

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    ({ session: admin, id: adminId } = await operatorSession(t, 'admin@ops.example', 'admin'));
    viewer = (await operatorSession(t, 'viewer@ops.example', 'viewer')).session;
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const authorize = (env: string, id: string, redirectUri: string) =>
    authorizePage(t, env, id, redirectUri);

  it('allows all three loopback hosts by default, as before', async () => {
    const production = await t.ctx.stores.environments.get('production');
    expect(production?.loopbackHosts).toEqual(['127.0.0.1', '[::1]', 'localhost']);
    const reply = await admin.call('GET', '/environments');
    const environments = reply.body.environments as { name: string; loopbackHosts: string[] }[];
    expect(environments.find((e) => e.name === 'production')?.loopbackHosts).toEqual([
      '127.0.0.1',
      '[::1]',
      'localhost',
    ]);
    // Registered (as an operator would) before any policy: localhost is accepted.
    const { client } = await createClient(t.ctx, {
      environment: 'production',
      type: 'native',
      name: 'Desk CLI',
      redirectUris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
      postLogoutRedirectUris: ['http://localhost/signed-out'],
      requireDpop: false,
    });
    clientId = client.clientId;
    const page = await authorize('production', clientId, 'http://localhost:49152/callback');
    expect(page.status).not.toBe(400);
    expect(page.headers.get('location')).toMatch(/\/e\/production\/login/);
  });

  it('refuses an empty list, an unknown host or a repeat, and changes nothing', async () => {
    for (const loopbackHosts of [[], ['127.0.0.2'], ['127.0.0.1', '127.0.0.1'], ['localhost.']]) {
      const reply = await admin.call('PATCH', '/environments/production', { loopbackHosts });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('invalid_loopback_hosts');
    }
    expect((await t.ctx.stores.environments.get('production'))?.loopbackHosts).toHaveLength(3);
    // Viewers read settings; only admins change them.
    const denied = await viewer.call('PATCH', '/environments/production', {
      loopbackHosts: ['127.0.0.1'],
    });
    expect(denied.status).toBe(403);
  });

  it('refuses localhost in production: the answer lists the registrations made before, audited', async () => {
    const reply = await admin.call('PATCH', '/environments/production', {
      loopbackHosts: ['[::1]', '127.0.0.1'],
    });
    expect(reply.status).toBe(200);
    const environment = reply.body.environment as { loopbackHosts: string[] };
    expect(environment.loopbackHosts).toEqual(['127.0.0.1', '[::1]']);
    const violations = reply.body.loopbackViolations as Record<string, string>[];
    expect(violations.map((v) => [v.clientId, v.kind, v.uri, v.suggestion])).toEqual([
      [clientId, 'redirect', 'http://localhost/callback', 'http://127.0.0.1/callback'],
      [clientId, 'post_logout', 'http://localhost/signed-out', 'http://127.0.0.1/signed-out'],
    ]);
    expect(violations[0]?.clientName).toBe('Desk CLI');
    expect(violations[0]?.message).toMatch(RFC_8252_REASON);
    expect((await t.ctx.stores.environments.get('production'))?.loopbackHosts).toEqual([
      '127.0.0.1',
      '[::1]',
    ]);
    const [entry] = await t.ctx.stores.audit.tail({
      environment: 'production',
      type: 'environment.settings_changed',
    });
    expect(entry?.data).toMatchObject({
      before: { loopbackHosts: ['127.0.0.1', '[::1]', 'localhost'] },
      after: { loopbackHosts: ['127.0.0.1', '[::1]'] },
      refusedLoopbackRegistrations: 2,
    });
    expect(entry?.actor).toBe(`operator:${adminId}`);
  });

  it('/authorize refuses the localhost registration made before the change; 127.0.0.1 still works', async () => {
    const refused = await authorize('production', clientId, 'http://localhost:49152/callback');
    expect(refused.status).toBe(400);
    expect(refused.headers.get('location')).toBeNull();
    const [recorded] = await t.ctx.stores.refusedRedirects.list('production', clientId);
    expect(recorded?.policyCode).toBe('loopback_host_not_allowed');
    // What the console shows an operator about it: the reason, and not offered in one click.
    const [view] = await refusedRedirectsOf(t.ctx, 'production', clientId);
    expect(view?.registrable).toMatchObject({ ok: false, code: 'loopback_host_not_allowed' });
    expect(view?.registrable.ok === false && view.registrable.message).toMatch(RFC_8252_REASON);

    const allowed = await authorize('production', clientId, 'http://127.0.0.1:49152/callback');
    expect(allowed.status).not.toBe(400);
    expect(allowed.headers.get('location')).toMatch(/\/e\/production\/login/);
  });

  it('a client with a registration made before can still be changed; a new localhost URI cannot', async () => {
    const added = await admin.call(
      'POST',
      `/environments/production/clients/${clientId}/redirect-uris`,
      { uri: 'http://127.0.0.1/added' },
    );
    expect(added.status).toBe(201);
    const renamed = await updateClient(t.ctx, 'production', clientId, { name: 'Desk CLI 2' });
    expect(renamed.client.redirectUris).toContain('http://localhost/callback');
    expect(renamed.client.postLogoutRedirectUris).toEqual(['http://localhost/signed-out']);
    const refused = await admin.call(
      'POST',
      `/environments/production/clients/${clientId}/redirect-uris`,
      { uri: 'http://localhost/new' },
    );
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(RFC_8252_REASON);
    await expect(
      updateClient(t.ctx, 'production', clientId, {
        postLogoutRedirectUris: ['http://localhost/signed-out', 'http://localhost/other'],
      }),
    ).rejects.toThrow(/post-logout redirect URI http:\/\/localhost\/other refused/);
    await updateClient(t.ctx, 'production', clientId, { name: 'Desk CLI' });
  });

  it('the end-session endpoint refuses the localhost post-logout URI registered before', async () => {
    const page = await new FormBrowser(t.url).get(
      `/e/production/logout?${new URLSearchParams({
        client_id: clientId,
        post_logout_redirect_uri: 'http://localhost/signed-out',
      }).toString()}`,
    );
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
  });

  it('dynamic registration refuses localhost in production with the explainer’s reason', async () => {
    await t.ctx.stores.environments.update('production', { registration: 'open' });
    const register = (redirectUris: string[]) =>
      fetch(`${t.issuer('production')}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'Registered CLI',
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          redirect_uris: redirectUris,
        }),
      });
    const refused = await register(['http://localhost/callback']);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_redirect_uri');
    expect(body.error_description).toMatch(RFC_8252_REASON);
    expect(body.error_description).toContain('http://127.0.0.1/callback');
    expect((await t.ctx.stores.clients.list('production')).map((c) => c.name)).not.toContain(
      'Registered CLI',
    );
    // A post-logout URI on localhost is refused the same way.
    const postLogout = await fetch(`${t.issuer('production')}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        post_logout_redirect_uris: ['http://localhost/bye'],
      }),
    });
    expect(postLogout.status).toBe(400);
    expect(((await postLogout.json()) as Record<string, string>).error_description).toMatch(
      /loopback_host_not_allowed/,
    );
    expect((await register(['http://127.0.0.1/callback'])).status).toBe(201);
    await t.ctx.stores.environments.update('production', { registration: 'token' });
  });

  it('promotion to production refuses the localhost URI of a staging client, with the reason', async () => {
    const { client } = await createClient(t.ctx, {
      environment: 'staging',
      type: 'native',
      name: 'Staged CLI',
      redirectUris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
    });
    const plan = await planPromotion(t.ctx, 'staging', client.clientId, 'production');
    expect(plan.accepted).toEqual(['http://127.0.0.1/callback']);
    expect(plan.refused).toMatchObject([
      {
        uri: 'http://localhost/callback',
        code: 'loopback_host_not_allowed',
        suggestion: 'http://127.0.0.1/callback',
      },
    ]);
    expect(plan.refused[0]?.message).toMatch(RFC_8252_REASON);
  });

  it('going back to the default lets localhost match again', async () => {
    const reply = await admin.call('PATCH', '/environments/production', { loopbackHosts: null });
    expect(reply.status).toBe(200);
    expect(reply.body.loopbackViolations).toEqual([]);
    expect((await t.ctx.stores.environments.get('production'))?.loopbackHosts).toHaveLength(3);
    const page = await authorize('production', clientId, 'http://localhost:49152/callback');
    expect(page.status).not.toBe(400);
    expect(page.headers.get('location')).toMatch(/\/e\/production\/login/);
  });
});

/**
 * A Client ID Metadata Document naming localhost, where the environment refuses it. Documents are
 * fetched from this machine only in a development environment that allows loopback documents
 * (outside development the SSRF guard refuses loopback addresses, so no test can serve one), so
 * the policy is set on development here; it is the same `redirectPolicyFor` as in production.
 */
describe('a metadata document naming a refused loopback host', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let docs: Server;
  let base = '';

  beforeAll(async () => {
    db = await DATABASES[0].create();
    t = await startTestServer(db);
    docs = createServer((request, response) => {
      const path = request.url ?? '';
      const uris: Record<string, string[]> = {
        '/localhost.json': ['http://localhost/callback'],
        '/numeric.json': ['http://127.0.0.1/callback'],
      };
      const redirectUris = uris[path];
      if (redirectUris === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          client_id: `${base}${path}`,
          client_name: 'Agent',
          redirect_uris: redirectUris,
          token_endpoint_auth_method: 'none',
        }),
      );
    });
    await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    const admin = (await operatorSession(t, 'admin@ops.example', 'admin')).session;
    const reply = await admin.call('PATCH', '/environments/development', {
      allowLoopbackDocuments: true,
      metadataDocuments: true,
      loopbackHosts: ['127.0.0.1', '[::1]'],
    });
    expect(reply.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      docs.close(() => {
        resolve();
      });
    });
    await t.close();
    await db.drop();
  });

  const authorize = (clientId: string, redirectUri: string) =>
    authorizePage(t, 'development', clientId, redirectUri);

  it('refuses the document with the explainer’s reason, and stores no client', async () => {
    const page = await authorize(`${base}/localhost.json`, 'http://localhost:5123/callback');
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
    const text = await page.text();
    expect(text).toContain('loopback host localhost');
    expect(text).toContain('RFC 8252 §8.3');
    expect(await t.ctx.stores.clients.get('development', `${base}/localhost.json`)).toBeUndefined();
  });

  it('accepts a document on 127.0.0.1', async () => {
    const page = await authorize(`${base}/numeric.json`, 'http://127.0.0.1:5123/callback');
    expect(page.status).not.toBe(400);
    expect(await t.ctx.stores.clients.get('development', `${base}/numeric.json`)).toMatchObject({
      kind: 'metadata_document',
    });
  });
});
