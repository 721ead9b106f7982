/**
 * OpenID Connect Back-Channel Logout 1.0: a sign-out at Gatehouse POSTs a logout token to every
 * client the session signed in to that registered a backchannel_logout_uri. Delivered to a real
 * HTTP server on loopback and verified there with jose as a receiver would (§2.6); retried after
 * a failure with the same jti, given up after the last retry; audited; never sent to an address
 * the SSRF guard refuses; each attempt taken by one worker only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GuardedPoster } from '../src/net/guarded-post.js';
import { setUserDisabled } from '../src/services/users.js';
import { LogoutDeliveryWorker } from '../src/services/logout-deliveries.js';
import { Signer } from '../src/tokens/signer.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** A relying party's back-channel endpoint: records what it is sent, fails when told to. */
class Receiver {
  readonly received: { path: string; contentType: string; body: URLSearchParams }[] = [];
  failures = 0;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        this.received.push({
          path: request.url ?? '',
          contentType: request.headers['content-type'] ?? '',
          body: new URLSearchParams(body),
        });
        if (this.failures > 0) {
          this.failures--;
          response.writeHead(503).end('down for a deploy');
          return;
        }
        // §2.8: 200 on success, Cache-Control: no-store.
        response.writeHead(200, { 'cache-control': 'no-store' }).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  uri(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  tokens(path: string): string[] {
    return this.received
      .filter((r) => r.path === path)
      .map((r) => r.body.get('logout_token') ?? '');
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.server === undefined) resolve();
      else
        this.server.close(() => {
          resolve();
        });
    });
  }
}

describe('Back-Channel Logout 1.0', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  const receiver = new Receiver();

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, {
      logoutDeliveries: { intervalMs: 50, retryDelaysMs: [100, 100] },
    });
    await receiver.start();
    await t.user('bob@example.com', PASSWORD);
    await t.user('carol@example.com', PASSWORD);
    await t.user('dave@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
    await db.drop();
  });
  beforeEach(() => {
    receiver.failures = 0;
  });

  async function webClient(name: string, backchannel: string | null, alg?: 'ES256') {
    const redirectUri = `https://${name}.example.com/cb`;
    const registered = await t.client({
      type: 'web',
      name,
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code'],
      skipConsent: true,
      ...(backchannel === null ? {} : { backchannelLogoutUri: backchannel }),
      ...(alg === undefined ? {} : { idTokenSignedResponseAlg: alg }),
    });
    return { ...registered, redirectUri };
  }

  async function signInTo(
    browser: FormBrowser,
    client: { clientId: string; clientSecret?: string; redirectUri: string },
    email = 'bob@example.com',
    extra: Record<string, string> = {},
  ): Promise<string> {
    const { verifier, challenge } = pkce();
    const location = await browser.authorize(
      {
        client_id: client.clientId,
        redirect_uri: client.redirectUri,
        response_type: 'code',
        scope: 'openid',
        nonce: 'n',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      },
      email,
      PASSWORD,
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      redirect_uri: client.redirectUri,
      client_id: client.clientId,
      client_secret: client.clientSecret ?? '',
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    return tokens.id_token ?? '';
  }

  /** What a receiver does with a logout token (§2.6), with jose against the published keys. */
  async function verifyLogoutToken(
    token: string,
    clientId: string,
    alg = 'RS256',
  ): Promise<JWTPayload> {
    const issuer = t.issuer('development');
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(`${issuer}/jwks`)),
      { issuer, audience: clientId, typ: 'logout+jwt', maxTokenAge: 120 },
    );
    // §2.4: the client's ID token algorithm (RS256 by default), an event, no nonce, a jti.
    expect(protectedHeader.alg).toBe(alg);
    expect(payload.events).toEqual({ [EVENT]: {} });
    expect(payload).not.toHaveProperty('nonce');
    expect(typeof payload.jti).toBe('string');
    return payload;
  }

  it('a sign-out tells every client of the session that asked to be told, with sub and sid', async () => {
    const told = await webClient('told', receiver.uri('/told'));
    const also = await webClient('also', receiver.uri('/also'));
    const silent = await webClient('silent', null);
    const browser = new FormBrowser(t.url);
    const idToken = await signInTo(browser, told);
    await signInTo(browser, also);
    await signInTo(browser, silent);
    const sid = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString()) as {
      sid?: string;
      sub: string;
    };
    expect(typeof sid.sid).toBe('string');
    // Recorded for the clients that can be told, not for the one without a back-channel URI.
    expect(
      (await t.server.stores.sessionClients.forSession('development', sid.sid ?? ''))
        .map((e) => e.clientId)
        .sort(),
    ).toEqual([told.clientId, also.clientId].sort());

    const out = await browser.get(
      `/e/development/logout?${new URLSearchParams({ id_token_hint: idToken }).toString()}`,
    );
    expect(out.status).toBe(200);
    await expect.poll(() => receiver.tokens('/told').length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => receiver.tokens('/also').length, { timeout: 10_000 }).toBe(1);
    const delivered = receiver.received.find((r) => r.path === '/told');
    expect(delivered?.contentType).toBe('application/x-www-form-urlencoded');
    const payload = await verifyLogoutToken(receiver.tokens('/told')[0] ?? '', told.clientId);
    expect(payload.sub).toBe(sid.sub);
    expect(payload.sid).toBe(sid.sid);
    await verifyLogoutToken(receiver.tokens('/also')[0] ?? '', also.clientId);

    const ended = await t.server.stores.audit.tail({
      environment: 'development',
      type: 'session.ended',
    });
    expect((ended.at(-1)?.data.backchannel as string[]).sort()).toEqual(
      [told.clientId, also.clientId].sort(),
    );
    await expect
      .poll(
        async () =>
          (
            await t.server.stores.audit.tail({
              environment: 'development',
              type: 'logout.backchannel_delivered',
            })
          ).length,
      )
      .toBe(2);
    // Told once: the session's clients are taken when it ends.
    expect(await t.server.stores.sessionClients.forSession('development', sid.sid ?? '')).toEqual(
      [],
    );
  });

  it('retried after a failure, with the same jti; audited', async () => {
    const flaky = await webClient('flaky', receiver.uri('/flaky'));
    const browser = new FormBrowser(t.url);
    const idToken = await signInTo(browser, flaky);
    receiver.failures = 1;
    await browser.get(`/e/development/logout?id_token_hint=${idToken}`);
    await expect.poll(() => receiver.tokens('/flaky').length, { timeout: 10_000 }).toBe(2);
    const [first = '', second = ''] = receiver.tokens('/flaky');
    const one = await verifyLogoutToken(first, flaky.clientId);
    const two = await verifyLogoutToken(second, flaky.clientId);
    expect(two.jti).toBe(one.jti);
    const [delivery] = await t.server.stores.logoutDeliveries
      .list('development', 100)
      .then((all) => all.filter((d) => d.clientId === flaky.clientId));
    await expect
      .poll(async () => (await t.server.stores.logoutDeliveries.get(delivery?.id ?? ''))?.status)
      .toBe('delivered');
    const failed = await t.server.stores.audit.tail({
      environment: 'development',
      type: 'logout.backchannel_failed',
      clientId: flaky.clientId,
    });
    expect(failed).toHaveLength(1);
    expect(failed[0]?.data).toMatchObject({ attempt: 1, error: 'answered 503' });
  });

  it('given up after the last retry, and audited as abandoned', async () => {
    const down = await webClient('down', receiver.uri('/down'));
    const browser = new FormBrowser(t.url);
    const idToken = await signInTo(browser, down);
    receiver.failures = 1000;
    await browser.get(`/e/development/logout?id_token_hint=${idToken}`);
    const abandoned = () =>
      t.server.stores.audit.tail({
        environment: 'development',
        type: 'logout.backchannel_abandoned',
        clientId: down.clientId,
      });
    await expect.poll(async () => (await abandoned()).length, { timeout: 10_000 }).toBe(1);
    // Three attempts: the first and one per retry delay.
    expect(receiver.tokens('/down')).toHaveLength(3);
    const [delivery] = (await t.server.stores.logoutDeliveries.list('development', 100)).filter(
      (d) => d.clientId === down.clientId,
    );
    expect(delivery).toMatchObject({ status: 'failed', attempts: 3, lastError: 'answered 503' });
    receiver.failures = 0;
  });

  it('signed like the client’s ID tokens: ES256 for a client that registered it', async () => {
    const client = await webClient('es256', receiver.uri('/es256'), 'ES256');
    const browser = new FormBrowser(t.url);
    const idToken = await signInTo(browser, client);
    expect(decodeProtectedHeader(idToken).alg).toBe('ES256');
    await browser.get(`/e/development/logout?id_token_hint=${idToken}`);
    await expect.poll(() => receiver.tokens('/es256').length, { timeout: 10_000 }).toBe(1);
    await verifyLogoutToken(receiver.tokens('/es256')[0] ?? '', client.clientId, 'ES256');
  });

  const claimsOf = (idToken: string) =>
    JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString()) as {
      sub: string;
      sid?: string;
    };

  it('a user disabled by an operator: the clients of their sessions are told', async () => {
    const client = await webClient('disabled', receiver.uri('/disabled'));
    const idToken = await signInTo(new FormBrowser(t.url), client, 'carol@example.com');
    await setUserDisabled(t.ctx, 'development', 'carol@example.com', true);
    await expect.poll(() => receiver.tokens('/disabled').length, { timeout: 10_000 }).toBe(1);
    const payload = await verifyLogoutToken(receiver.tokens('/disabled')[0] ?? '', client.clientId);
    expect(payload.sub).toBe(claimsOf(idToken).sub);
    expect(payload.sid).toBe(claimsOf(idToken).sid);
  });

  it('another user signing in in the same browser ends the first one’s session; the same user again keeps it', async () => {
    const client = await webClient('shared', receiver.uri('/shared'));
    const browser = new FormBrowser(t.url);
    const first = claimsOf(await signInTo(browser, client, 'dave@example.com'));
    // prompt=login: Dave signs in again; to the clients it is the same session (same sid).
    const again = claimsOf(
      await signInTo(browser, client, 'dave@example.com', { prompt: 'login' }),
    );
    expect(again.sid).toBe(first.sid);
    // Bob signs in in Dave's browser: Dave's session ends, and its client is told.
    const bob = claimsOf(await signInTo(browser, client, 'bob@example.com', { prompt: 'login' }));
    expect(bob.sid).not.toBe(first.sid);
    await expect.poll(() => receiver.tokens('/shared').length, { timeout: 10_000 }).toBe(1);
    const payload = await verifyLogoutToken(receiver.tokens('/shared')[0] ?? '', client.clientId);
    expect(payload).toMatchObject({ sub: first.sub, sid: first.sid });
    const ended = await t.server.stores.audit.tail({
      environment: 'development',
      type: 'session.ended',
    });
    expect(ended.at(-1)).toMatchObject({ userId: first.sub, data: { reason: 'replaced' } });
  });

  it('attack: a back-channel URI on an internal address is never contacted outside development', async () => {
    // Registration refuses these (services/clients.ts); the delivery refuses them again, for a
    // client stored before the rule or by any other route.
    const targets = [
      receiver.uri('/internal').replace('http:', 'https:'),
      'https://169.254.169.254/latest/meta-data/',
      receiver.uri('/plain-http'),
    ];
    const clientIds: string[] = [];
    for (const [i, uri] of targets.entries()) {
      const registered = await t.client({
        environment: 'production',
        type: 'web',
        name: `internal ${i}`,
        redirectUris: ['https://internal.example.com/cb'],
        grantTypes: ['authorization_code'],
      });
      await t.server.stores.clients.update(
        'production',
        registered.clientId,
        { backchannelLogoutUri: uri },
        Date.now(),
      );
      clientIds.push(registered.clientId);
    }
    const before = receiver.received.length;
    await t.server.stores.logoutDeliveries.enqueue(
      clientIds.map((clientId, i) => ({
        id: `ssrf-${i}`,
        environment: 'production',
        clientId,
        uri: targets[i] ?? '',
        sub: 'user-1',
        sid: 'sid-1',
      })),
      Date.now(),
    );
    for (const i of clientIds.keys())
      await expect
        .poll(async () => (await t.server.stores.logoutDeliveries.get(`ssrf-${i}`))?.status, {
          timeout: 10_000,
        })
        .toBe('failed');
    // Given up at the first attempt: asking again would be refused again.
    for (const i of clientIds.keys())
      expect(await t.server.stores.logoutDeliveries.get(`ssrf-${i}`)).toMatchObject({
        attempts: 1,
      });
    expect((await t.server.stores.logoutDeliveries.get('ssrf-0'))?.lastError).toMatch(
      /this machine/,
    );
    expect((await t.server.stores.logoutDeliveries.get('ssrf-1'))?.lastError).toMatch(
      /internal address/,
    );
    expect((await t.server.stores.logoutDeliveries.get('ssrf-2'))?.lastError).toMatch(/https/);
    expect(receiver.received.length).toBe(before);
  });

  it('two workers on one database: each attempt is claimed by one of them', async () => {
    const once = await webClient('once', receiver.uri('/once'));
    const workers = [0, 1, 2].map(
      () =>
        new LogoutDeliveryWorker({
          stores: t.server.stores,
          clock: Date.now,
          signer: new Signer(t.server.stores.keys, Date.now),
          poster: new GuardedPoster(),
          issuerOf: (environment) => t.issuer(environment),
        }),
    );
    await t.server.stores.logoutDeliveries.enqueue(
      [
        {
          id: 'race-1',
          environment: 'development',
          clientId: once.clientId,
          uri: receiver.uri('/once'),
          sub: 'u',
          sid: null,
        },
      ],
      Date.now(),
    );
    await Promise.all(workers.map((w) => w.runOnce()));
    await expect
      .poll(async () => (await t.server.stores.logoutDeliveries.get('race-1'))?.status)
      .toBe('delivered');
    expect(receiver.tokens('/once')).toHaveLength(1);
    // Without a session id the token names the user alone (§2.4: sub and/or sid).
    const payload = await verifyLogoutToken(receiver.tokens('/once')[0] ?? '', once.clientId);
    expect(payload.sub).toBe('u');
    expect(payload).not.toHaveProperty('sid');
    expect(decodeProtectedHeader(receiver.tokens('/once')[0] ?? '').typ).toBe('logout+jwt');
  });
});
