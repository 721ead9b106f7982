/**
 * An adversarial review of pushed authorization requests (RFC 9126) and the legacy no-PKCE
 * exception (OAuth 2.1 §7.5.1), over real HTTP: the attacks par.test.ts and
 * legacy-pkce-exception.test.ts do not already make. Front-channel parameters that try to
 * override a pushed code_challenge, nonce or prompt; another client's credentials behind a public
 * client's id; bodies that are not form-encoded; methods other than POST; and the exception
 * switched on or off between the authorization request and the token request (RFC 9700 §4.8.2:
 * a code keeps the PKCE binding it was issued with); a Client ID Metadata Document that requires
 * PAR (RFC 9126 §6) served a plain front-channel request.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const EMAIL = 'r6@example.com';
const FORM = 'application/x-www-form-urlencoded';

describe('PAR and the no-PKCE exception under attack', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let web: { clientId: string; clientSecret?: string };
  let native: { clientId: string };
  const redirect = 'https://rp.example.com/cb';

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    web = await t.client({ type: 'web', name: 'Reviewed RP', redirectUris: [redirect] });
    native = await t.client({
      type: 'native',
      name: 'Reviewed CLI',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    await t.user(EMAIL, PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const basic = (client: { clientId: string; clientSecret?: string }) =>
    `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret ?? ''}`).toString('base64')}`;

  const setExempt = (exempt: boolean) =>
    t.server.stores.clients.update(
      'development',
      web.clientId,
      { pkceExemptWithNonce: exempt },
      Date.now(),
    );

  async function post(path: string, body: string, headers: Record<string, string>) {
    const response = await fetch(`${t.issuer('development')}${path}`, {
      method: 'POST',
      headers,
      body,
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, string | undefined>,
    };
  }

  const push = (form: Record<string, string>, authorization = basic(web)) =>
    post('/par', new URLSearchParams(form).toString(), { 'content-type': FORM, authorization });

  const redeem = (form: Record<string, string>) =>
    post(
      '/token',
      new URLSearchParams({
        grant_type: 'authorization_code',
        redirect_uri: redirect,
        ...form,
      }).toString(),
      { 'content-type': FORM, authorization: basic(web) },
    );

  const authorize = async (query: Record<string, string>) =>
    new URL(await new FormBrowser(t.url).authorize(query, EMAIL, PASSWORD));

  const request = (challenge: string, extra: Record<string, string> = {}) => ({
    response_type: 'code',
    redirect_uri: redirect,
    scope: 'openid',
    nonce: 'pushed-nonce',
    state: 'pushed-state',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });

  it('front-channel code_challenge, nonce, prompt and request cannot override a pushed request', async () => {
    const pushedPkce = pkce();
    const attacker = pkce();
    const pushed = await push(request(pushedPkce.challenge));
    expect(pushed.status).toBe(201);
    const back = await authorize({
      client_id: web.clientId,
      request_uri: pushed.body.request_uri ?? '',
      // An attacker rewriting the link: their own PKCE challenge (so that a code they steal is
      // theirs to redeem), their nonce, prompt=none, a request object, another response mode.
      code_challenge: attacker.challenge,
      code_challenge_method: 'S256',
      nonce: 'attacker-nonce',
      prompt: 'none',
      request: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.',
      response_mode: 'form_post',
    });
    expect(`${back.origin}${back.pathname}`).toBe(redirect);
    const code = back.searchParams.get('code') ?? '';
    expect(code).not.toBe('');
    const stolen = await redeem({ code, code_verifier: attacker.verifier });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    const rightful = await redeem({ code, code_verifier: pushedPkce.verifier });
    expect(rightful.status).toBe(200);
    expect(decodeJwt(rightful.body.id_token ?? '').nonce).toBe('pushed-nonce');
  });

  it("a public client's id with another client's credentials pushes nothing", async () => {
    const { challenge } = pkce();
    const loopback = { redirect_uri: 'http://127.0.0.1:50123/callback' };
    // Basic as the confidential client, the body naming the public one.
    const basicOther = await push({ ...request(challenge, loopback), client_id: native.clientId });
    expect(basicOther.status).toBe(400);
    expect(basicOther.body.request_uri).toBeUndefined();
    // The public client's id with the confidential client's secret in the body.
    const postOther = await push(
      {
        ...request(challenge, loopback),
        client_id: native.clientId,
        client_secret: web.clientSecret ?? '',
      },
      '',
    );
    expect(postOther.status).toBe(401);
    expect(postOther.body.error).toBe('invalid_client');
    expect(postOther.body.request_uri).toBeUndefined();
  });

  it('a push that is not form-encoded is refused, whatever it claims to be', async () => {
    const { challenge } = pkce();
    const form = new URLSearchParams(request(challenge)).toString();
    const auth = { authorization: basic(web) };
    for (const headers of [{}, { 'content-type': 'text/plain' }]) {
      const refused = await post('/par', form, { ...headers, ...auth });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
      expect(refused.body.request_uri).toBeUndefined();
    }
    // JSON under a form content type is read as a form: one meaningless parameter.
    const json = await post('/par', JSON.stringify(request(challenge)), {
      'content-type': FORM,
      ...auth,
    });
    expect(json.status).toBe(400);
    expect(json.body.request_uri).toBeUndefined();
  });

  it('the PAR endpoint answers a method other than POST with 405 (RFC 9126 §2.3)', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const response = await fetch(`${t.issuer('development')}/par`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(((await response.json()) as { error?: string }).error).toBe('invalid_request');
    }
  });

  it('the exception switched off after a code was issued without PKCE: the code is not redeemed, with or without a verifier', async () => {
    await setExempt(true);
    let code: string;
    try {
      const back = await authorize({
        client_id: web.clientId,
        response_type: 'code',
        redirect_uri: redirect,
        scope: 'openid',
        nonce: 'legacy-nonce',
      });
      code = back.searchParams.get('code') ?? '';
      expect(code).not.toBe('');
    } finally {
      await setExempt(false);
    }
    const bare = await redeem({ code });
    expect(bare.status).toBe(400);
    expect(bare.body.error).toBe('invalid_request');
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is the downgrade.
    const downgraded = await redeem({ code, code_verifier: pkce().verifier });
    expect(downgraded.status).toBe(400);
    expect(downgraded.body.error).toBe('invalid_grant');
  });

  it('the exception switched on after a code was issued with PKCE: the code still needs its verifier', async () => {
    const { verifier, challenge } = pkce();
    const back = await authorize({ client_id: web.clientId, ...request(challenge) });
    const code = back.searchParams.get('code') ?? '';
    await setExempt(true);
    try {
      const bare = await redeem({ code });
      expect(bare.status).toBe(400);
      expect(bare.body.error).toBe('invalid_grant');
      // The refusal did not burn it: the rightful redemption still works.
      const rightful = await redeem({ code, code_verifier: verifier });
      expect(rightful.status).toBe(200);
    } finally {
      await setExempt(false);
    }
  });

  it('a pushed request for an exempt client is held to the exception too: no nonce, no code without PKCE', async () => {
    await setExempt(true);
    try {
      const noNonce = await push({
        response_type: 'code',
        redirect_uri: redirect,
        scope: 'openid',
      });
      expect(noNonce.status).toBe(400);
      expect(noNonce.body.error_description).toContain('code_challenge');
      const noOpenid = await push({
        response_type: 'code',
        redirect_uri: redirect,
        scope: 'email',
        nonce: 'n',
      });
      expect(noOpenid.status).toBe(400);
      expect(noOpenid.body.request_uri).toBeUndefined();
    } finally {
      await setExempt(false);
    }
  });
  it('a metadata-document client that requires PAR (RFC 9126 §6) is refused a front-channel request', async () => {
    let base = '';
    const documents = createServer((request, response) => {
      const doc = {
        client_id: `${base}${request.url ?? ''}`,
        client_name: 'Strict Agent',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'none',
        require_pushed_authorization_requests: request.url === '/odd.json' ? 'yes' : true,
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    });
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(documents.address() as AddressInfo).port}`;
    await t.server.stores.environments.update('development', { allowLoopbackDocuments: true });
    try {
      const clientId = `${base}/strict.json`;
      const { challenge } = pkce();
      const request = {
        client_id: clientId,
        response_type: 'code',
        redirect_uri: 'http://127.0.0.1:5124/callback',
        scope: 'openid',
        state: 'front',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      // An attacker's link for the client, never pushed: back to the client with an error.
      const front = await new FormBrowser(t.url).get(
        `/e/development/authorize?${new URLSearchParams(request).toString()}`,
      );
      expect(front.status).toBe(303);
      const location = new URL(front.headers.get('location') ?? '', t.url);
      expect(`${location.origin}${location.pathname}`).toBe('http://127.0.0.1:5124/callback');
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('code')).toBeNull();
      // Pushed, it is served.
      const pushed = await push(request, '');
      expect(pushed.status).toBe(201);
      const query = new URLSearchParams({
        client_id: clientId,
        request_uri: pushed.body.request_uri ?? '',
      });
      const served = await new FormBrowser(t.url).get(
        `/e/development/authorize?${query.toString()}`,
      );
      expect(served.status).toBe(303);
      expect(served.headers.get('location')).toMatch(/\/e\/development\/login/);
      // A document that says it in a form RFC 9126 §6 does not define is no client.
      const odd = await push({ ...request, client_id: `${base}/odd.json` }, '');
      expect(odd.status).toBe(401);
      expect(odd.body.error).toBe('invalid_client');
    } finally {
      await t.server.stores.environments.update('development', { allowLoopbackDocuments: false });
      await new Promise((resolve) => documents.close(resolve));
    }
  });
});
