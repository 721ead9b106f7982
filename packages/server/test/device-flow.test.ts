/**
 * RFC 8628 device authorization grant: the device endpoint, the code-entry page, polling answers,
 * guessing limits, and native clients only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseUserCode, newUserCode } from '../src/endpoints/device/index.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'device flow password';
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** Time as the server sees it: the tests move it forward instead of sleeping. */
let offset = 0;

describe('device authorization grant', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let tv: { clientId: string };

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { clock: () => Date.now() + offset });
    tv = await t.client({
      type: 'native',
      name: 'Living-room TV',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    await t.user('hana@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const post = async (path: string, form: Record<string, string>) => {
    const response = await fetch(`${t.issuer('development')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const start = async (scope = 'openid offline_access') =>
    (await post('/device_authorization', { client_id: tv.clientId, scope }))
      .body as unknown as DeviceAuthorization;
  const poll = (deviceCode: string) =>
    post('/token', { grant_type: GRANT, device_code: deviceCode, client_id: tv.clientId });

  /** The person: open the page, type the code (in lower case), sign in, decide. */
  async function approve(userCode: string, decision: 'allow' | 'deny' = 'allow'): Promise<string> {
    return new FormBrowser(t.url).approveDevice(
      userCode.toLowerCase(),
      'hana@example.com',
      PASSWORD,
      decision,
    );
  }

  it('is listed in the metadata', async () => {
    const metadata = (await (
      await fetch(`${t.issuer('development')}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata.device_authorization_endpoint).toBe(
      `${t.issuer('development')}/device_authorization`,
    );
    expect(metadata.grant_types_supported).toContain(GRANT);
  });

  it('issues easy-to-type user codes and the verification URIs', async () => {
    const authorization = await start();
    expect(authorization.user_code).toMatch(
      /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/,
    );
    expect(authorization).toMatchObject({
      verification_uri: `${t.issuer('development')}/device`,
      expires_in: 600,
      interval: 5,
    });
    expect(authorization.verification_uri_complete).toBe(
      `${t.issuer('development')}/device?user_code=${authorization.user_code}`,
    );
    expect(normaliseUserCode(' wdjb-mjht ')).toBe('WDJBMJHT');
    expect(new Set(Array.from({ length: 200 }, newUserCode)).size).toBe(200);
  });

  it('answers authorization_pending, then slow_down when polled too fast, then tokens once approved', async () => {
    const authorization = await start();
    expect((await poll(authorization.device_code)).body.error).toBe('authorization_pending');
    expect((await poll(authorization.device_code)).body.error).toBe('slow_down');
    expect(await approve(authorization.user_code)).toContain('Device connected');
    const tokens = await poll(authorization.device_code);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', scope: 'openid offline_access' });
    expect(typeof tokens.body.refresh_token).toBe('string');
    expect((await poll(authorization.device_code)).body.error).toBe('invalid_grant');
  });

  it('answers access_denied when the user denies', async () => {
    const authorization = await start();
    expect(await approve(authorization.user_code, 'deny')).toContain('Request denied');
    expect((await poll(authorization.device_code)).body.error).toBe('access_denied');
  });

  it('answers expired_token after the code expires', async () => {
    const authorization = await start();
    offset += 601_000;
    try {
      expect((await poll(authorization.device_code)).body.error).toBe('expired_token');
    } finally {
      offset -= 601_000;
    }
  });

  it('lets only one of two concurrent decisions on a code count', async () => {
    const authorization = await start();
    const consentPageFor = async () => {
      const browser = new FormBrowser(t.url);
      const entry = await (await browser.get('/e/development/device')).text();
      let page = await (
        await browser.post('/e/development/device', {
          _csrf: FormBrowser.csrf(entry),
          user_code: authorization.user_code,
        })
      ).text();
      const hidden = () => /name="user_code" value="([^"]+)"/.exec(page)?.[1] ?? '';
      page = await (
        await browser.post('/e/development/device/login', {
          ...FormBrowser.fields(page),
          user_code: hidden(),
          email: 'hana@example.com',
          password: PASSWORD,
        })
      ).text();
      return { browser, page, code: hidden() };
    };
    const [a, b] = await Promise.all([consentPageFor(), consentPageFor()]);
    const decisions = await Promise.all([
      a.browser.post('/e/development/device/consent', {
        ...FormBrowser.fields(a.page),
        user_code: a.code,
        decision: 'allow',
      }),
      b.browser.post('/e/development/device/consent', {
        ...FormBrowser.fields(b.page),
        user_code: b.code,
        decision: 'deny',
      }),
    ]);
    const statuses = decisions.map((d) => d.status).sort();
    expect(statuses[0]).toBe(200);
    expect(statuses[1]).toBeGreaterThanOrEqual(400);
  });

  it('refuses web clients and unknown scopes', async () => {
    const web = await t.client({
      type: 'web',
      name: 'Web',
      redirectUris: ['https://web.example.com/cb'],
    });
    const refused = await post('/device_authorization', {
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
    });
    expect(refused.body.error).toBe('unauthorized_client');
    expect(
      (await post('/device_authorization', { client_id: tv.clientId, scope: 'admin' })).body.error,
    ).toBe('invalid_scope');
  });

  it('limits guessing of user codes per address with a clear message', async () => {
    const browser = new FormBrowser(t.url);
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) {
      const entry = await (await browser.get('/e/development/device')).text();
      last = await browser.post('/e/development/device', {
        _csrf: FormBrowser.csrf(entry),
        user_code: 'BBBB-BBBB',
      });
    }
    expect(last?.status).toBe(429);
    expect(await last?.text()).toContain('Too many wrong codes');
  });
});
