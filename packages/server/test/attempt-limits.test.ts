/**
 * Issue #13, items 2 and 3: the limits on guessing hold under attack. Each attack is fired for
 * real at a real server on SQLite and on PostgreSQL, and what is counted is the expensive checks
 * the server made (password verifications, user-code and initial-access-token look-ups), never
 * how long anything took.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInitialAccessToken } from '../src/services/dynamic-clients.js';
import { createOperator } from '../src/services/operators.js';
import { AdminSession, OPERATOR_PASSWORD } from './support/admin.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import type { CookieJar } from './support/server.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'the right password 1';
const ATTEMPTS = 40;

/** A form POST as a browser behind a proxy sends it: the proxy adds X-Forwarded-For. */
async function postAs(
  base: string,
  jar: CookieJar,
  path: string,
  form: Record<string, string>,
  forwardedFor?: string,
): Promise<Response> {
  const response = await fetch(new URL(path, base), {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: jar.header(),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'text/html',
      ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
    },
    body: new URLSearchParams(form),
  });
  jar.store(response);
  return response;
}

async function loginPage(t: TestServer, clientId: string) {
  const browser = new FormBrowser(t.url);
  const { challenge } = pkce();
  const { last } = await browser.follow(
    await browser.get(
      `/e/development/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: 'http://127.0.0.1/callback', response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' }).toString()}`,
    ),
  );
  const html = await last.text();
  expect(html).toContain('name="password"');
  return { browser, fields: FormBrowser.fields(html) };
}

const auditCount = async (t: TestServer, type: string, email?: string) =>
  (await t.ctx.stores.audit.tail({ type, limit: 10_000 })).filter(
    (e) => email === undefined || (e.data as { email?: string }).email === email,
  ).length;

describe.each(DATABASES)('attempt limits under concurrent attack on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let native: { clientId: string };

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    native = await t.client({
      type: 'native',
      name: 'Attack target',
      redirectUris: ['http://127.0.0.1/callback'],
    });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it(`checks only 5 of ${ATTEMPTS} concurrent wrong passwords for one account`, async () => {
    await t.user('target@example.com', PASSWORD);
    const { browser, fields } = await loginPage(t, native.clientId);
    const replies = await Promise.all(
      Array.from({ length: ATTEMPTS }, (_, i) =>
        browser.post('/e/development/login', {
          ...fields,
          email: 'target@example.com',
          password: `wrong password ${i}`,
        }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    const checked = await auditCount(t, 'signin.failed', 'target@example.com');
    const throttled = await auditCount(t, 'signin.throttled', 'target@example.com');
    // Throttled attempts are audited once per (account, address) and window, the rest counted.
    expect({ checked, throttled }).toEqual({ checked: 5, throttled: 1 });
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(ATTEMPTS - 5);
    // The right password, tried now, is refused without being checked either.
    const right = await browser.post('/e/development/login', {
      ...fields,
      email: 'target@example.com',
      password: PASSWORD,
    });
    expect(right.status).toBe(429);
    expect(await auditCount(t, 'signin.succeeded')).toBe(0);
  });

  it(`checks only 5 of ${ATTEMPTS} concurrent wrong operator passwords`, async () => {
    await createOperator(
      { stores: t.ctx.stores, clock: t.ctx.clock, actor: 'admin:test' },
      { email: 'ops@ops.example', role: 'admin', password: OPERATOR_PASSWORD },
    );
    const replies = await Promise.all(
      Array.from({ length: ATTEMPTS }, (_, i) =>
        new AdminSession(t.url).signIn('ops@ops.example', `wrong ${i}`),
      ),
    );
    const checked = await auditCount(t, 'operator.signin_failed', 'ops@ops.example');
    expect(checked).toBe(5);
    expect(replies.filter((r) => r.status === 429)).toHaveLength(ATTEMPTS - 5);
    expect(replies.every((r) => r.status === 401 || r.body.error === 'too_many_attempts')).toBe(
      true,
    );
  });

  it(`looks up only 10 of ${ATTEMPTS} concurrent guessed device user codes`, async () => {
    const codes = t.server.stores.deviceCodes;
    const original = codes.findPendingByUserCode.bind(codes);
    let lookups = 0;
    codes.findPendingByUserCode = (...args) => {
      lookups++;
      return original(...args);
    };
    try {
      const browser = new FormBrowser(t.url);
      const entry = await (await browser.get('/e/development/device')).text();
      const csrf = FormBrowser.csrf(entry);
      const replies = await Promise.all(
        Array.from({ length: ATTEMPTS }, () =>
          browser.post('/e/development/device', { _csrf: csrf, user_code: 'BBBB-BBBB' }),
        ),
      );
      expect(lookups).toBe(10);
      expect(replies.filter((r) => r.status === 429)).toHaveLength(ATTEMPTS - 10);
    } finally {
      codes.findPendingByUserCode = original;
    }
  });

  it(`checks only 20 of ${ATTEMPTS} concurrent guessed initial access tokens`, async () => {
    const tokens = t.server.stores.initialAccessTokens;
    const original = tokens.isValid.bind(tokens);
    let checks = 0;
    tokens.isValid = (...args) => {
      checks++;
      return original(...args);
    };
    try {
      const replies = await Promise.all(
        Array.from({ length: ATTEMPTS }, (_, i) =>
          fetch(`${t.issuer('staging')}/register`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ghiat_guess${i}`,
            },
            body: JSON.stringify({
              redirect_uris: ['http://127.0.0.1/callback'],
              token_endpoint_auth_method: 'none',
              application_type: 'native',
            }),
          }),
        ),
      );
      expect(checks).toBe(20);
      expect(replies.filter((r) => r.status === 401)).toHaveLength(20);
      expect(replies.filter((r) => r.status === 429)).toHaveLength(ATTEMPTS - 20);
      // The limit holds for a valid token too, until the window has passed.
      const valid = await createInitialAccessToken(t.ctx, 'staging', 60_000);
      const late = await fetch(`${t.issuer('staging')}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${valid.token}` },
        body: JSON.stringify({
          redirect_uris: ['http://127.0.0.1/callback'],
          token_endpoint_auth_method: 'none',
          application_type: 'native',
        }),
      });
      expect(late.status).toBe(429);
    } finally {
      tokens.isValid = original;
    }
  });
});

describe.each(DATABASES)('client addresses behind a proxy on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
    await db.drop();
  });
  beforeAll(async () => {
    db = await create();
  });

  const start = async (trustProxy?: string, pauses?: number[]) => {
    const t = await startTestServer(db, {
      ...(trustProxy === undefined ? {} : { trustProxy }),
      ...(pauses === undefined
        ? {}
        : {
            pause: (ms: number) => {
              pauses.push(ms);
              return Promise.resolve();
            },
          }),
    });
    servers.push(t);
    const client = await t.client({
      type: 'native',
      name: 'Behind a proxy',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    return { t, client };
  };

  it('ignores X-Forwarded-For without --trust-proxy: an attacker cannot pick an address', async () => {
    const { t, client } = await start();
    await t.user('spoof@example.com', PASSWORD);
    const { browser, fields } = await loginPage(t, client.clientId);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const reply = await postAs(
        t.url,
        browser.jar,
        '/e/development/login',
        { ...fields, email: 'spoof@example.com', password: 'not it' },
        `198.51.100.${i + 1}`,
      );
      statuses.push(reply.status);
    }
    // Six "addresses" are one: the socket's. The sixth is refused.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    await t.close();
    servers.pop();
  });

  it.each(['127.0.0.1', '1'])(
    'with --trust-proxy %s, twenty failures with made-up emails from one address lock out no one else',
    async (trustProxy) => {
      const { t, client } = await start(trustProxy);
      await t.user(`real-${trustProxy}@example.com`, PASSWORD);
      const attacker = await loginPage(t, client.clientId);
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) {
        const reply = await postAs(
          t.url,
          attacker.browser.jar,
          '/e/development/login',
          { ...attacker.fields, email: `made-up-${i}@example.com`, password: 'guess' },
          `203.0.113.${trustProxy === '1' ? 67 : 66}`,
        );
        statuses.push(reply.status);
      }
      // The attacker's own address is limited, keyed on the forwarded address...
      expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
      expect(statuses[20]).toBe(429);
      // ...and the real user, through the same proxy from another address, signs in.
      const user = await loginPage(t, client.clientId);
      const reply = await postAs(
        t.url,
        user.browser.jar,
        '/e/development/login',
        { ...user.fields, email: `real-${trustProxy}@example.com`, password: PASSWORD },
        '192.0.2.10',
      );
      expect(reply.status).toBe(303);
      await t.close();
      servers.pop();
    },
  );

  it('with --trust-proxy, the addresses of one IPv6 /64 are one address: rotating them does not reset the limit', async () => {
    const { t, client } = await start('1');
    await t.user('v6@example.com', PASSWORD);
    const { browser, fields } = await loginPage(t, client.clientId);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const reply = await postAs(
        t.url,
        browser.jar,
        '/e/development/login',
        { ...fields, email: 'v6@example.com', password: 'not it' },
        `2001:db8:1:2::${(i + 1).toString(16)}`,
      );
      statuses.push(reply.status);
    }
    // Anyone with IPv6 has a /64 (2^64 addresses) to pick from.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // Another /64 is another address.
    const other = await postAs(
      t.url,
      browser.jar,
      '/e/development/login',
      { ...fields, email: 'v6@example.com', password: PASSWORD },
      '2001:db8:1:3::1',
    );
    expect(other.status).toBe(303);
    await t.close();
    servers.pop();
  });

  it('failures for one account from many addresses slow it down but never lock out the right password', async () => {
    const pauses: number[] = [];
    const { t, client } = await start('127.0.0.1', pauses);
    await t.user('victim@example.com', PASSWORD);
    const attacker = await loginPage(t, client.clientId);
    // Fifteen addresses, five failures each (each (account, address) pair at its limit): 75.
    const statuses: number[] = [];
    for (let a = 0; a < 15; a++)
      for (let i = 0; i < 5; i++) {
        const reply = await postAs(
          t.url,
          attacker.browser.jar,
          '/e/development/login',
          { ...attacker.fields, email: 'victim@example.com', password: `guess ${a}.${i}` },
          `203.0.113.${a + 1}`,
        );
        statuses.push(reply.status);
      }
    expect(statuses.every((s) => s === 401)).toBe(true);
    // Beyond the account's ceiling (10) every attempt was held back, by a delay that grows to a cap.
    expect(pauses).toHaveLength(75 - 10);
    expect(Math.max(...pauses)).toBe(10_000);
    expect(pauses.slice(0, 4)).toEqual([1_000, 2_000, 4_000, 8_000]);
    // Its owner, from an address of their own, is slowed down too but gets in.
    const user = await loginPage(t, client.clientId);
    const reply = await postAs(
      t.url,
      user.browser.jar,
      '/e/development/login',
      { ...user.fields, email: 'victim@example.com', password: PASSWORD },
      '192.0.2.20',
    );
    expect(reply.status).toBe(303);
    expect(pauses).toHaveLength(75 - 10 + 1);
    await t.close();
    servers.pop();
  });
});
