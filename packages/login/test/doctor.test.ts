/**
 * The login doctor (runDoctor) on this machine's real sockets: against Gatehouse (development and
 * production, the refusal signal on its page) and oidc-provider, with a port held by another
 * listener, with proxy variables, without a browser, and its browser round trip in Chromium.
 */
import { createServer as createHttpServer, request } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../server/test/support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import {
  formatDoctorReport,
  noProxyExempts,
  runDoctor,
  type Check,
  type DoctorReport,
} from '../src/index.js';
import { startOidcProvider, type OidcProviderServer } from './support/oidc-provider.js';

/** A desktop session: a display, no SSH, no CI, no proxy. */
const DESKTOP = { DISPLAY: ':0' };

function check(report: DoctorReport, id: string): Check {
  const found = report.checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id} in ${JSON.stringify(report.checks)}`);
  return found;
}

async function hold(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function release(server: Server): Promise<void> {
  return new Promise((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

/** An HTTP proxy that forwards every request but those whose path starts with `blocked`. */
async function startBlockingProxy(
  blocked: string,
): Promise<{ port: number; refused: number; close: () => Promise<void> }> {
  const state = { refused: 0 };
  const server = createHttpServer((incoming, outgoing) => {
    const target = new URL(incoming.url ?? '/');
    if (target.pathname.startsWith(blocked)) {
      state.refused += 1;
      outgoing.writeHead(403, { 'content-type': 'text/plain' }).end('blocked by policy');
      return;
    }
    const forwarded = request(
      target,
      { method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.writeHead(502).end());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

describe('login doctor on this machine', () => {
  it('binds the listener login binds on every loopback host and says the loopback flow works', async () => {
    const report = await runDoctor({ env: DESKTOP, platform: 'linux' });
    expect(check(report, 'listener.127.0.0.1')).toMatchObject({
      status: 'ok',
      data: { usedByLogin: true },
    });
    expect(String(check(report, 'listener.127.0.0.1').data?.redirectUri)).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/callback$/,
    );
    expect(check(report, 'listener.[::1]').status).toBe('ok');
    expect(check(report, 'listener.localhost').data?.resolvesTo).toContain('127.0.0.1');
    expect(check(report, 'browser.round_trip').status).toBe('skip');
    expect(report.verdict).toEqual({ loopbackWorks: true, fallback: null, reasons: [] });
    expect(report.login.redirectUri).toBe('http://127.0.0.1:<any free port>/callback');
  });

  it('names the listener on all interfaces that holds a fixed port, and its process', async () => {
    const { server, port } = await hold('0.0.0.0');
    try {
      const report = await runDoctor({ env: DESKTOP, platform: 'linux', port });
      const bind = check(report, 'listener.127.0.0.1');
      expect(bind.status).toBe('fail');
      expect(bind.data?.errno).toBe('EADDRINUSE');
      expect(bind.summary).toContain('all interfaces (0.0.0.0)');
      const holder = check(report, 'listener.port');
      expect(holder.status).toBe('fail');
      expect(holder.data?.listeners).toContainEqual({
        address: '0.0.0.0',
        scope: 'all',
        pid: process.pid,
        command: expect.any(String) as string,
      });
      expect(holder.summary).toMatch(/could receive the authorization code/);
      // No server was asked, so the way out is paste mode.
      expect(report.verdict).toMatchObject({ loopbackWorks: false, fallback: '--no-browser' });
      expect(formatDoctorReport(report)).toContain('Use instead: gatehouse login --no-browser');
    } finally {
      await release(server);
    }
  });

  it('tells a loopback-only holder of the port from one on all interfaces', async () => {
    const { server, port } = await hold('127.0.0.1');
    try {
      const report = await runDoctor({ env: DESKTOP, platform: 'linux', port });
      expect(check(report, 'listener.127.0.0.1').summary).toContain(
        `EADDRINUSE: port ${port} is taken by a loopback-only listener (127.0.0.1)`,
      );
      // [::1] is free on that port: for the record only, login would use 127.0.0.1.
      expect(check(report, 'listener.[::1]').status).toBe('ok');
      expect(check(report, 'listener.port')).toMatchObject({
        status: 'warn',
        data: { listeners: [expect.objectContaining({ scope: 'loopback' })] },
      });
      expect(report.verdict.loopbackWorks).toBe(false);
    } finally {
      await release(server);
    }
  });

  it('warns of a proxy variable without a loopback exception, naming no proxy URL', async () => {
    const env = { ...DESKTOP, HTTPS_PROXY: 'http://user:secret@proxy.example:3128' };
    const report = await runDoctor({ env, platform: 'linux' });
    const proxy = check(report, 'proxy');
    expect(proxy.status).toBe('warn');
    expect(proxy.summary).toContain('NO_PROXY has no exception for 127.0.0.1');
    // The proxy URL may carry credentials: the report names the variable only.
    expect(JSON.stringify(report)).not.toContain('secret');
    // A warning, not a failure: browsers do not proxy loopback by default.
    expect(report.verdict.loopbackWorks).toBe(true);

    const excepted = await runDoctor({
      env: { ...env, no_proxy: 'internal.example, 127.0.0.0/8' },
      platform: 'linux',
    });
    expect(check(excepted, 'proxy').status).toBe('ok');
  });

  it('reads NO_PROXY as proxies do', () => {
    expect(noProxyExempts('localhost,127.0.0.1', '127.0.0.1')).toBe(true);
    expect(noProxyExempts('*', '[::1]')).toBe(true);
    expect(noProxyExempts('[::1]', '[::1]')).toBe(true);
    expect(noProxyExempts('.example.com 127.0.0.2', '127.0.0.1')).toBe(false);
    expect(noProxyExempts('localhost', '127.0.0.1')).toBe(false);
    expect(noProxyExempts('', 'localhost')).toBe(false);
  });

  it('fails without a browser and says why (SSH, CI, no display)', async () => {
    for (const [env, reason] of [
      [{ ...DESKTOP, SSH_CONNECTION: '10.0.0.1 5000 10.0.0.2 22' }, /SSH session/],
      [{ ...DESKTOP, CI: 'true' }, /CI/],
      [{ container: 'podman' }, /container/],
      [{}, /no display/],
    ] as const) {
      const report = await runDoctor({ env, platform: 'linux', browserTest: true });
      expect(check(report, 'browser.available').summary).toMatch(reason);
      expect(check(report, 'browser.available').status).toBe('fail');
      // Consent given, but there is nothing to open: not run.
      expect(check(report, 'browser.round_trip').status).toBe('skip');
      expect(report.verdict).toMatchObject({ loopbackWorks: false, fallback: '--no-browser' });
    }
  });
});

describe('login doctor against Gatehouse', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let nativeClient: string;
  let localhostClient: string;
  let productionClient: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    nativeClient = (
      await t.client({ type: 'native', name: 'CLI', redirectUris: ['http://127.0.0.1/callback'] })
    ).clientId;
    localhostClient = (
      await t.client({
        type: 'native',
        name: 'Old CLI',
        redirectUris: ['http://localhost/oauth/done'],
      })
    ).clientId;
    productionClient = (
      await t.client({
        type: 'native',
        name: 'Prod CLI',
        environment: 'production',
        redirectUris: ['http://localhost/oauth/done'],
      })
    ).clientId;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('reads the server and finds the loopback redirect URI accepted', async () => {
    const report = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      issuer: t.issuer('development'),
      clientId: nativeClient,
      allowHttpLoopbackIssuer: true,
    });
    expect(check(report, 'server.discovery').status).toBe('ok');
    expect(check(report, 'server.iss').status).toBe('ok');
    expect(check(report, 'server.pkce').status).toBe('ok');
    expect(check(report, 'server.device').status).toBe('ok');
    const registration = check(report, 'client.redirect_uri');
    expect(registration.status).toBe('ok');
    expect(registration.data).toMatchObject({ accepted: true });
    expect(String(registration.data?.redirectUri)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(report.verdict.loopbackWorks).toBe(true);
  });

  it('prints the explainer on a refused registration in development, and names --device', async () => {
    const report = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      issuer: t.issuer('development'),
      clientId: localhostClient,
      allowHttpLoopbackIssuer: true,
    });
    const registration = check(report, 'client.redirect_uri');
    expect(registration.status).toBe('fail');
    expect(registration.data?.gatehouse).toMatchObject({
      code: 'redirect_uri_mismatch',
      detailed: true,
    });
    // The explainer's own sentence: the closest registration and how the request departs from it.
    expect(registration.summary).toContain('the closest is http://localhost/oauth/done');
    expect(registration.summary).toMatch(
      /loopback host 127\.0\.0\.1 where localhost is registered/,
    );
    // Gatehouse offers the device grant, which needs no redirect URI at all.
    expect(report.verdict).toMatchObject({ loopbackWorks: false, fallback: '--device' });
  });

  it('outside development the signal names no registered URI, however close the probe', async () => {
    // The attack: a holder of the client_id probes with near misses to learn the registrations.
    for (const probe of [
      'http://localhost:5000/oauth/done/',
      'http://localhost:5000/OAuth/done',
      'http://127.0.0.1:5000/oauth/done',
    ]) {
      const url = new URL(`${t.issuer('production')}/authorize`);
      url.search = new URLSearchParams({
        client_id: productionClient,
        redirect_uri: probe,
        response_type: 'code',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state: 's',
      }).toString();
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBe(400);
      const signal = response.headers.get('gatehouse-redirect-refusal') ?? '';
      expect(JSON.parse(signal)).toMatchObject({ code: 'redirect_uri_mismatch', detailed: false });
      // Neither the header nor the page gives away the registration or the kind of difference.
      for (const text of [signal, await response.text()]) {
        expect(text).not.toContain('oauth/done');
        expect(text).not.toMatch(/trailing slash|letter case|loopback host/);
      }
    }
    const report = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      issuer: t.issuer('production'),
      clientId: productionClient,
      allowHttpLoopbackIssuer: true,
    });
    const registration = check(report, 'client.redirect_uri');
    expect(registration.status).toBe('fail');
    expect(registration.summary).toContain('(redirect_uri_mismatch)');
    expect(registration.summary).toContain('shown to operators in the console');
    expect(JSON.stringify(report)).not.toContain('oauth/done');
  });

  it("outside development says the environment's loopback policy refused the host, and only that", async () => {
    const ctx = t.ctx;
    const { updateEnvironmentSettings } = await import('@gatehouse/server');
    const policyClient = (
      await t.client({
        type: 'native',
        name: 'Policy CLI',
        environment: 'staging',
        redirectUris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
      })
    ).clientId;
    await updateEnvironmentSettings(ctx, 'staging', { loopbackHosts: ['127.0.0.1', '[::1]'] });
    const report = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      host: 'localhost',
      issuer: t.issuer('staging'),
      clientId: policyClient,
      allowHttpLoopbackIssuer: true,
    });
    const registration = check(report, 'client.redirect_uri');
    expect(registration.data?.gatehouse).toMatchObject({
      code: 'loopback_host_not_allowed',
      detailed: false,
    });
    expect(registration.summary).toContain("The environment's loopback policy does not accept");
    // The registration it would have matched is the explainer's detail: not outside development.
    expect(JSON.stringify(report)).not.toContain('localhost/callback');
    // 127.0.0.1 is allowed and registered: login with its default host works.
    const fine = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      issuer: t.issuer('staging'),
      clientId: policyClient,
      allowHttpLoopbackIssuer: true,
    });
    expect(check(fine, 'client.redirect_uri').status).toBe('ok');
  });

  it('says plainly when the client does not exist', async () => {
    const report = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      issuer: t.issuer('development'),
      clientId: 'no-such-client',
      allowHttpLoopbackIssuer: true,
    });
    const registration = check(report, 'client.redirect_uri');
    expect(registration.status).toBe('fail');
    expect(registration.data).toMatchObject({ accepted: false, status: 400 });
    expect(registration.data?.gatehouse).toBeUndefined();
  });
});

describe('login doctor against oidc-provider', () => {
  let op: OidcProviderServer;
  let pushing: OidcProviderServer;
  beforeAll(async () => {
    op = await startOidcProvider();
    pushing = await startOidcProvider({ requirePar: true });
  });
  afterAll(async () => {
    await op.close();
    await pushing.close();
  });

  it('finds the registration accepted by a harmless request whose answer it reads', async () => {
    const report = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      issuer: op.issuer,
      clientId: op.clientId,
      allowHttpLoopbackIssuer: true,
    });
    expect(check(report, 'server.discovery').status).toBe('ok');
    expect(check(report, 'server.pkce').status).toBe('ok');
    expect(check(report, 'server.iss').status).toBe('ok');
    // oidc-provider does not enable the device flow by default.
    expect(check(report, 'server.device').status).toBe('skip');
    expect(check(report, 'client.redirect_uri')).toMatchObject({
      status: 'ok',
      data: { accepted: true },
    });
    expect(report.verdict.loopbackWorks).toBe(true);
  });

  it('reads its refusal of a loopback host the client did not register, and names no fallback', async () => {
    const report = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      host: 'localhost',
      issuer: op.issuer,
      clientId: op.clientId,
      allowHttpLoopbackIssuer: true,
    });
    const registration = check(report, 'client.redirect_uri');
    expect(registration.status).toBe('fail');
    expect(registration.summary).toMatch(/redirect_uri/);
    expect(String(registration.data?.serverSays)).not.toBe('');
    // No device grant, and paste mode would send the same redirect URI: nothing would work.
    expect(report.verdict).toMatchObject({ loopbackWorks: false, fallback: null });
    expect(formatDoctorReport(report)).toContain('No fallback would');
  });

  it('probes with a push where the server requires pushed requests', async () => {
    const accepted = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      issuer: pushing.issuer,
      clientId: pushing.clientId,
      allowHttpLoopbackIssuer: true,
    });
    expect(check(accepted, 'client.redirect_uri')).toMatchObject({
      status: 'ok',
      data: { accepted: true, pushed: true },
    });
    const refused = await runDoctor({
      env: DESKTOP,
      platform: 'linux',
      host: 'localhost',
      issuer: pushing.issuer,
      clientId: pushing.clientId,
      allowHttpLoopbackIssuer: true,
    });
    expect(check(refused, 'client.redirect_uri')).toMatchObject({
      status: 'fail',
      data: { accepted: false, pushed: true },
    });
  });
});

describe('login doctor: the browser round trip in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
  });

  it('opens the test page and measures the way back to login’s own listener', async () => {
    const context = await browser.newContext();
    let landed: Promise<string> = Promise.resolve('');
    try {
      const report = await runDoctor({
        env: DESKTOP,
        platform: 'linux',
        browserTest: true,
        // As the system opener does: returns once the browser is asked, not when the page loaded.
        openBrowser: async (url) => {
          const page = await context.newPage();
          landed = page.goto(url).then(() => page.url());
          return true;
        },
      });
      const trip = check(report, 'browser.round_trip');
      expect(trip.status).toBe('ok');
      expect(trip.data).toMatchObject({ opened: true, pageReached: true, cameBack: true });
      expect(typeof trip.data?.durationMs).toBe('number');
      expect(trip.summary).toMatch(/came back to http:\/\/127\.0\.0\.1:\d+\/callback in \d+ ms/);
      expect(report.verdict.loopbackWorks).toBe(true);
      // The browser ended on login's result page, with no state left in the address bar.
      expect(await landed).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/gatehouse-login-done$/);
    } finally {
      await context.close();
    }
  });

  it('tells a way back that something stopped from a browser that never opened', async () => {
    // A proxy the browser sends loopback through too (<-loopback> drops Chromium's own
    // exception), which passes the test page but refuses the callback: an interceptor.
    const proxy = await startBlockingProxy('/callback');
    const context = await browser.newContext({
      proxy: { server: `http://127.0.0.1:${proxy.port}`, bypass: '<-loopback>' },
    });
    try {
      const report = await runDoctor({
        env: DESKTOP,
        platform: 'linux',
        browserTest: true,
        browserTimeoutMs: 3000,
        openBrowser: async (url) => {
          void (await context.newPage()).goto(url).catch(() => undefined);
          return true;
        },
      });
      const trip = check(report, 'browser.round_trip');
      expect(trip).toMatchObject({
        status: 'fail',
        data: { opened: true, pageReached: true, cameBack: false },
      });
      expect(trip.summary).toMatch(/opened the test page but did not come back/);
      expect(report.verdict).toMatchObject({ loopbackWorks: false, fallback: '--no-browser' });

      const never = await runDoctor({
        env: DESKTOP,
        platform: 'linux',
        browserTest: true,
        browserTimeoutMs: 1000,
        openBrowser: () => Promise.resolve(true),
      });
      expect(check(never, 'browser.round_trip')).toMatchObject({
        status: 'fail',
        data: { pageReached: false },
      });
      expect(proxy.refused).toBeGreaterThan(0);
    } finally {
      await context.close();
      await proxy.close();
    }
  });
});
