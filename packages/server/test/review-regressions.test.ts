/**
 * Regressions for the findings of an adversarial review of the server: each was reproduced
 * against an earlier version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteClient } from '../src/services/clients.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { withoutRefreshGrace } from './support/refresh-grace.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'review regression pw';
const LOOPBACK = 'http://127.0.0.1/callback';

interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  error?: string;
}

describe.each(DATABASES)('review regressions on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let cli: { clientId: string };
  let other: { clientId: string };

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    cli = await t.client({ type: 'native', name: 'Harmless Notes', redirectUris: [LOOPBACK] });
    other = await t.client({
      type: 'native',
      name: 'Evil Mailer',
      redirectUris: ['http://127.0.0.1/evil'],
    });
    await t.user('frank@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const post = async (
    path: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${t.issuer('development')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === '' ? {} : JSON.parse(text)) as TokenBody & Record<string, unknown>,
    };
  };
  const userinfo = async (token: string | undefined) =>
    (
      await fetch(`${t.issuer('development')}/userinfo`, {
        headers: { authorization: `Bearer ${token ?? ''}` },
      })
    ).status;

  async function tokensFor(
    client: string,
    redirectUri = LOOPBACK,
    scope = 'openid offline_access',
  ) {
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: client,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'frank@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    return { code, verifier };
  }

  it('applies a consent decision only to the request the page showed', async () => {
    const browser = new FormBrowser(t.url);
    const start = (client: string, redirectUri: string, scope: string) =>
      browser.get(
        `/e/development/authorize?${new URLSearchParams({ client_id: client, redirect_uri: redirectUri, response_type: 'code', scope, code_challenge: pkce().challenge, code_challenge_method: 'S256' }).toString()}`,
      );
    const { last } = await browser.follow(await start(cli.clientId, LOOPBACK, 'openid'));
    const loginFields = FormBrowser.fields(await last.text());
    const { last: consent } = await browser.follow(
      await browser.post('/e/development/login', {
        ...loginFields,
        email: 'frank@example.com',
        password: PASSWORD,
      }),
    );
    const harmlessPage = await consent.text();
    expect(harmlessPage).toContain('Harmless Notes');
    // Meanwhile a hostile page starts another authorization in this browser.
    await start(other.clientId, 'http://127.0.0.1/evil', 'openid email offline_access');
    const decision = await browser.post('/e/development/consent', {
      ...FormBrowser.fields(harmlessPage),
      decision: 'allow',
    });
    expect(decision.status).toBe(400);
    expect(decision.headers.get('location')).toBeNull();
    expect(await decision.text()).toContain('Another sign-in was started in this browser');
  });

  it('kills the tokens of the winner when a refresh token is used twice at once', async () => {
    // With the grace window off: within it, two uses at once by the same client each get a
    // successor (refresh-grace.test.ts); without it, the second use ends the grant.
    await withoutRefreshGrace(t.ctx, async () => {
      const { code, verifier } = await tokensFor(cli.clientId);
      const first = await post('/token', {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: LOOPBACK,
        client_id: cli.clientId,
      });
      const race = await Promise.all(
        [0, 1].map(() =>
          post('/token', {
            grant_type: 'refresh_token',
            refresh_token: first.body.refresh_token ?? '',
            client_id: cli.clientId,
          }),
        ),
      );
      const winner = race.find((r) => r.status === 200);
      expect(race.filter((r) => r.status === 400)).toHaveLength(1);
      expect(winner).toBeDefined();
      expect(
        (
          await post('/token', {
            grant_type: 'refresh_token',
            refresh_token: winner?.body.refresh_token ?? '',
            client_id: cli.clientId,
          })
        ).body.error,
      ).toBe('invalid_grant');
      expect(await userinfo(winner?.body.access_token)).toBe(401);
    });
  });

  it('kills the tokens of the winner when a code is redeemed twice at once', async () => {
    const { code, verifier } = await tokensFor(cli.clientId);
    const race = await Promise.all(
      [0, 1, 2].map(() =>
        post('/token', {
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: LOOPBACK,
          client_id: cli.clientId,
        }),
      ),
    );
    const winner = race.find((r) => r.status === 200);
    expect(winner).toBeDefined();
    expect(await userinfo(winner?.body.access_token)).toBe(401);
    expect(
      (
        await post('/token', {
          grant_type: 'refresh_token',
          refresh_token: winner?.body.refresh_token ?? '',
          client_id: cli.clientId,
        })
      ).body.error,
    ).toBe('invalid_grant');
  });

  it('does not spend a refresh token on a request with a wider scope', async () => {
    const { code, verifier } = await tokensFor(cli.clientId);
    const first = await post('/token', {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: LOOPBACK,
      client_id: cli.clientId,
    });
    const wider = await post('/token', {
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token ?? '',
      client_id: cli.clientId,
      scope: 'openid email',
    });
    expect(wider.body.error).toBe('invalid_scope');
    const retry = await post('/token', {
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token ?? '',
      client_id: cli.clientId,
    });
    expect(retry.status).toBe(200);
  });

  it('does not let another client burn a code, nor revoke its tokens by replaying it', async () => {
    const { code, verifier } = await tokensFor(cli.clientId);
    const stolen = await post('/token', {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: LOOPBACK,
      client_id: other.clientId,
    });
    expect(stolen.body.error).toBe('invalid_grant');
    const rightful = await post('/token', {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: LOOPBACK,
      client_id: cli.clientId,
    });
    expect(rightful.status).toBe(200);
    await post('/token', {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: LOOPBACK,
      client_id: other.clientId,
    });
    expect(await userinfo(rightful.body.access_token)).toBe(200);
  });

  it('answers NUL bytes with 4xx, never 500', async () => {
    const statuses = await Promise.all([
      fetch(`${t.issuer('development')}/authorize?client_id=abc%00def&redirect_uri=x`).then(
        (r) => r.status,
      ),
      post('/token', { grant_type: 'client_credentials', client_id: 'a\0b' }).then((r) => r.status),
      post(
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: `Basic ${Buffer.from('a\0b:c').toString('base64')}` },
      ).then((r) => r.status),
      fetch(`${t.url}/e/%00/token`, { method: 'POST' }).then((r) => r.status),
      post('/revoke', {
        token: `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ jti: 'a\0' })).toString('base64url')}.`,
        client_id: cli.clientId,
      }).then((r) => r.status),
    ]);
    // Revoking an unknown token is a 200 (RFC 7009 §2.2); everything else is refused as malformed.
    expect(statuses.slice(0, 4).every((s) => s >= 400 && s < 500)).toBe(true);
    expect(statuses[4]).toBe(200);
  });
});

describe.each(DATABASES.slice(0, 1))('further review regressions on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    await t.user('gina@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it("tells a client only about its own tokens, and refuses to revoke another client's", async () => {
    const owner = await t.client({
      type: 'web',
      name: 'Owner',
      redirectUris: ['https://owner.example.com/cb'],
    });
    const nosy = await t.client({
      type: 'web',
      name: 'Nosy',
      redirectUris: [],
      grantTypes: ['client_credentials'],
    });
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: owner.clientId,
        redirect_uri: 'https://owner.example.com/cb',
        response_type: 'code',
        scope: 'openid offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'gina@example.com',
      PASSWORD,
    );
    const form = (values: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(values),
    });
    const tokens = (await (
      await fetch(
        `${t.issuer('development')}/token`,
        form({
          grant_type: 'authorization_code',
          code: new URL(location).searchParams.get('code') ?? '',
          code_verifier: verifier,
          redirect_uri: 'https://owner.example.com/cb',
          client_id: owner.clientId,
          client_secret: owner.clientSecret ?? '',
        }),
      )
    ).json()) as { refresh_token: string; access_token: string };
    const introspected = await (
      await fetch(
        `${t.issuer('development')}/introspect`,
        form({
          token: tokens.refresh_token,
          client_id: nosy.clientId,
          client_secret: nosy.clientSecret ?? '',
        }),
      )
    ).json();
    expect(introspected).toEqual({ active: false });
    const revoke = await fetch(
      `${t.issuer('development')}/revoke`,
      form({
        token: tokens.refresh_token,
        client_id: nosy.clientId,
        client_secret: nosy.clientSecret ?? '',
      }),
    );
    expect(revoke.status).toBe(400);
    expect(
      await (
        await fetch(
          `${t.issuer('development')}/introspect`,
          form({
            token: tokens.refresh_token,
            client_id: owner.clientId,
            client_secret: owner.clientSecret ?? '',
          }),
        )
      ).json(),
    ).toMatchObject({ active: true });

    await deleteClient(t.ctx, 'development', owner.clientId);
    const after = await fetch(`${t.issuer('development')}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(after.status).toBe(401);
  });

  it('refuses at userinfo an access token meant for another audience', async () => {
    const client = await t.client({ type: 'native', name: 'API CLI', redirectUris: [LOOPBACK] });
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: client.clientId,
        redirect_uri: LOOPBACK,
        response_type: 'code',
        scope: 'openid',
        resource: 'https://api.other.example/',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'gina@example.com',
      PASSWORD,
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      code_verifier: verifier,
      redirect_uri: LOOPBACK,
      client_id: client.clientId,
    });
    expect(
      (
        await fetch(`${t.issuer('development')}/userinfo`, {
          headers: { authorization: `Bearer ${tokens.access_token}` },
        })
      ).status,
    ).toBe(401);
  });

  it('completes a sign-in with max_age=0 instead of asking again forever', async () => {
    const client = await t.client({ type: 'native', name: 'Max age', redirectUris: [LOOPBACK] });
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: client.clientId,
        redirect_uri: LOOPBACK,
        response_type: 'code',
        max_age: '0',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      },
      'gina@example.com',
      PASSWORD,
    );
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1\/callback\?code=/);
  });

  it('accepts the authorization request by form POST, and asks for a missing response_type', async () => {
    const client = await t.client({ type: 'native', name: 'Post', redirectUris: [LOOPBACK] });
    const browser = new FormBrowser(t.url);
    const posted = await browser.post('/e/development/authorize', {
      client_id: client.clientId,
      redirect_uri: LOOPBACK,
      response_type: 'code',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    expect(posted.headers.get('location')).toBe('/e/development/login');
    const missing = await browser.get(
      `/e/development/authorize?${new URLSearchParams({ client_id: client.clientId, redirect_uri: LOOPBACK }).toString()}`,
    );
    expect(new URL(missing.headers.get('location') ?? '').searchParams.get('error')).toBe(
      'invalid_request',
    );
  });
});
