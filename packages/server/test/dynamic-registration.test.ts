/**
 * Dynamic client registration (RFC 7591) and its management (RFC 7592): open in development,
 * protected by an initial access token elsewhere, redirect URIs held to the policy, rate-limited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { createInitialAccessToken } from '../src/services/dynamic-clients.js';
import { limitAddress } from '../src/services/sign-in-limits.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

describe.each(DATABASES)('dynamic client registration on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    await t.user('dyn@example.com', 'dynamic password 1');
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
      headers: response.headers,
      body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
    };
  };
  const register = (env: string, body: unknown, token?: string) =>
    call('POST', `${t.issuer(env)}/register`, body, token);
  const nativeApp = {
    client_name: 'CLI <script>',
    redirect_uris: ['http://127.0.0.1/callback'],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    application_type: 'native',
  };

  it('registers a public native client openly in development, marked dynamic', async () => {
    const answer = await register('development', nativeApp);
    expect(answer.status).toBe(201);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const clientId = answer.body.client_id as string;
    expect(clientId).toMatch(/^ghc_development_/);
    expect(answer.body).toMatchObject({
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      registration_client_uri: `${t.issuer('development')}/register/${clientId}`,
    });
    expect(answer.body.client_secret).toBeUndefined();
    expect(answer.body.registration_access_token).toMatch(/^ghrat_/);
    expect(await t.ctx.stores.clients.get('development', clientId)).toMatchObject({
      kind: 'dynamic',
      type: 'native',
    });
    const [entry] = await t.ctx.stores.audit.tail({ type: 'client.created', clientId });
    expect(entry?.actor).toBe('anonymous');
    expect(entry?.data).toMatchObject({ kind: 'dynamic' });

    // The consent page says the application registered itself, and escapes its name.
    const browser = new FormBrowser(t.url);
    const { challenge } = pkce();
    let { last } = await browser.follow(
      await browser.get(
        `/e/development/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: 'http://127.0.0.1:4567/callback', response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' }).toString()}`,
      ),
    );
    const login = await last.text();
    ({ last } = await browser.follow(
      await browser.post('/e/development/login', {
        ...FormBrowser.fields(login),
        email: 'dyn@example.com',
        password: 'dynamic password 1',
      }),
    ));
    const consent = await last.text();
    expect(consent).toContain('calling itself “CLI &lt;script&gt;”');
    expect(consent).toContain('It registered itself');
  });

  it('refuses a client name that would read as another (bidirectional override, controls)', async () => {
    // "\u202emoc.elgoog" renders as "google.com" on the consent page; a control sequence can drive
    // an operator's terminal through `redirects report` or `clients list`.
    for (const client_name of [
      '\u202emoc.elgoog',
      'Shop\u2066 Admin\u2069',
      'CLI\u001b]8;;x\u0007',
      'A\u0085B',
    ]) {
      const refused = await register('development', { ...nativeApp, client_name });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_client_metadata' });
      expect(String(refused.body.error_description)).toContain('bidirectional');
    }
    // An update (RFC 7592) may not bring one in either, and leaves the registration as it was.
    const created = await register('development', nativeApp);
    const clientId = created.body.client_id as string;
    const token = created.body.registration_access_token as string;
    const update = await call(
      'PUT',
      `${t.issuer('development')}/register/${clientId}`,
      { ...nativeApp, client_id: clientId, client_name: '\u202emoc.elgoog' },
      token,
    );
    expect(update.status).toBe(400);
    expect((await t.ctx.stores.clients.get('development', clientId))?.name).toBe('CLI <script>');
    // Operators are held to the same rule.
    await expect(
      createClient(t.ctx, {
        environment: 'development',
        type: 'native',
        name: 'Deploy\u202e',
        redirectUris: ['http://127.0.0.1/callback'],
      }),
    ).rejects.toMatchObject({ code: 'invalid_client_name' });
  });

  it('gives a confidential client a secret once', async () => {
    const answer = await register('development', {
      redirect_uris: ['https://app.example.com/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'web',
    });
    expect(answer.status).toBe(201);
    expect(answer.body.client_secret).toMatch(/^ghs_development_/);
    expect(answer.body.client_secret_expires_at).toBe(0);
  });

  it.each([
    [{ ...nativeApp, redirect_uris: ['http://evil.example.com/callback'] }, 'invalid_redirect_uri'],
    [{ ...nativeApp, redirect_uris: ['https://app.example.com/cb#frag'] }, 'invalid_redirect_uri'],
    [{ ...nativeApp, redirect_uris: [] }, 'invalid_redirect_uri'],
    [{ ...nativeApp, grant_types: ['password'] }, 'invalid_client_metadata'],
    [{ ...nativeApp, grant_types: ['client_credentials'] }, 'invalid_client_metadata'],
    [{ ...nativeApp, token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
    [{ ...nativeApp, response_types: ['token'] }, 'invalid_client_metadata'],
    [{ ...nativeApp, client_uri: 'javascript:alert(1)' }, 'invalid_client_metadata'],
    ['not an object', 'invalid_client_metadata'],
  ])('refuses %j with %s and stores nothing', async (body, code) => {
    const before = (await t.ctx.stores.clients.list('development')).length;
    const answer = await register('development', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe(code);
    expect((await t.ctx.stores.clients.list('development')).length).toBe(before);
  });

  it.each([
    // MCP authorization 2026-07-28 (Client Registration, Dynamic Client Registration): clients
    // MUST send application_type; guessing `web` held desktop clients to the web policy.
    [
      'no application_type',
      { ...nativeApp, application_type: undefined },
      'invalid_client_metadata',
      /application_type is required: native .* web /,
    ],
    [
      'a null application_type',
      { ...nativeApp, application_type: null },
      'invalid_client_metadata',
      /application_type is required/,
    ],
    [
      'an application_type OpenID Connect does not define',
      { ...nativeApp, application_type: 'spa' },
      'invalid_client_metadata',
      /application_type must be native or web/,
    ],
    // OpenID Connect Registration §2: a native client's redirects are http loopback or private-use
    // schemes; private-use schemes are not a web client's.
    [
      'a native client with an https redirect URI',
      { ...nativeApp, redirect_uris: ['https://app.example.com/callback'] },
      'invalid_redirect_uri',
      /not a redirect URI of a native application/,
    ],
    [
      'a web client with a private-use scheme redirect URI',
      { ...nativeApp, application_type: 'web', redirect_uris: ['com.example.app:/callback'] },
      'invalid_redirect_uri',
      /native clients only/,
    ],
  ])('refuses %s, naming the rule, and stores nothing', async (_, body, code, description) => {
    await t.ctx.stores.attempts.clear(`register:${limitAddress(new URL(t.url).hostname)}`);
    const before = (await t.ctx.stores.clients.list('development')).length;
    const answer = await register('development', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe(code);
    expect(answer.body.error_description).toMatch(description);
    expect((await t.ctx.stores.clients.list('development')).length).toBe(before);
  });

  it('an RFC 7592 update names application_type too, and a refused update changes nothing', async () => {
    await t.ctx.stores.attempts.clear(`register:${limitAddress(new URL(t.url).hostname)}`);
    const created = await register('development', nativeApp);
    expect(created.status).toBe(201);
    const uri = created.body.registration_client_uri as string;
    const token = created.body.registration_access_token as string;
    const refused = await call(
      'PUT',
      uri,
      {
        ...nativeApp,
        application_type: undefined,
        client_id: created.body.client_id,
        client_name: 'Renamed',
      },
      token,
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_client_metadata');
    expect((await call('GET', uri, undefined, token)).body).toMatchObject({
      client_name: 'CLI <script>',
      application_type: 'native',
    });
  });

  it('refuses a wildcard redirect in production, and needs an initial access token there', async () => {
    const app = {
      redirect_uris: ['https://app.example.com/callback'],
      token_endpoint_auth_method: 'client_secret_post',
      application_type: 'web',
    };
    const anonymous = await register('production', app);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect((await register('production', app, 'ghiat_wrong')).status).toBe(401);
    const { token } = await createInitialAccessToken(t.ctx, 'production', 60_000);
    // A token of one environment is worth nothing in another.
    expect((await register('staging', app, token)).status).toBe(401);
    const wildcard = await register(
      'production',
      { ...app, redirect_uris: ['https://*.example.com/callback'] },
      token,
    );
    expect(wildcard.body.error).toBe('invalid_redirect_uri');
    expect((await register('production', app, token)).status).toBe(201);
  });

  it('answers 403 where registration is off', async () => {
    await t.ctx.stores.environments.update('staging', { registration: 'off' });
    const answer = await register('staging', nativeApp);
    expect(answer.status).toBe(403);
    const metadata = (await (
      await fetch(`${t.issuer('staging')}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata.registration_endpoint).toBeUndefined();
  });

  it('lets the client read, update and delete itself with its registration access token (RFC 7592)', async () => {
    const created = await register('development', nativeApp);
    const uri = created.body.registration_client_uri as string;
    const token = created.body.registration_access_token as string;
    const clientId = created.body.client_id as string;

    expect((await call('GET', uri, undefined, token)).body.client_id).toBe(clientId);
    expect((await call('GET', uri, undefined, 'ghrat_wrong')).status).toBe(401);
    expect((await call('GET', uri)).status).toBe(401);
    // Another client's token does not open this one.
    const other = await register('development', nativeApp);
    expect(
      (await call('GET', uri, undefined, other.body.registration_access_token as string)).status,
    ).toBe(401);

    const updated = await call(
      'PUT',
      uri,
      { ...nativeApp, client_id: clientId, redirect_uris: ['http://127.0.0.1/other'] },
      token,
    );
    expect(updated.status).toBe(200);
    expect(updated.body.redirect_uris).toEqual(['http://127.0.0.1/other']);
    const refused = await call(
      'PUT',
      uri,
      { ...nativeApp, client_id: clientId, redirect_uris: ['http://evil.example.com/cb'] },
      token,
    );
    expect(refused.body.error).toBe('invalid_redirect_uri');
    expect((await t.ctx.stores.clients.get('development', clientId))?.redirectUris).toEqual([
      'http://127.0.0.1/other',
    ]);

    expect((await call('DELETE', uri, undefined, token)).status).toBe(204);
    expect((await call('GET', uri, undefined, token)).status).toBe(401);
    expect(await t.ctx.stores.clients.get('development', clientId)).toBeUndefined();
  });

  it('limits registrations per address', async () => {
    let last: Answer | undefined;
    for (let i = 0; i < 25; i++) last = await register('development', nativeApp);
    expect(last?.status).toBe(429);
    expect(last?.body.error).toBe('temporarily_unavailable');
  });
});
