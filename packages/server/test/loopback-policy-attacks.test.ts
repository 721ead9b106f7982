/**
 * Issue #18, reviewed as an attacker: with `localhost` refused in production, no request and no
 * registration change gets a redirect to it. Two gaps are closed here: /authorize (and PAR) fell
 * back to a client's only registration when redirect_uri was omitted without asking the policy,
 * so a client whose only registration was https://localhost/... (https loopback has no port
 * exception, so it may be omitted) still had error responses sent there (prompt=none) and a
 * sign-in started, stopped only at code issue; and the exception that lets a
 * client keep a registration made before the policy let an operator "add" such a URI again (an
 * expired one was revived, its expiry cleared). SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, updateClient } from '../src/services/clients.js';
import { promoteClient } from '../src/services/promote.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { Browser, codeRequest } from './support/oauth.js';
import { startTestServer, type TestServer } from './support/server.js';

const RFC_8252_REASON = /RFC 8252 §8\.3 calls localhost NOT RECOMMENDED/;

describe.each(DATABASES)('the loopback policy under attack on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let admin: AdminSession;
  let now = Date.now();
  /** Its only redirect URI, on https://localhost, registered before localhost was refused. */
  let soleId = '';
  /** Registered before: http://localhost/cb, http://127.0.0.1/cb and an expiring http://localhost/temp. */
  let keptId = '';

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock: () => now });
    admin = (await operatorSession(t, 'admin@ops.example', 'admin')).session;
    soleId = (
      await createClient(t.ctx, {
        environment: 'production',
        type: 'native',
        name: 'Sole',
        redirectUris: ['https://localhost/only'],
        skipConsent: true,
        requireDpop: false,
      })
    ).client.clientId;
    keptId = (
      await createClient(t.ctx, {
        environment: 'production',
        type: 'native',
        name: 'Kept',
        redirectUris: ['http://localhost/cb', 'http://127.0.0.1/cb'],
        requireDpop: false,
      })
    ).client.clientId;
    await updateClient(t.ctx, 'production', keptId, {
      addRedirectUris: ['http://localhost/temp'],
      redirectUriExpiries: { 'http://localhost/temp': now + 60_000 },
    });
    const reply = await admin.call('PATCH', '/environments/production', {
      loopbackHosts: ['127.0.0.1', '[::1]'],
    });
    expect(reply.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /** An authorization request without redirect_uri (OAuth 2.1 §2.3.2: one registration). */
  const withoutRedirectUri = (clientId: string): Record<string, string> => {
    const { query } = codeRequest(clientId, '', 'openid');
    return Object.fromEntries(Object.entries(query).filter(([name]) => name !== 'redirect_uri'));
  };

  it('/authorize without redirect_uri sends nothing to a sole registration on a refused host', async () => {
    // prompt=none without a session is answered by an error redirect: it went to https://localhost.
    const silent = await fetch(
      `${t.issuer('production')}/authorize?${new URLSearchParams({
        ...withoutRedirectUri(soleId),
        prompt: 'none',
      }).toString()}`,
      { redirect: 'manual' },
    );
    expect(silent.status).toBe(400);
    expect(silent.headers.get('location')).toBeNull();
    // Nor is a sign-in started for it (the code was stopped only at issue, after the password).
    const started = await new Browser(t.url, 'production').start(withoutRedirectUri(soleId));
    expect(started.location).toBeUndefined();
    expect(started.page.status).toBe(400);
    expect(await started.page.text()).not.toContain('name="password"');
    const [recorded] = await t.ctx.stores.refusedRedirects.list('production', soleId);
    expect(recorded).toMatchObject({
      redirectUri: 'https://localhost/only',
      policyCode: 'loopback_host_not_allowed',
    });
  });

  it('PAR without redirect_uri is refused too, with the reason', async () => {
    const pushed = await fetch(`${t.issuer('production')}/par`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(withoutRedirectUri(soleId)),
    });
    expect(pushed.status).toBe(400);
    const body = (await pushed.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toMatch(RFC_8252_REASON);
    expect(body.request_uri).toBeUndefined();
  });

  it('a request pushed before the policy is refused when its request_uri is used after it', async () => {
    await t.ctx.stores.environments.update('production', { loopbackHosts: null });
    const { query } = codeRequest(keptId, 'http://localhost:5123/cb', 'openid');
    const pushed = await fetch(`${t.issuer('production')}/par`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(query),
    });
    expect(pushed.status).toBe(201);
    const { request_uri: requestUri } = (await pushed.json()) as { request_uri: string };
    await t.ctx.stores.environments.update('production', {
      loopbackHosts: ['127.0.0.1', '[::1]'],
    });
    const started = await new Browser(t.url, 'production').start({
      client_id: keptId,
      request_uri: requestUri,
    });
    expect(started.location).toBeUndefined();
    expect(started.page.status).toBe(400);
  });

  it('"adding" a localhost URI the client still has is refused, and changes nothing', async () => {
    const before = await t.ctx.stores.clients.get('production', keptId);
    const again = await admin.call(
      'POST',
      `/environments/production/clients/${keptId}/redirect-uris`,
      { uri: 'http://localhost/cb' },
    );
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('redirect_uri_refused');
    expect(again.body.message).toMatch(RFC_8252_REASON);
    expect(await t.ctx.stores.clients.get('production', keptId)).toEqual(before);
    // Other changes to the client still go through, keeping the registration made before.
    const renamed = await admin.call('PATCH', `/environments/production/clients/${keptId}`, {
      name: 'Kept 2',
    });
    expect(renamed.status).toBe(200);
  });

  it('an expired localhost URI cannot be revived by adding it again', async () => {
    now += 120_000; // http://localhost/temp has expired; the sweeper has not removed it yet
    const before = await t.ctx.stores.clients.get('production', keptId);
    expect(before?.redirectUris).toContain('http://localhost/temp');
    const revived = await admin.call(
      'POST',
      `/environments/production/clients/${keptId}/redirect-uris`,
      { uri: 'http://localhost/temp' },
    );
    expect(revived.status).toBe(400);
    expect(revived.body.error).toBe('redirect_uri_refused');
    const after = await t.ctx.stores.clients.get('production', keptId);
    expect(after?.redirectUriExpiries['http://localhost/temp']).toBe(
      before?.redirectUriExpiries['http://localhost/temp'],
    );
    // Nor through the service with an explicit add (the CLI's `redirects add`).
    await expect(
      updateClient(t.ctx, 'production', keptId, { addRedirectUris: ['http://localhost/cb'] }),
    ).rejects.toThrow(/loopback host localhost/);
  });

  it('a removed localhost URI cannot be added back', async () => {
    const removed = await admin.call(
      'DELETE',
      `/environments/production/clients/${keptId}/redirect-uris?${new URLSearchParams({ uri: 'http://localhost/cb' }).toString()}`,
    );
    expect(removed.status).toBe(200);
    for (const body of [
      { redirectUris: ['http://127.0.0.1/cb', 'http://localhost/cb'] },
      { redirectUris: ['http://127.0.0.1/cb', 'http://LOCALHOST/cb'] },
    ]) {
      const reply = await admin.call('PATCH', `/environments/production/clients/${keptId}`, body);
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('redirect_uri_refused');
    }
    expect((await t.ctx.stores.clients.get('production', keptId))?.redirectUris).not.toContain(
      'http://localhost/cb',
    );
  });
  /** Sets the production policy straight in the store (null: all three). */
  const policy = (loopbackHosts: string[] | null) =>
    t.ctx.stores.environments.update('production', {
      loopbackHosts: loopbackHosts as ['127.0.0.1'] | null,
    });

  it('no spelling of a refused host gets in as a redirect or post-logout URI', async () => {
    const spellings: [string[], string[]][] = [
      [
        ['127.0.0.1', '[::1]'],
        [
          'http://LOCALHOST/cb',
          'HTTP://localhost/cb',
          'http://localhost./cb',
          'http://a.localhost/cb',
          'http://%6Cocalhost/cb',
          'http://user@localhost/cb',
          'http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/cb',
          'https://localhost/cb',
          'http:localhost/cb',
          'http://localhost:8080/cb',
        ],
      ],
      [
        ['127.0.0.1', 'localhost'],
        [
          'http://[::1]/cb',
          'http://[0:0:0:0:0:0:0:1]/cb',
          'https://[::1]/cb',
          'http://[::ffff:127.0.0.1]/cb',
        ],
      ],
      [
        ['[::1]', 'localhost'],
        ['http://127.0.0.1/cb', 'http://127.1/cb', 'http://0x7f000001/cb', 'http://2130706433/cb'],
      ],
    ];
    for (const [hosts, uris] of spellings) {
      await policy(hosts);
      for (const uri of uris) {
        const created = await admin.call('POST', '/environments/production/clients', {
          name: 'Spelled',
          type: 'native',
          redirectUris: [uri],
        });
        expect([uri, created.status, created.body.error]).toEqual([
          uri,
          400,
          'redirect_uri_refused',
        ]);
        const postLogout = await admin.call('PATCH', `/environments/production/clients/${keptId}`, {
          postLogoutRedirectUris: [uri],
        });
        expect([uri, postLogout.status]).toEqual([uri, 400]);
      }
    }
    await policy(['127.0.0.1', '[::1]']);
    const names = (await t.ctx.stores.clients.list('production')).map((c) => c.name);
    expect(names).not.toContain('Spelled');
    expect(
      (await t.ctx.stores.clients.get('production', keptId))?.postLogoutRedirectUris ?? [],
    ).toEqual([]);
  });

  it('promotion does not copy localhost into production because the target already has it', async () => {
    await policy(null);
    const staged = await createClient(t.ctx, {
      environment: 'staging',
      type: 'native',
      name: 'Staged',
      redirectUris: ['http://localhost/cb', 'http://127.0.0.1/cb'],
    });
    const first = await promoteClient(t.ctx, 'staging', staged.client.clientId, 'production');
    expect(first.client.redirectUris).toContain('http://localhost/cb');
    await policy(['127.0.0.1', '[::1]']);
    await expect(
      promoteClient(t.ctx, 'staging', staged.client.clientId, 'production'),
    ).rejects.toThrow(/refuses 1 of the client's redirect URIs; nothing was promoted/);
    const dropped = await promoteClient(t.ctx, 'staging', staged.client.clientId, 'production', {
      dropRefused: true,
    });
    expect(dropped.client.redirectUris).toEqual(['http://127.0.0.1/cb']);
  });

  it('a dynamic client cannot keep its localhost URI by sending it again (RFC 7592)', async () => {
    await policy(null);
    await t.ctx.stores.environments.update('production', { registration: 'open' });
    const metadata = {
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://localhost/cb', 'http://127.0.0.1/cb'],
    };
    const registered = await fetch(`${t.issuer('production')}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
    expect(registered.status).toBe(201);
    const answer = (await registered.json()) as Record<string, string>;
    await policy(['127.0.0.1', '[::1]']);
    const update = (body: Record<string, unknown>) =>
      fetch(answer.registration_client_uri as string, {
        method: 'PUT',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${answer.registration_access_token as string}`,
        },
        body: JSON.stringify({ client_id: answer.client_id, ...body }),
      });
    const resent = await update(metadata);
    expect(resent.status).toBe(400);
    const refusal = (await resent.json()) as Record<string, string>;
    expect(refusal.error).toBe('invalid_redirect_uri');
    expect(refusal.error_description).toMatch(RFC_8252_REASON);
    const postLogout = await update({
      ...metadata,
      redirect_uris: ['http://127.0.0.1/cb'],
      post_logout_redirect_uris: ['http://localhost/bye'],
    });
    expect(postLogout.status).toBe(400);
    expect(
      (await t.ctx.stores.clients.get('production', answer.client_id as string))?.redirectUris,
    ).toEqual(['http://localhost/cb', 'http://127.0.0.1/cb']);
    await t.ctx.stores.environments.update('production', { registration: 'token' });
  });
});
