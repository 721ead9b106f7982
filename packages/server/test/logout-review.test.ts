/**
 * Sign-out under attack, from a security review of RP-Initiated Logout 1.0 and Back-Channel
 * Logout 1.0 (issue #16): what a relying party is owed when a session outlives its first
 * lifetime, and what a cross-site page, a forged hint or a hostile receiver can and cannot do.
 * The protocol's own behaviour is tested in end-session.test.ts and backchannel-logout.test.ts.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedPostError, GuardedPoster } from '../src/net/guarded-post.js';
import { setUserDisabled } from '../src/services/users.js';
import { LogoutDeliveryWorker } from '../src/services/logout-deliveries.js';
import type { FetchPolicy } from '../src/net/guarded-request.js';
import { Signer } from '../src/tokens/signer.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const HOUR = 3600_000;

/** A relying party's back-channel endpoint: records the logout tokens it is sent. */
class Receiver {
  readonly tokens: string[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        this.tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
        response.writeHead(200, { 'cache-control': 'no-store' }).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
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

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;

describe('sign-out under attack', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();
  const receiver = new Receiver();

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, {
      clock: () => now,
      logoutDeliveries: { intervalMs: 50, retryDelaysMs: [100] },
    });
    await receiver.start();
    await t.user('erin@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
    await db.drop();
  });

  async function webClient(name: string, backchannel?: string) {
    const redirectUri = `https://${name}.example.com/cb`;
    const registered = await t.client({
      type: 'web',
      name,
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code'],
      skipConsent: true,
      ...(backchannel === undefined ? {} : { backchannelLogoutUri: backchannel }),
    });
    return { ...registered, redirectUri };
  }

  async function signInTo(
    browser: FormBrowser,
    client: { clientId: string; clientSecret?: string; redirectUri: string },
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
      'erin@example.com',
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

  it('a session kept alive by signing in again still tells its first client at sign-out (Back-Channel Logout §2.7)', async () => {
    // Erin signs in to the mail app, which wants to be told of her sign-out.
    const mail = await webClient('mail', `http://127.0.0.1:${receiver.port}/bcl`);
    const docs = await webClient('docs');
    const browser = new FormBrowser(t.url);
    const first = claimsOf(await signInTo(browser, mail));
    const start = now;
    try {
      // Seven hours later the docs app asks her to sign in again (prompt=login): the same
      // session to the clients (same sid), good for another full lifetime from now.
      now = start + 7 * HOUR;
      const hint = await signInTo(browser, docs, { prompt: 'login' });
      expect(claimsOf(hint).sid).toBe(first.sid);
      // Past the first sign-in's lifetime, housekeeping runs; the session itself lives on.
      now = start + 9 * HOUR;
      await t.server.stores.expired.deleteExpired('session_clients', now, 100);
      const out = await browser.get(
        `/e/development/logout?${new URLSearchParams({ id_token_hint: hint }).toString()}`,
      );
      expect(out.status).toBe(200);
      expect(await out.text()).toContain('You are signed out');
      // The mail app still holds Erin's session: it must be told.
      await expect.poll(() => receiver.tokens.length, { timeout: 10_000 }).toBe(1);
      expect(claimsOf(receiver.tokens[0] ?? '')).toMatchObject({
        aud: mail.clientId,
        sid: first.sid,
      });
    } finally {
      now = start;
    }
  });
});

describe('the back-channel poster against hostile receivers (RFC 9700 §4.16: SSRF)', () => {
  const hits: string[] = [];
  let server: Server;
  let base = '';
  const open = new Set<ServerResponse>();

  beforeAll(async () => {
    server = createServer((request, response) => {
      hits.push(request.url ?? '');
      request.resume();
      if (request.url === '/redirect') {
        response.writeHead(307, { location: '/inside' }).end();
        return;
      }
      if (request.url === '/hang') {
        open.add(response);
        return;
      }
      if (request.url === '/trickle') {
        // Headers at once, then a body that never ends.
        open.add(response);
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.write('x');
        return;
      }
      response.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const response of open) response.destroy();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });

  const poster = new GuardedPoster({ timeoutMs: 300 });
  const outcome = async (url: string, allowLoopback: boolean) => {
    try {
      await poster.postForm(new URL(url), { logout_token: 'x' }, { allowLoopback });
      return 'delivered';
    } catch (error) {
      return error instanceof GuardedPostError ? error.code : 'other';
    }
  };

  it('never reaches this machine or an internal network outside development, however written', async () => {
    const port = new URL(base).port;
    for (const url of [
      `https://localhost:${port}/bcl`,
      `https://127.0.0.1:${port}/bcl`,
      `https://[::1]:${port}/bcl`,
      `https://[::ffff:127.0.0.1]:${port}/bcl`,
      `https://[::ffff:7f00:1]:${port}/bcl`,
      `https://0.0.0.0:${port}/bcl`,
      `https://[::]:${port}/bcl`,
      `https://2130706433:${port}/bcl`,
      `https://0x7f.1:${port}/bcl`,
      'https://[::ffff:a9fe:a9fe]/latest/meta-data/',
      'https://[fd00::1]/bcl',
      'https://[fe80::1]/bcl',
      'https://100.64.0.1/bcl',
    ])
      expect(await outcome(url, false), url).toBe('internal_address');
    // Plain http only to loopback, and only where development allows loopback.
    expect(await outcome(`${base}/bcl`, false)).toBe('scheme');
    expect(await outcome('http://rp.example.com/bcl', true)).toBe('scheme');
    expect(hits).toEqual([]);
  });

  it('follows no redirect: a receiver cannot bounce the token elsewhere', async () => {
    expect(await outcome(`${base}/redirect`, true)).toBe('redirect');
    expect(hits).toEqual(['/redirect']);
  });

  it('gives up on a receiver that never answers, or never finishes answering', async () => {
    expect(await outcome(`${base}/hang`, true)).toBe('timeout');
    expect(await outcome(`${base}/trickle`, true)).toBe('timeout');
  });
});

describe('RP-Initiated Logout under attack', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  const REDIRECT = 'https://app.example.com/cb';
  const AFTER = 'https://app.example.com/signed-out';
  let app: { clientId: string; clientSecret?: string; redirectUri: string };
  let spa: { clientId: string };
  let native: { clientId: string };

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    app = {
      ...(await t.client({
        type: 'web',
        name: '<img src=x onerror=alert(1)>',
        redirectUris: [REDIRECT],
        postLogoutRedirectUris: [AFTER],
        grantTypes: ['authorization_code'],
        skipConsent: true,
      })),
      redirectUri: REDIRECT,
    };
    spa = await t.client({
      type: 'spa',
      name: 'SPA',
      redirectUris: ['https://spa.example.com/cb'],
      postLogoutRedirectUris: ['https://spa.example.com/'],
      grantTypes: ['authorization_code'],
    });
    native = await t.client({
      type: 'native',
      name: 'CLI',
      redirectUris: ['http://127.0.0.1/cb'],
      postLogoutRedirectUris: ['http://127.0.0.1/bye'],
      grantTypes: ['authorization_code'],
    });
    await t.user('frank@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function signedIn(browser = new FormBrowser(t.url)) {
    const { verifier, challenge } = pkce();
    const location = await browser.authorize(
      {
        client_id: app.clientId,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid',
        nonce: 'n',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'frank@example.com',
      PASSWORD,
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      redirect_uri: REDIRECT,
      client_id: app.clientId,
      client_secret: app.clientSecret ?? '',
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    return {
      browser,
      idToken: tokens.id_token ?? '',
      accessToken: tokens.access_token,
    };
  }

  const logout = (browser: FormBrowser, params: Record<string, string>, env = 'development') =>
    browser.get(`/e/${env}/logout?${new URLSearchParams(params).toString()}`);

  async function stillSignedIn(browser: FormBrowser): Promise<boolean> {
    const { location } = await browser.follow(
      await browser.get(
        `/e/development/authorize?${new URLSearchParams({
          client_id: app.clientId,
          redirect_uri: REDIRECT,
          response_type: 'code',
          scope: 'openid',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }).toString()}`,
      ),
    );
    return location !== undefined && new URL(location).searchParams.has('code');
  }

  it('open redirect: no spelling of another address passes for the registered one', async () => {
    const { browser, idToken } = await signedIn();
    for (const evil of [
      'https://APP.example.com/signed-out',
      'https://app.example.com./signed-out',
      'https://app.example.com:443/signed-out',
      'https://app.example.com/signed-out#https://evil.example.com',
      'https://app.example.com/signed-out%23x',
      'https://app.example.com/Signed-out',
      'https://app.example.com/x/../signed-out',
      'https://app.example.com/signed-out/..%2F..%2Fevil',
      'https://app.example.com@evil.example.com/signed-out',
      'https://evil.example.com\\@app.example.com/signed-out',
      '//evil.example.com/signed-out',
      'https://*.example.com/signed-out',
      ` ${AFTER}`,
      `${AFTER}\t`,
      // Registered as a redirect URI, not as a post-logout one.
      REDIRECT,
      'javascript:alert(1)//https://app.example.com/signed-out',
    ]) {
      const response = await logout(browser, {
        id_token_hint: idToken,
        post_logout_redirect_uri: evil,
      });
      expect(response.status, evil).toBe(400);
      expect(response.headers.get('location'), evil).toBeNull();
    }
    expect(await stillSignedIn(browser)).toBe(true);
  });

  it('a spa’s post-logout URI matches exactly; a native app’s loopback one on any port, nowhere else', async () => {
    const anonymous = new FormBrowser(t.url);
    const spaRefused = await logout(anonymous, {
      client_id: spa.clientId,
      post_logout_redirect_uri: 'https://spa.example.com/?next=evil',
    });
    expect(spaRefused.status).toBe(400);
    const spaBack = await logout(anonymous, {
      client_id: spa.clientId,
      post_logout_redirect_uri: 'https://spa.example.com/',
    });
    expect(spaBack.headers.get('location')).toBe('https://spa.example.com/');
    // RFC 8252 §7.3: the port of a loopback redirect varies; host, path and scheme do not.
    const port = await logout(anonymous, {
      client_id: native.clientId,
      post_logout_redirect_uri: 'http://127.0.0.1:53111/bye',
    });
    expect(port.headers.get('location')).toBe('http://127.0.0.1:53111/bye');
    for (const evil of [
      'http://localhost:53111/bye',
      'http://127.0.0.1:53111/bye/../evil',
      'http://127.0.0.2:53111/bye',
      'http://127.0.0.1.evil.example.com/bye',
    ]) {
      const refused = await logout(anonymous, {
        client_id: native.clientId,
        post_logout_redirect_uri: evil,
      });
      expect(refused.status, evil).toBe(400);
      expect(refused.headers.get('location'), evil).toBeNull();
    }
  });

  it('CSRF: a hint that is not this session’s ID token never signs out silently', async () => {
    const { idToken: elsewhere } = await signedIn();
    const { browser, idToken, accessToken } = await signedIn();
    const [header = '', payload = ''] = idToken.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const hs256 = `${Buffer.from(
      JSON.stringify({
        ...(JSON.parse(Buffer.from(header, 'base64url').toString()) as object),
        alg: 'HS256',
      }),
    ).toString('base64url')}.${payload}.${'A'.repeat(43)}`;
    for (const hint of [
      // The same user's ID token from another browser's session (another sid).
      elsewhere,
      // The access token: signed by the same keys, but not an ID token (typ at+jwt).
      accessToken,
      none,
      hs256,
    ]) {
      const response = await logout(browser, { id_token_hint: hint });
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('Sign out of Gatehouse?');
    }
    // An ID token of this environment is no hint in another one.
    const production = await logout(
      browser,
      { id_token_hint: idToken, post_logout_redirect_uri: AFTER },
      'production',
    );
    expect(production.status).toBe(400);
    expect(production.headers.get('location')).toBeNull();
    expect(await stillSignedIn(browser)).toBe(true);
  });

  it('phishing: a self-registered client’s name is flagged as its own claim, and the page says where the browser goes', async () => {
    const registered = await fetch(`${t.url}/e/development/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Your Bank',
        redirect_uris: ['https://bank-login.example.net/cb'],
        post_logout_redirect_uris: ['https://bank-login.example.net/bye'],
        token_endpoint_auth_method: 'none',
        application_type: 'web',
      }),
    });
    expect(registered.status).toBe(201);
    const { client_id: dynamicId } = (await registered.json()) as { client_id: string };
    const { browser } = await signedIn();
    const page = await (
      await logout(browser, {
        client_id: dynamicId,
        post_logout_redirect_uri: 'https://bank-login.example.net/bye',
      })
    ).text();
    expect(page).toContain('Sign out of Gatehouse?');
    expect(page).toContain('id="unverified"');
    expect(page).toContain(dynamicId);
    expect(page).not.toContain('<strong>Your Bank</strong> asked');
    expect(page).toMatch(/id="destination"[^]*bank-login\.example\.net/);
    // A client an operator registered is named as such, and where it sends the browser too.
    const own = await (
      await logout(browser, { client_id: app.clientId, post_logout_redirect_uri: AFTER })
    ).text();
    expect(own).not.toContain('id="unverified"');
    expect(own).toMatch(/id="destination"[^]*app\.example\.com/);
  });

  it('XSS: state and the client’s name are text on the confirmation page, and state stays in the query', async () => {
    const { browser } = await signedIn();
    const state = '"><script>alert(1)</script>';
    const page = await (
      await logout(browser, { client_id: app.clientId, post_logout_redirect_uri: AFTER, state })
    ).text();
    expect(page).not.toContain('<script>alert(1)');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // What a browser would submit: the hidden fields, their entities decoded.
    const hidden = Object.fromEntries(
      [...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [
        m[1] ?? '',
        (m[2] ?? '').replace(/&(lt|gt|quot|#39|#x27|amp);/g, (_, e: string) =>
          e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'amp' ? '&' : "'",
        ),
      ]),
    );
    expect(hidden.state).toBe(state);
    const confirmed = await browser.post('/e/development/logout/confirm', {
      ...hidden,
      decision: 'logout',
    });
    expect(confirmed.status).toBe(303);
    const back = new URL(confirmed.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(AFTER);
    expect(back.searchParams.get('state')).toBe(state);
  });
});

describe('back-channel logout for a user with very many sessions', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await throwawaySqlite();
    // The worker is not meant to run here: only what is queued is looked at.
    t = await startTestServer(db, { logoutDeliveries: { intervalMs: 3_600_000 } });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('DoS: an account signed in thousands of times can still be disabled: revoked, and every client told', async () => {
    // A hostile account signs in to a client with a back-channel URI again and again (each
    // sign-in a session, each session a record) before an operator disables it.
    const rp = await t.client({
      type: 'web',
      name: 'RP',
      redirectUris: ['https://rp.example.com/cb'],
      grantTypes: ['authorization_code'],
      backchannelLogoutUri: 'https://rp.example.com/bcl',
    });
    const userId = await t.user('mallet@example.com', PASSWORD);
    const sessions = 6000;
    for (let i = 0; i < sessions; i++)
      await t.server.stores.sessionClients.record({
        environment: 'development',
        sid: `sid-${i}`,
        clientId: rp.clientId,
        userId,
        expiresAt: Date.now() + HOUR,
        createdAt: Date.now(),
      });
    await setUserDisabled(t.ctx, 'development', userId, true);
    // The user's access tokens are refused at resource servers by the event.
    const events = await t.server.stores.revocationEvents.after('development', 0, 100);
    expect(events.filter((e) => e.kind === 'user' && e.key === userId)).toHaveLength(1);
    const queued = await t.server.stores.logoutDeliveries.due(Date.now(), sessions + 10);
    expect(queued.filter((d) => d.sub === userId)).toHaveLength(sessions);
  });
});

describe('the delivery worker against a hostile relying party', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  const receiver = new Receiver();

  beforeAll(async () => {
    db = await throwawaySqlite();
    // The server's own worker stays out of the way: the test runs one by hand.
    t = await startTestServer(db, { logoutDeliveries: { intervalMs: 3_600_000 } });
    await receiver.start();
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
    await db.drop();
  });

  it('DoS: a client with a backlog of deliveries to a receiver that never answers does not hold up another client’s', async () => {
    const hostile = await t.client({
      type: 'web',
      name: 'Hostile',
      redirectUris: ['https://hostile.example.com/cb'],
      grantTypes: ['authorization_code'],
      backchannelLogoutUri: 'https://hostile.example.com/bcl',
    });
    const honest = await t.client({
      type: 'web',
      name: 'Honest',
      redirectUris: ['https://honest.example.com/cb'],
      grantTypes: ['authorization_code'],
      backchannelLogoutUri: `http://127.0.0.1:${receiver.port}/bcl`,
    });
    const now = Date.now();
    // The hostile client's sign-outs came first: hundreds of them are due before the honest one.
    await t.server.stores.logoutDeliveries.enqueue(
      Array.from({ length: 300 }, (_, i) => ({
        id: `hostile-${i}`,
        environment: 'development',
        clientId: hostile.clientId,
        uri: 'https://hostile.example.com/bcl',
        sub: 'u',
        sid: `s${i}`,
      })),
      now - 1000,
    );
    await t.server.stores.logoutDeliveries.enqueue(
      [
        {
          id: 'honest-1',
          environment: 'development',
          clientId: honest.clientId,
          uri: `http://127.0.0.1:${receiver.port}/bcl`,
          sub: 'u',
          sid: 's',
        },
      ],
      now,
    );
    let hung = 0;
    // The hostile receiver never answers: each of its attempts lasts until the timeout.
    class HostileNeverAnswers extends GuardedPoster {
      override postForm(
        url: URL,
        form: Readonly<Record<string, string>>,
        policy: FetchPolicy,
      ): Promise<number> {
        if (url.hostname !== 'hostile.example.com') return super.postForm(url, form, policy);
        hung++;
        return Promise.reject(new GuardedPostError('timeout', 'no answer within 5000 ms'));
      }
    }
    const worker = new LogoutDeliveryWorker({
      stores: t.server.stores,
      clock: Date.now,
      signer: new Signer(t.server.stores.keys, Date.now),
      poster: new HostileNeverAnswers(),
      issuerOf: (environment) => t.issuer(environment),
    });
    // One run of the worker: the honest client's delivery is among those attempted.
    await worker.runOnce();
    expect(receiver.tokens).toHaveLength(1);
    expect((await t.server.stores.logoutDeliveries.get('honest-1'))?.status).toBe('delivered');
    // And the hostile receiver is not sent a crowd at once.
    expect(hung).toBeLessThanOrEqual(10);
  });
});
