/**
 * Issue #14, "Health, metrics and logs": /readyz fails with the reason when the database goes
 * away or its schema moves (and /healthz does not); Prometheus metrics after real flows; request
 * logs, one line per request, with none of the secrets any flow sent or received.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig, startServer, type RunningServer } from '../src/index.js';
import { registerResource } from '../src/services/resources.js';
import {
  throwawayPostgres,
  throwawaySqlite,
  POSTGRES_ADMIN_URL,
  type ThrowawayDatabase,
} from './support/databases.js';
import { operatorSession, OPERATOR_PASSWORD } from './support/admin.js';
import { FormBrowser, pkce, TEST_SECRET_KEY, type TestServer } from './support/server.js';
import { createClient } from '../src/services/clients.js';
import { createUser } from '../src/services/users.js';
import type { ServiceContext } from '../src/services/context.js';
import pg from 'pg';

const PASSWORD = 'operations pass phrase';
const REDIRECT = 'https://app.example.com/callback';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const API = 'https://api.example.com/';

async function start(
  db: ThrowawayDatabase,
  options: { metrics?: boolean; logStream?: { write(line: string): void } } = {},
): Promise<RunningServer> {
  const target = db.target;
  const config = resolveServerConfig(
    {
      ...(target.kind === 'sqlite'
        ? { port: 0, dataDir: target.file.replace(/\/gatehouse\.sqlite$/, '') }
        : { port: 0, databaseUrl: target.url, secretKey: TEST_SECRET_KEY }),
      ...(options.metrics === true ? { metricsPort: 0 } : {}),
    },
    process.cwd(),
  );
  return startServer(
    config,
    options.logStream === undefined ? { logger: false } : { logStream: options.logStream },
  );
}

async function probe(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('readiness', () => {
  it('fails with the reason when the PostgreSQL database goes away; /healthz stays 200', async () => {
    const db = await throwawayPostgres();
    const server = await start(db);
    try {
      expect(await probe(`${server.url}/readyz`)).toEqual({
        status: 200,
        body: {
          status: 'ok',
          checks: { database: 'ok', migrations: 'ok', signing_keys: 'ok', audit_writer: 'ok' },
        },
      });
      // The database is dropped underneath the running server, its connections terminated.
      await db.drop();
      const ready = await probe(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('unavailable');
      const checks = ready.body.checks as Record<string, string>;
      expect(checks.database).not.toBe('ok');
      expect(checks.database).toMatch(/\S/);
      expect(checks.migrations).not.toBe('ok');
      expect(checks.audit_writer).toBe('ok');
      expect(await probe(`${server.url}/healthz`)).toEqual({
        status: 200,
        body: { status: 'ok' },
      });
    } finally {
      await server.close().catch(() => undefined);
      await db.drop();
    }
  });

  it('tells anonymous callers why a check failed without the database error itself (no host, port, database or user name)', async () => {
    const db = await throwawayPostgres();
    const server = await start(db);
    try {
      if (db.target.kind !== 'postgres') throw new Error('not postgres');
      const url = new URL(db.target.url);
      await db.drop();
      const ready = await probe(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      const text = JSON.stringify(ready.body);
      for (const detail of [url.pathname.slice(1), url.hostname, url.port, url.username])
        expect(text).not.toContain(detail);
      const checks = ready.body.checks as Record<string, string>;
      expect(checks.database).toMatch(/^the check failed \(\w+\)$/);
    } finally {
      await server.close().catch(() => undefined);
    }
  });

  it('fails when the database is stopped within its time limit, not after the request’s', async () => {
    const db = await throwawayPostgres();
    const server = await start(db);
    // Every connection of the server to its database is cut (an admin, a failover).
    const name = new URL(db.target.kind === 'postgres' ? db.target.url : '').pathname.slice(1);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`alter database ${name} with allow_connections false`);
      await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1',
        [name],
      );
      const ready = await probe(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect((ready.body.checks as Record<string, string>).database).not.toBe('ok');
      expect((await probe(`${server.url}/healthz`)).status).toBe(200);
      // Back: ready again, with no restart.
      await admin.query(`alter database ${name} with allow_connections true`);
      expect((await probe(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await admin.end();
      await server.close().catch(() => undefined);
      await db.drop();
    }
  });

  it('fails when another version migrated the database past this process', async () => {
    const db = await throwawaySqlite();
    const server = await start(db);
    try {
      expect((await probe(`${server.url}/readyz`)).status).toBe(200);
      const other = new Database(db.target.kind === 'sqlite' ? db.target.file : '');
      other
        .prepare('insert into gatehouse_migrations (name, timestamp) values (?, ?)')
        .run('9999_from_the_future', new Date().toISOString());
      other.close();
      const ready = await probe(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect((ready.body.checks as Record<string, string>).migrations).toMatch(
        /^the database is at migration 9999_from_the_future/,
      );
      expect((ready.body.checks as Record<string, string>).database).toBe('ok');
    } finally {
      await server.close();
      await db.drop();
    }
  });

  it('serves no metrics unless a port is given', async () => {
    const db = await throwawaySqlite();
    const server = await start(db);
    try {
      expect(server.metricsUrl).toBeUndefined();
    } finally {
      await server.close();
      await db.drop();
    }
  });
});

describe('metrics and request logs after every flow', () => {
  let db: ThrowawayDatabase;
  let server: RunningServer;
  let t: Pick<TestServer, 'url' | 'ctx'>;
  let logText = '';
  /** Every secret value a flow sent or received: none may be in the logs. */
  const secrets = new Map<string, string>();
  const saw = (what: string, value: unknown) => {
    if (typeof value === 'string' && value.length >= 6) secrets.set(value, what);
  };
  const issuer = () => `${server.url}/e/development`;

  async function post(
    path: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${issuer()}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });
    const text = await response.text();
    const body = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    for (const key of ['access_token', 'refresh_token', 'id_token', 'device_code', 'user_code'])
      saw(key, body[key]);
    return { status: response.status, body };
  }

  function sawCookies(browser: FormBrowser): void {
    for (const pair of browser.jar.header().split('; ')) saw('cookie', pair.split('=')[1]);
  }

  beforeAll(async () => {
    db = await throwawaySqlite();
    server = await start(db, {
      metrics: true,
      logStream: {
        write(line: string) {
          logText += line;
        },
      },
    });
    const ctx: ServiceContext = { stores: server.stores, clock: Date.now, actor: 'admin:test' };
    t = { url: server.url, ctx };
    await createUser(ctx, {
      environment: 'development',
      email: 'ops@example.com',
      password: PASSWORD,
    });
    saw('password', PASSWORD);
    saw('operator password', OPERATOR_PASSWORD);
    await registerResource(ctx, 'development', { uri: API, name: 'API', scopes: ['notes:read'] });

    // The code flow, with a confidential client: authorize, sign in, consent, redeem.
    const web = await createClient(ctx, {
      environment: 'development',
      type: 'web',
      name: 'Web app',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    });
    const clientId = web.client.clientId;
    const clientSecret = web.clientSecret ?? '';
    saw('client_secret', clientSecret);
    const basic = {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
    };
    saw('basic credentials', basic.authorization.slice(6));
    const browser = new FormBrowser(server.url);
    const { verifier, challenge } = pkce();
    saw('code_verifier', verifier);
    saw('code_challenge', challenge);
    const state = 'state-value-0123456789';
    const nonce = 'nonce-value-0123456789';
    saw('state', state);
    saw('nonce', nonce);
    const location = await browser.authorize(
      {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        scope: 'openid email offline_access',
        state,
        nonce,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'ops@example.com',
      PASSWORD,
    );
    sawCookies(browser);
    const code = new URL(location).searchParams.get('code') ?? '';
    saw('code', code);
    const redeemed = await post('/token', {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(redeemed.status).toBe(200);
    const accessToken = redeemed.body.access_token as string;

    // Refresh, client credentials with Basic, userinfo, introspection, revocation.
    const refreshed = await post(
      '/token',
      { grant_type: 'refresh_token', refresh_token: redeemed.body.refresh_token as string },
      basic,
    );
    expect(refreshed.status).toBe(200);
    const machine = await post('/token', { grant_type: 'client_credentials' }, basic);
    expect(machine.status).toBe(200);
    const info = await fetch(`${issuer()}/userinfo`, {
      headers: { authorization: `Bearer ${refreshed.body.access_token as string}` },
    });
    expect(info.status).toBe(200);
    expect((await post('/introspect', { token: accessToken }, basic)).status).toBe(200);
    expect(
      (await post('/revoke', { token: refreshed.body.refresh_token as string }, basic)).status,
    ).toBe(200);

    // A refused redirect URI, and a failed sign-in.
    const refused = await browser.get(
      `/e/development/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: 'https://evil.example.com/callback',
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString()}`,
    );
    expect(refused.status).toBe(400);
    const stranger = new FormBrowser(server.url);
    const { last } = await stranger.follow(
      await stranger.get(
        `/e/development/authorize?${new URLSearchParams({
          response_type: 'code',
          client_id: clientId,
          redirect_uri: REDIRECT,
          scope: 'openid',
          state,
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }).toString()}`,
      ),
    );
    const loginPage = await last.text();
    const fields = FormBrowser.fields(loginPage);
    saw('csrf token', fields._csrf);
    saw('interaction', fields.interaction);
    const wrong = 'wrong pass phrase 12345';
    saw('wrong password', wrong);
    const failed = await stranger.post('/e/development/login', {
      ...fields,
      email: 'ops@example.com',
      password: wrong,
    });
    expect(failed.status).toBe(401);
    sawCookies(stranger);

    // The device flow, with a native client.
    const tv = await createClient(ctx, {
      environment: 'development',
      type: 'native',
      name: 'TV',
      redirectUris: ['http://127.0.0.1/callback'],
      grantTypes: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    });
    const device = await post('/device_authorization', {
      client_id: tv.client.clientId,
      scope: 'openid',
    });
    expect(device.status).toBe(200);
    const deviceBrowser = new FormBrowser(server.url);
    await deviceBrowser.approveDevice(
      (device.body.user_code as string).toLowerCase(),
      'ops@example.com',
      PASSWORD,
    );
    sawCookies(deviceBrowser);
    saw('user code', (device.body.user_code as string).toLowerCase());
    const polled = await post('/token', {
      grant_type: DEVICE_GRANT,
      device_code: device.body.device_code as string,
      client_id: tv.client.clientId,
    });
    expect(polled.status).toBe(200);

    // Token exchange: a service acting for the user at another API (refused or not, the tokens
    // it sent and got must not be logged).
    const agent = await createClient(ctx, {
      environment: 'development',
      type: 'web',
      name: 'Agent',
      redirectUris: [],
      grantTypes: ['client_credentials', EXCHANGE_GRANT],
      exchangeAudiences: [API],
    });
    saw('agent secret', agent.clientSecret);
    const actor = await post('/token', {
      grant_type: 'client_credentials',
      client_id: agent.client.clientId,
      client_secret: agent.clientSecret ?? '',
    });
    await post('/token', {
      grant_type: EXCHANGE_GRANT,
      client_id: agent.client.clientId,
      client_secret: agent.clientSecret ?? '',
      subject_token: accessToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      actor_token: actor.body.access_token as string,
      actor_token_type: ACCESS_TOKEN_TYPE,
      resource: API,
    });

    // An operator signs in to the admin API, once wrongly.
    const { session } = await operatorSession(t as TestServer, 'admin@example.com', 'admin');
    saw('admin csrf', session.csrfToken);
    for (const pair of session.jar.header().split('; ')) saw('admin cookie', pair.split('=')[1]);
    const wrongAdmin = await fetch(`${server.url}/admin/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password: wrong }),
    });
    expect(wrongAdmin.status).toBe(401);
  }, 60_000);

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  it('counts them on the metrics port, apart from the public one', async () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(server.metricsUrl ?? '').port).not.toBe(new URL(server.url).port);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    const response = await fetch(server.metricsUrl ?? '');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? NaN : Number(line.slice(series.length + 1));
    };
    expect(
      value('gatehouse_http_requests_total{route="/e/:env/token",method="POST",status="200"}'),
    ).toBeGreaterThanOrEqual(5);
    expect(
      value('gatehouse_http_requests_total{route="/e/:env/authorize",method="GET",status="400"}'),
    ).toBe(1);
    expect(
      value('gatehouse_http_request_duration_seconds_count{route="/e/:env/token",method="POST"}'),
    ).toBeGreaterThanOrEqual(5);
    // Route templates only: never a URL with its query or an environment's name in the path.
    expect(text).not.toMatch(/route="[^"]*(\?|\/e\/development)/);
    for (const grant of ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_GRANT])
      expect(
        value(`gatehouse_tokens_issued_total{grant="${grant}",environment="development"}`),
      ).toBeGreaterThanOrEqual(1);
    expect(value('gatehouse_redirect_uris_refused_total{environment="development"}')).toBe(1);
    expect(value('gatehouse_sign_in_failures_total{environment="development"}')).toBe(1);
    expect(value('gatehouse_sign_in_failures_total{environment="admin"}')).toBe(1);
    expect(value('gatehouse_audit_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(value('gatehouse_audit_commit_duration_seconds_count')).toBeGreaterThan(0);
    expect(value('gatehouse_audit_appends_committed_total')).toBeGreaterThan(0);
    expect(value('gatehouse_read_cache_hits_total{kind="clients"}')).toBeGreaterThan(0);
    expect(value('gatehouse_read_cache_misses_total{kind="clients"}')).toBeGreaterThan(0);
    expect(value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('logs one line per request, with none of the secrets any flow saw', () => {
    expect(secrets.size).toBeGreaterThan(25);
    for (const [value, what] of secrets)
      expect(logText.includes(value), `${what} is in the logs`).toBe(false);
    // Neither encoded as it travelled in a URL or a form.
    for (const [value, what] of secrets)
      expect(logText.includes(encodeURIComponent(value)), `${what} (encoded)`).toBe(false);
    const lines = logText
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThan(20);
    expect(
      lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed'),
    ).toEqual([]);
    const allowed = new Set([
      'level',
      'time',
      'pid',
      'hostname',
      'reqId',
      'route',
      'path',
      'method',
      'status',
      'durationMs',
      'environment',
      'clientId',
      'msg',
    ]);
    for (const line of requests) {
      expect(Object.keys(line).filter((k) => !allowed.has(k))).toEqual([]);
      expect(line.level).toBe(30);
      expect(typeof line.route).toBe('string');
      expect(line.route as string).not.toContain('?');
      expect(typeof line.status).toBe('number');
      expect(typeof line.durationMs).toBe('number');
    }
    const token = requests.find(
      (l) => l.route === '/e/:env/token' && l.status === 200 && l.clientId !== undefined,
    );
    expect(token).toMatchObject({ method: 'POST', environment: 'development' });
    expect(
      requests.some((l) => l.route === '/e/:env/authorize' && typeof l.clientId === 'string'),
    ).toBe(true);
  });
});
