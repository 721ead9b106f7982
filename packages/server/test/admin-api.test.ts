/**
 * The admin API: authentication, CSRF, roles, and the operations the console is built on. What a
 * role may not do is refused with 403 and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import {
  AdminSession,
  OPERATOR_PASSWORD,
  operatorSession,
  type ApiReply,
} from './support/admin.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

describe.each(DATABASES)('admin API on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let admin: AdminSession;
  let support: AdminSession;
  let viewer: AdminSession;
  let viewerId: string;
  let stagingClient: string;
  let userId: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    ({ session: admin } = await operatorSession(t, 'admin@ops.example', 'admin'));
    ({ session: support } = await operatorSession(t, 'support@ops.example', 'support'));
    ({ session: viewer, id: viewerId } = await operatorSession(t, 'viewer@ops.example', 'viewer'));
    stagingClient = (
      await createClient(t.ctx, {
        environment: 'staging',
        type: 'web',
        name: 'Review app',
        redirectUris: [
          'https://app.staging.example.com/callback',
          'https://*.review.example.com/callback',
        ],
      })
    ).client.clientId;
    userId = await t.user('dana@example.com', 'dana password 123', 'staging');
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /** Everything an operator can see, to show that a refused request changed none of it. */
  const snapshot = async () =>
    JSON.stringify(
      await Promise.all([
        admin.call('GET', '/environments'),
        admin.call('GET', '/environments/staging/clients'),
        admin.call('GET', '/environments/staging/users'),
        admin.call('GET', '/environments/staging/impersonations'),
        admin.call('GET', '/operators'),
      ]),
    );

  const changes = (): [string, string, unknown][] => [
    ['POST', '/environments', { name: 'qa', tier: 'staging' }],
    ['PATCH', '/environments/staging', { impersonationEnabled: true }],
    [
      'POST',
      '/environments/staging/clients',
      { name: 'X', type: 'native', redirectUris: ['http://127.0.0.1/cb'] },
    ],
    ['PATCH', `/environments/staging/clients/${stagingClient}`, { name: 'Renamed' }],
    ['DELETE', `/environments/staging/clients/${stagingClient}`, undefined],
    ['POST', `/environments/staging/clients/${stagingClient}/secret`, undefined],
    [
      'POST',
      `/environments/staging/clients/${stagingClient}/redirect-uris`,
      { uri: 'https://b.staging.example.com/cb' },
    ],
    [
      'DELETE',
      `/environments/staging/clients/${stagingClient}/redirect-uris?uri=${encodeURIComponent('https://app.staging.example.com/callback')}`,
      undefined,
    ],
    [
      'POST',
      `/environments/staging/clients/${stagingClient}/promote`,
      { to: 'production', dropRefused: true },
    ],
    [
      'POST',
      '/environments/staging/users',
      { email: 'new@example.com', password: 'new user pw 123' },
    ],
    ['POST', `/environments/staging/users/${userId}/disable`, undefined],
    ['DELETE', `/environments/staging/users/${userId}`, undefined],
    ['POST', '/operators', { email: 'x@ops.example', role: 'admin', password: OPERATOR_PASSWORD }],
    ['POST', `/operators/${viewerId}/disable`, undefined],
  ];

  it('answers anonymous requests with 401, reads and changes alike', async () => {
    const anonymous = new AdminSession(t.url);
    const reads = [
      '/session',
      '/environments',
      '/environments/staging/clients',
      '/audit',
      '/operators',
    ];
    for (const path of reads) {
      const reply = await anonymous.call('GET', path);
      expect(reply.status, path).toBe(401);
      expect(reply.body.error).toBe('unauthenticated');
    }
    const before = await snapshot();
    for (const [method, path, body] of changes())
      expect((await anonymous.call(method, path, body)).status, `${method} ${path}`).toBe(401);
    expect(await snapshot()).toBe(before);
  });

  it('serves an OpenAPI document describing the API', async () => {
    const reply = await new AdminSession(t.url).call('GET', '/openapi.json');
    expect(reply.status).toBe(200);
    expect(reply.body.openapi).toBe('3.0.3');
    const paths = Object.keys(reply.body.paths as object);
    for (const path of [
      '/environments',
      '/environments/{env}/clients',
      '/environments/{env}/clients/{clientId}/redirect-uris',
      '/environments/{env}/clients/{clientId}/refused-redirects',
      '/environments/{env}/clients/{clientId}/promote',
      '/environments/{env}/users',
      '/environments/{env}/impersonations',
      '/audit',
      '/operators',
    ])
      expect(
        paths.some((p) => p.endsWith(path)),
        path,
      ).toBe(true);
  });

  it('refuses a wrong password with 401 and throttles repeated failures with 429', async () => {
    const session = new AdminSession(t.url);
    expect((await session.signIn('admin@ops.example', 'wrong')).status).toBe(401);
    expect((await session.signIn('nobody@ops.example', 'wrong')).body.error).toBe(
      'invalid_credentials',
    );
    for (let i = 0; i < 4; i++) await session.signIn('admin@ops.example', 'wrong');
    const throttled = await session.signIn('admin@ops.example', OPERATOR_PASSWORD);
    expect(throttled.status).toBe(429);
    expect(throttled.body.error).toBe('too_many_attempts');
  });

  it('sets a strict, http-only session cookie scoped to /admin', async () => {
    const response = await fetch(`${t.url}/admin/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'support@ops.example', password: OPERATOR_PASSWORD }),
    });
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('gh_admin='));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/admin/);
  });

  it('refuses a change without the CSRF header, or sent as a form, and changes nothing', async () => {
    const before = await snapshot();
    const noHeader = await admin.call(
      'POST',
      '/environments/staging/users',
      { email: 'csrf@example.com', password: 'csrf password 1' },
      { 'x-gatehouse-csrf': '' },
    );
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error).toBe('csrf_failed');
    const response = await fetch(`${t.url}/admin/api/environments/staging/users`, {
      method: 'POST',
      headers: {
        cookie: admin.jar.header(),
        'x-gatehouse-csrf': admin.csrfToken,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'email=form%40example.com&password=form+password+1',
    });
    expect(response.status).toBe(415);
    expect(await snapshot()).toBe(before);
  });

  it('lets a viewer read everything and change nothing (403)', async () => {
    for (const path of [
      '/environments',
      '/environments/staging/clients',
      `/environments/staging/clients/${stagingClient}/refused-redirects`,
      '/audit',
      '/operators',
    ])
      expect((await viewer.call('GET', path)).status, path).toBe(200);
    const before = await snapshot();
    for (const [method, path, body] of changes()) {
      const reply = await viewer.call(method, path, body);
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.body.error).toBe('forbidden');
    }
    const impersonate = await viewer.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: stagingClient,
      reason: 'ticket 1',
    });
    expect(impersonate.status).toBe(403);
    expect(await snapshot()).toBe(before);
  });

  it('lets support read, and change nothing but impersonation (403)', async () => {
    const before = await snapshot();
    for (const [method, path, body] of changes())
      expect((await support.call(method, path, body)).status, `${method} ${path}`).toBe(403);
    expect(await snapshot()).toBe(before);
  });

  it('creates a client, refusing a redirect URI the policy refuses with its message', async () => {
    const refused = await admin.call('POST', '/environments/production/clients', {
      name: 'Shop',
      type: 'web',
      redirectUris: ['http://shop.example.com/callback'],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('redirect_uri_refused');
    expect((refused.body.details as { uri: string; code: string }[])[0]).toMatchObject({
      uri: 'http://shop.example.com/callback',
      code: 'http_not_loopback',
    });
    expect((await admin.call('GET', '/environments/production/clients')).body.clients).toEqual([]);

    const created = await admin.call('POST', '/environments/production/clients', {
      name: 'Shop',
      type: 'web',
      redirectUris: ['https://shop.example.com/callback'],
    });
    expect(created.status).toBe(201);
    expect(created.body.clientSecret).toMatch(/^ghs_production_/);
    const client = created.body.client as { clientId: string; hasSecret: boolean };
    expect(client.hasSecret).toBe(true);
    const read = await admin.call('GET', `/environments/production/clients/${client.clientId}`);
    expect(JSON.stringify(read.body)).not.toContain('ghs_');
    expect(JSON.stringify(read.body)).not.toMatch(/secretHash|secret_hash/);
  });

  it('lists a redirect URI a real request used and the policy refused, and registers it', async () => {
    const { challenge } = pkce();
    const attempt = (redirectUri: string) =>
      new FormBrowser(t.url).get(
        `/e/staging/authorize?${new URLSearchParams({ client_id: stagingClient, redirect_uri: redirectUri, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256', state: 's' }).toString()}`,
      );
    const typo = 'https://app.staging.example.com/callbak';
    expect((await attempt(typo)).status).toBe(400);
    expect((await attempt(typo)).status).toBe(400);
    const listed = await viewer.call(
      'GET',
      `/environments/staging/clients/${stagingClient}/refused-redirects`,
    );
    const refused = (
      listed.body.refused as {
        uri: string;
        count: number;
        closest: string;
        diff: { index: number };
        registrable: { ok: boolean };
      }[]
    ).find((r) => r.uri === typo);
    expect(refused).toMatchObject({
      count: 2,
      closest: 'https://app.staging.example.com/callback',
      registrable: { ok: true },
    });
    expect(refused?.diff.index).toBe('https://app.staging.example.com/callba'.length);

    const registered = await admin.call(
      'POST',
      `/environments/staging/clients/${stagingClient}/redirect-uris`,
      { uri: typo },
    );
    expect(registered.status).toBe(201);
    const after = await viewer.call(
      'GET',
      `/environments/staging/clients/${stagingClient}/refused-redirects`,
    );
    expect((after.body.refused as { uri: string }[]).map((r) => r.uri)).not.toContain(typo);
    expect((await attempt(typo)).status).toBe(303);
  });

  it('offers one-click registration only for a destination the client already uses', async () => {
    const { challenge } = pkce();
    const planted = 'https://app.staging.example.com.attacker.example/callback';
    const response = await new FormBrowser(t.url).get(
      `/e/staging/authorize?${new URLSearchParams({ client_id: stagingClient, redirect_uri: planted, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' }).toString()}`,
    );
    expect(response.status).toBe(400);
    const listed = await viewer.call(
      'GET',
      `/environments/staging/clients/${stagingClient}/refused-redirects`,
    );
    const entry = (
      listed.body.refused as { uri: string; registrable: { ok: boolean; code?: string } }[]
    ).find((r) => r.uri === planted);
    expect(entry?.registrable).toMatchObject({ ok: false, code: 'new_destination' });
    // A host under a registered wildcard is a known destination.
    const underWildcard = 'https://pr-3.review.example.com/calback';
    await new FormBrowser(t.url).get(
      `/e/staging/authorize?${new URLSearchParams({ client_id: stagingClient, redirect_uri: underWildcard, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' }).toString()}`,
    );
    const again = await viewer.call(
      'GET',
      `/environments/staging/clients/${stagingClient}/refused-redirects`,
    );
    expect(
      (again.body.refused as { uri: string; registrable: { ok: boolean } }[]).find(
        (r) => r.uri === underWildcard,
      )?.registrable,
    ).toEqual({ ok: true });
  });

  it('registers a redirect URI with an expiry and refuses a bad duration', async () => {
    const added = await admin.call(
      'POST',
      `/environments/staging/clients/${stagingClient}/redirect-uris`,
      { uri: 'https://pr-7.staging.example.com/callback', expiresIn: '7d' },
    );
    expect(added.status).toBe(201);
    const entry = (
      added.body.client as { redirectUris: { uri: string; expiresAt: number | null }[] }
    ).redirectUris.find((r) => r.uri === 'https://pr-7.staging.example.com/callback');
    expect(entry?.expiresAt).toBeGreaterThan(Date.now() + 6.9 * 86_400_000);
    const bad = await admin.call(
      'POST',
      `/environments/staging/clients/${stagingClient}/redirect-uris`,
      { uri: 'https://pr-8.staging.example.com/callback', expiresIn: 'soon' },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_duration');
  });

  it('previews a promotion with the refused wildcard, writes nothing, then promotes without it', async () => {
    const before = await snapshot();
    const preview = await admin.call(
      'POST',
      `/environments/staging/clients/${stagingClient}/promote`,
      { to: 'production', dryRun: true },
    );
    expect(preview.status).toBe(200);
    const plan = preview.body.plan as {
      action: string;
      refused: { uri: string; code: string }[];
      accepted: string[];
      skippedExpiring: string[];
    };
    expect(plan.action).toBe('create');
    expect(plan.refused.map((r) => r.uri)).toEqual(['https://*.review.example.com/callback']);
    expect(plan.accepted).toContain('https://app.staging.example.com/callback');
    expect(plan.skippedExpiring).toContain('https://pr-7.staging.example.com/callback');
    const refused = await admin.call(
      'POST',
      `/environments/staging/clients/${stagingClient}/promote`,
      { to: 'production' },
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('promotion_refused');
    expect(await snapshot()).toBe(before);

    const promoted = await admin.call(
      'POST',
      `/environments/staging/clients/${stagingClient}/promote`,
      { to: 'production', dropRefused: true },
    );
    expect(promoted.status).toBe(200);
    expect(promoted.body.clientSecret).toMatch(/^ghs_production_/);
    const client = promoted.body.client as {
      clientId: string;
      promotedFrom: string;
      redirectUris: { uri: string }[];
    };
    expect(client.promotedFrom).toBe(`staging/${stagingClient}`);
    expect(client.redirectUris.map((r) => r.uri)).not.toContain(
      'https://*.review.example.com/callback',
    );
    const again = await admin.call(
      'POST',
      `/environments/staging/clients/${stagingClient}/promote`,
      { to: 'production', dropRefused: true },
    );
    expect((again.body.client as { clientId: string }).clientId).toBe(client.clientId);
    expect(again.body.clientSecret).toBeUndefined();
  });

  it('filters the audit log by operator, type and client, with the chain state', async () => {
    const reply = await viewer.call(
      'GET',
      `/audit?operator=admin%40ops.example&type=client.*&clientId=${stagingClient}`,
    );
    expect(reply.status).toBe(200);
    const entries = reply.body.entries as { type: string; actor: string; clientId: string }[];
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(entry.type.startsWith('client.')).toBe(true);
      expect(entry.clientId).toBe(stagingClient);
      expect(entry.actor).toMatch(/^operator:op_/);
    }
    expect(reply.body.verification).toMatchObject({ ok: true });
    const older = await viewer.call('GET', `/audit?limit=1&before=3`);
    expect((older.body.entries as { seq: number }[]).map((e) => e.seq)).toEqual([2]);
    expect((await viewer.call('GET', '/audit?limit=9999')).status).toBe(400);
  });

  it('ends a disabled operator’s sessions at once', async () => {
    const { session, id } = await operatorSession(t, 'leaver@ops.example', 'viewer');
    expect((await session.call('GET', '/environments')).status).toBe(200);
    const disabled: ApiReply = await admin.call('POST', `/operators/${id}/disable`);
    expect(disabled.status).toBe(200);
    expect((await session.call('GET', '/environments')).status).toBe(401);
    expect(
      (await new AdminSession(t.url).signIn('leaver@ops.example', OPERATOR_PASSWORD)).status,
    ).toBe(401);
  });

  it('serves the console page under /admin with a strict CSP', async () => {
    const response = await fetch(`${t.url}/admin/clients/anything`);
    expect([200, 503]).toContain(response.status);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const missing = await fetch(`${t.url}/admin/api/nothing-here`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/json');
  });
});
