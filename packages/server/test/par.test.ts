/**
 * Pushed authorization requests (RFC 9126) over real HTTP, with the attacks they must refuse:
 * a request_uri used twice, used by another client, used after it expired; a redirect URI the
 * policy refuses at push time; parameters added to the front-channel URL; and
 * require_pushed_authorization_requests per client and per environment.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const EMAIL = 'par@example.com';

interface PushReply {
  status: number;
  body: { request_uri?: string; expires_in?: number; error?: string; error_description?: string };
  headers: Headers;
}

describe('pushed authorization requests (RFC 9126)', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let web: { clientId: string; clientSecret?: string };
  let other: { clientId: string; clientSecret?: string };
  let native: { clientId: string };
  /** Added to the server's clock: moves time forward without waiting. */
  let skew = 0;
  const webRedirect = 'https://app.example.com/par/callback';
  const otherRedirect = 'https://other.example.com/par/callback';
  const loopback = 'http://127.0.0.1/callback';

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { clock: () => Date.now() + skew });
    web = await t.client({ type: 'web', name: 'PAR Web', redirectUris: [webRedirect] });
    other = await t.client({ type: 'web', name: 'Other Web', redirectUris: [otherRedirect] });
    native = await t.client({ type: 'native', name: 'PAR CLI', redirectUris: [loopback] });
    await t.user(EMAIL, PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const basic = (client: { clientId: string; clientSecret?: string }) =>
    `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret ?? ''}`).toString('base64')}`;

  async function push(
    form: Record<string, string>,
    authorization?: string,
    environment = 'development',
  ): Promise<PushReply> {
    const response = await fetch(`${t.issuer(environment)}/par`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: new URLSearchParams(form),
    });
    return {
      status: response.status,
      body: (await response.json()) as PushReply['body'],
      headers: response.headers,
    };
  }

  function webRequest(challenge: string, extra: Record<string, string> = {}) {
    return {
      response_type: 'code',
      redirect_uri: webRedirect,
      scope: 'openid email',
      state: 'pushed-state',
      nonce: 'pushed-nonce',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    };
  }

  async function redeem(code: string, verifier: string, redirectUri = webRedirect) {
    const response = await fetch(`${t.issuer('development')}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(web) },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: redirectUri,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('advertises the endpoint; the environment does not require it by default', async () => {
    const metadata = (await (
      await fetch(`${t.issuer('development')}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata.pushed_authorization_request_endpoint).toBe(`${t.issuer('development')}/par`);
    expect(metadata.require_pushed_authorization_requests).toBe(false);
  });

  it('a confidential client pushes, the browser brings only client_id and request_uri, the code is redeemed', async () => {
    const { verifier, challenge } = pkce();
    const pushed = await push(webRequest(challenge), basic(web));
    expect(pushed.status).toBe(201);
    expect(pushed.headers.get('cache-control')).toBe('no-store');
    expect(pushed.body.expires_in).toBe(90);
    expect(pushed.body.request_uri).toMatch(
      /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{40,}$/,
    );

    const browser = new FormBrowser(t.url);
    const location = new URL(
      await browser.authorize(
        { client_id: web.clientId, request_uri: pushed.body.request_uri ?? '' },
        EMAIL,
        PASSWORD,
      ),
    );
    expect(`${location.origin}${location.pathname}`).toBe(webRedirect);
    expect(location.searchParams.get('state')).toBe('pushed-state');
    const redeemed = await redeem(location.searchParams.get('code') ?? '', verifier);
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.id_token).toBeTruthy();
  });

  it('a request_uri is used once: the second use is a page, never a redirect', async () => {
    const { challenge } = pkce();
    const pushed = await push(webRequest(challenge), basic(web));
    const query = new URLSearchParams({
      client_id: web.clientId,
      request_uri: pushed.body.request_uri ?? '',
    });
    const first = await new FormBrowser(t.url).get(`/e/development/authorize?${query.toString()}`);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toMatch(/\/e\/development\/login/);
    const again = await new FormBrowser(t.url).get(`/e/development/authorize?${query.toString()}`);
    expect(again.status).toBe(400);
    expect(again.headers.get('location')).toBeNull();
    expect(await again.text()).toContain('expired or was already used');
  });

  it("another client cannot use a client's request_uri, and its attempt does not burn it", async () => {
    const { challenge } = pkce();
    const pushed = await push(webRequest(challenge), basic(web));
    const stolen = new URLSearchParams({
      client_id: other.clientId,
      request_uri: pushed.body.request_uri ?? '',
    });
    const attempt = await new FormBrowser(t.url).get(
      `/e/development/authorize?${stolen.toString()}`,
    );
    expect(attempt.status).toBe(400);
    expect(attempt.headers.get('location')).toBeNull();
    // The rightful client's request still works.
    const rightful = new URLSearchParams({
      client_id: web.clientId,
      request_uri: pushed.body.request_uri ?? '',
    });
    const own = await new FormBrowser(t.url).get(`/e/development/authorize?${rightful.toString()}`);
    expect(own.status).toBe(303);
    expect(own.headers.get('location')).toMatch(/\/e\/development\/login/);
  });

  it('a request_uri past its lifetime is refused', async () => {
    const { challenge } = pkce();
    const pushed = await push(webRequest(challenge), basic(web));
    skew += 91_000;
    try {
      const query = new URLSearchParams({
        client_id: web.clientId,
        request_uri: pushed.body.request_uri ?? '',
      });
      const late = await new FormBrowser(t.url).get(`/e/development/authorize?${query.toString()}`);
      expect(late.status).toBe(400);
      expect(late.headers.get('location')).toBeNull();
    } finally {
      skew -= 91_000;
    }
  });

  it("an unknown request_uri of the server's form is a page", async () => {
    const query = new URLSearchParams({
      client_id: web.clientId,
      request_uri: 'urn:ietf:params:oauth:request_uri:guessed-value-guessed-value-guessed-value',
    });
    const guessed = await new FormBrowser(t.url).get(
      `/e/development/authorize?${query.toString()}`,
    );
    expect(guessed.status).toBe(400);
    expect(guessed.headers.get('location')).toBeNull();
  });

  it('parameters added to the front-channel URL are ignored: the pushed ones are the request', async () => {
    const { verifier, challenge } = pkce();
    const pushed = await push(webRequest(challenge), basic(web));
    const browser = new FormBrowser(t.url);
    const location = new URL(
      await browser.authorize(
        {
          client_id: web.clientId,
          request_uri: pushed.body.request_uri ?? '',
          // An attacker editing the link: another registered-looking URI, state and scope.
          redirect_uri: 'https://evil.example.com/cb',
          state: 'tampered',
          scope: 'openid offline_access',
        },
        EMAIL,
        PASSWORD,
      ),
    );
    expect(`${location.origin}${location.pathname}`).toBe(webRedirect);
    expect(location.searchParams.get('state')).toBe('pushed-state');
    const redeemed = await redeem(location.searchParams.get('code') ?? '', verifier);
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.scope).toBe('openid email');
    expect(redeemed.body.refresh_token).toBeUndefined();
  });

  it('a redirect URI the policy refuses is refused at push time, explained and recorded', async () => {
    const { challenge } = pkce();
    const evil = 'https://app.example.com/par/callback/../evil';
    const refused = await push(webRequest(challenge, { redirect_uri: evil }), basic(web));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
    expect(refused.body.error_description).toMatch(/^redirect_uri refused: /);
    expect(refused.body.request_uri).toBeUndefined();
    const recorded = await t.server.stores.refusedRedirects.list('development', web.clientId);
    expect(recorded.map((r) => r.redirectUri)).toContain(evil);
  });

  it('outside development a refused push names no registration, as /authorize does: anyone with a public client_id probes near misses', async () => {
    const registered = 'http://127.0.0.1/cli/callback';
    const { challenge } = pkce();
    const probes = [
      'http://127.0.0.1:5000/cli/callback/', // trailing slash
      'http://127.0.0.1:5000/CLI/callback', // letter case
      'http://localhost:5000/cli/callback', // loopback host
      'http://127.0.0.1:5000/cli/callbacks', // path
      'https://127.0.0.1/cli/callback', // scheme
    ];
    const attempt = (clientId: string, environment: string, redirectUri: string) =>
      push(
        {
          client_id: clientId,
          response_type: 'code',
          redirect_uri: redirectUri,
          scope: 'openid',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        undefined,
        environment,
      );
    for (const environment of ['production', 'staging']) {
      const cli = await t.client({
        environment,
        type: 'native',
        name: `Near-miss CLI ${environment}`,
        redirectUris: [registered],
      });
      const answers = new Set<string>();
      for (const probe of probes) {
        const refused = await attempt(cli.clientId, environment, probe);
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe('invalid_request');
        const description = refused.body.error_description ?? '';
        expect(description).toMatch(/^redirect_uri refused: /);
        expect(description).not.toContain('/cli/callback');
        expect(description).not.toMatch(/closest|trailing|letter case|port|loopback host 127/);
        answers.add(description);
      }
      // One sentence for every near miss: not even the kind of difference is told.
      expect(answers.size).toBe(1);
      // The operator still sees each one, with the explanation, in the refused redirects.
      const recorded = await t.server.stores.refusedRedirects.list(environment, cli.clientId);
      expect(recorded.map((r) => r.redirectUri).sort()).toEqual([...probes].sort());
    }
    // In development the client's developer is told exactly what to fix.
    const dev = await t.client({
      type: 'native',
      name: 'Near-miss CLI',
      redirectUris: [registered],
    });
    const explained = await attempt(dev.clientId, 'development', probes[0] ?? '');
    expect(explained.body.error_description).toContain(`the closest is ${registered}`);
    expect(explained.body.error_description).toContain('trailing slash');
  });

  it('the pushed request is checked as /authorize would: PKCE, response_type, request objects', async () => {
    const { challenge } = pkce();
    const noPkce = await push(
      { response_type: 'code', redirect_uri: webRedirect, scope: 'openid' },
      basic(web),
    );
    expect(noPkce.status).toBe(400);
    expect(noPkce.body.error).toBe('invalid_request');
    expect(noPkce.body.error_description).toContain('code_challenge');
    const token = await push(webRequest(challenge, { response_type: 'token' }), basic(web));
    expect(token.status).toBe(400);
    expect(token.body.error).toBe('unsupported_response_type');
    const requestUri = await push(
      webRequest(challenge, { request_uri: 'urn:ietf:params:oauth:request_uri:x' }),
      basic(web),
    );
    expect(requestUri.status).toBe(400);
    expect(requestUri.body.error).toBe('invalid_request');
    const formPost = await push(webRequest(challenge, { response_mode: 'form_post' }), basic(web));
    expect(formPost.status).toBe(400);
    expect(formPost.body.error).toBe('invalid_request');
  });

  it('the client authenticates as at the token endpoint; a client_id in the body must be its own', async () => {
    const { challenge } = pkce();
    const anonymous = await push({ ...webRequest(challenge), client_id: web.clientId });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toBe('invalid_client');
    const wrong = await push(
      webRequest(challenge),
      basic({ clientId: web.clientId, clientSecret: 'not-the-secret' }),
    );
    expect(wrong.status).toBe(401);
    const mismatch = await push(
      { ...webRequest(challenge), client_id: other.clientId },
      basic(web),
    );
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.request_uri).toBeUndefined();
    const json = await fetch(`${t.issuer('development')}/par`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(web) },
      body: JSON.stringify(webRequest(challenge)),
    });
    expect(json.status).toBe(400);
  });

  it('a pushed request larger than the server stores is 413 (RFC 9126 §2.3), and nothing is stored', async () => {
    const { challenge } = pkce();
    const large = await push(webRequest(challenge, { state: 'x'.repeat(17_000) }), basic(web));
    expect(large.status).toBe(413);
    expect(large.body.error).toBe('invalid_request');
    expect(large.body.request_uri).toBeUndefined();
  });

  it('a public client pushes with its client_id alone', async () => {
    const { challenge } = pkce();
    const pushed = await push({
      client_id: native.clientId,
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:53111/callback',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(pushed.status).toBe(201);
    const query = new URLSearchParams({
      client_id: native.clientId,
      request_uri: pushed.body.request_uri ?? '',
    });
    const start = await new FormBrowser(t.url).get(`/e/development/authorize?${query.toString()}`);
    expect(start.status).toBe(303);
    expect(start.headers.get('location')).toMatch(/\/e\/development\/login/);
  });

  it('a client that requires PAR is refused without it, back at its redirect URI, and served with it', async () => {
    const strict = await t.client({
      type: 'web',
      name: 'PAR Required',
      redirectUris: ['https://strict.example.com/cb'],
    });
    await t.server.stores.clients.update(
      'development',
      strict.clientId,
      { requirePar: true },
      Date.now(),
    );
    const { challenge } = pkce();
    const front = new URLSearchParams({
      client_id: strict.clientId,
      response_type: 'code',
      redirect_uri: 'https://strict.example.com/cb',
      scope: 'openid',
      state: 's1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const refused = await new FormBrowser(t.url).get(
      `/e/development/authorize?${front.toString()}`,
    );
    expect(refused.status).toBe(303);
    const location = new URL(refused.headers.get('location') ?? '');
    expect(location.origin).toBe('https://strict.example.com');
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toContain('pushed authorization');
    expect(location.searchParams.get('state')).toBe('s1');

    const pushed = await push(
      {
        response_type: 'code',
        redirect_uri: 'https://strict.example.com/cb',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      basic(strict),
    );
    expect(pushed.status).toBe(201);
    const query = new URLSearchParams({
      client_id: strict.clientId,
      request_uri: pushed.body.request_uri ?? '',
    });
    const served = await new FormBrowser(t.url).get(`/e/development/authorize?${query.toString()}`);
    expect(served.status).toBe(303);
    expect(served.headers.get('location')).toMatch(/\/e\/development\/login/);
  });

  it('an environment that requires PAR refuses every front-channel request and says so in discovery', async () => {
    const staging = await t.client({
      environment: 'staging',
      type: 'web',
      name: 'Staging Web',
      redirectUris: ['https://staging.example.com/cb'],
    });
    await t.server.stores.environments.update('staging', { requirePar: true });
    try {
      const metadata = (await (
        await fetch(`${t.issuer('staging')}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      expect(metadata.require_pushed_authorization_requests).toBe(true);
      const { challenge } = pkce();
      const request = {
        response_type: 'code',
        redirect_uri: 'https://staging.example.com/cb',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const front = new URLSearchParams({ client_id: staging.clientId, ...request });
      const refused = await new FormBrowser(t.url).get(`/e/staging/authorize?${front.toString()}`);
      expect(refused.status).toBe(303);
      expect(new URL(refused.headers.get('location') ?? '').searchParams.get('error')).toBe(
        'invalid_request',
      );
      const pushed = await push(request, basic(staging), 'staging');
      expect(pushed.status).toBe(201);
      const query = new URLSearchParams({
        client_id: staging.clientId,
        request_uri: pushed.body.request_uri ?? '',
      });
      const served = await new FormBrowser(t.url).get(`/e/staging/authorize?${query.toString()}`);
      expect(served.status).toBe(303);
      expect(served.headers.get('location')).toMatch(/\/e\/staging\/login/);
    } finally {
      await t.server.stores.environments.update('staging', { requirePar: false });
    }
  });

  it('by default a web client registered in production requires PAR; others do not; an operator may say otherwise', async () => {
    const spec = { type: 'web' as const, redirectUris: ['https://prod.example.com/cb'] };
    const prodWeb = await t.client({ ...spec, environment: 'production', name: 'Prod Web' });
    const prodOptOut = await t.client({
      ...spec,
      environment: 'production',
      name: 'Prod Legacy',
      requirePar: false,
    });
    const stagingWeb = await t.client({ ...spec, environment: 'staging', name: 'Staging Web 2' });
    const prodNative = await t.client({
      environment: 'production',
      type: 'native',
      name: 'Prod CLI',
      redirectUris: [loopback],
    });
    const setting = async (environment: string, clientId: string) =>
      (await t.server.stores.clients.get(environment, clientId))?.requirePar;
    expect(await setting('production', prodWeb.clientId)).toBe(true);
    expect(await setting('production', prodOptOut.clientId)).toBe(false);
    expect(await setting('staging', stagingWeb.clientId)).toBe(false);
    expect(await setting('production', prodNative.clientId)).toBe(false);

    const { challenge } = pkce();
    const front = new URLSearchParams({
      client_id: prodWeb.clientId,
      response_type: 'code',
      redirect_uri: 'https://prod.example.com/cb',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const refused = await new FormBrowser(t.url).get(`/e/production/authorize?${front.toString()}`);
    expect(new URL(refused.headers.get('location') ?? '').searchParams.get('error')).toBe(
      'invalid_request',
    );
  });

  it('a client known only by its metadata document can push its first request', async () => {
    let base = '';
    const documents = createServer((request, response) => {
      const doc = {
        client_id: `${base}${request.url ?? ''}`,
        client_name: 'Pushing Agent',
        redirect_uris: [
          request.url === '/evil.json' ? 'http://evil.example.com/cb' : 'http://127.0.0.1/callback',
        ],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'none',
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    });
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(documents.address() as AddressInfo).port}`;
    await t.server.stores.environments.update('development', { allowLoopbackDocuments: true });
    try {
      const clientId = `${base}/agent.json`;
      const { challenge } = pkce();
      const request = {
        client_id: clientId,
        response_type: 'code',
        redirect_uri: 'http://127.0.0.1:5123/callback',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const pushed = await push(request);
      expect(pushed.status).toBe(201);
      const query = new URLSearchParams({
        client_id: clientId,
        request_uri: pushed.body.request_uri ?? '',
      });
      const start = await new FormBrowser(t.url).get(
        `/e/development/authorize?${query.toString()}`,
      );
      expect(start.status).toBe(303);
      expect(start.headers.get('location')).toMatch(/\/e\/development\/login/);
      // A document the server refuses is no client at all.
      const refused = await push({ ...request, client_id: `${base}/evil.json` });
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('invalid_client');
    } finally {
      await t.server.stores.environments.update('development', { allowLoopbackDocuments: false });
      await new Promise((resolve) => documents.close(resolve));
    }
  });

  it('a pushed request is removed by housekeeping once expired', async () => {
    const { challenge } = pkce();
    await push(webRequest(challenge), basic(web));
    const removed = await t.server.stores.expired.removeExpired(Date.now() + 91_000);
    expect(removed.pushed_authorization_requests ?? 0).toBeGreaterThan(0);
  });
});
