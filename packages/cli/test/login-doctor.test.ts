/**
 * `gatehouse login doctor`: the real program against Gatehouse and oidc-provider, with a port
 * held by another listener, without a browser, with a proxy variable, with IPv6 loopback off (a
 * network namespace, the built CLI run inside it), and its browser round trip in Chromium.
 */
import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '@gatehouse/login';
import {
  startOidcProvider,
  type OidcProviderServer,
} from '../../login/test/support/oidc-provider.js';
import { codeFlowMetadata, listenAsIssuer } from '../../login/test/support/issuer.js';
import { launchChromium } from '../../server/test/support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from '../../server/test/support/databases.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { gatehouse } from './harness.js';

const DESKTOP = { DISPLAY: ':0' };

/** `gatehouse login doctor` for `clientId` at `issuer` (plain http on loopback), on a desktop. */
function doctorOf(issuer: string, clientId: string, ...extra: string[]) {
  return gatehouse(
    [
      'login',
      'doctor',
      '--issuer',
      issuer,
      '--client-id',
      clientId,
      '--allow-http-loopback',
      ...extra,
    ],
    { env: DESKTOP },
  );
}

function statusOf(report: DoctorReport, id: string): string | undefined {
  return report.checks.find((c) => c.id === id)?.status;
}

describe('gatehouse login doctor', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let op: OidcProviderServer;
  let nativeClient: string;
  let localhostClient: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    op = await startOidcProvider();
    nativeClient = (
      await t.client({ type: 'native', name: 'CLI', redirectUris: ['http://127.0.0.1/callback'] })
    ).clientId;
    localhostClient = (
      await t.client({ type: 'native', name: 'Old CLI', redirectUris: ['http://localhost/cb'] })
    ).clientId;
  });
  afterAll(async () => {
    await op.close();
    await t.close();
    await db.drop();
  });

  it('reports a machine and a Gatehouse client where the loopback sign-in works, exit 0', async () => {
    const result = await doctorOf(t.issuer('development'), nativeClient);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}ok {4}client\.redirect_uri +the registration of /m);
    expect(result.stdout).toContain('ok    server.iss');
    expect(result.stdout).toContain(
      'Verdict: the loopback sign-in (gatehouse login) would work here.',
    );
  });

  it('exits 1 on a registration Gatehouse refuses, with its reason and the --device fallback', async () => {
    const result = await doctorOf(t.issuer('development'), localhostClient, '--json');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.format).toBe('gatehouse-login-doctor/1');
    expect(report.verdict.fallback).toBe('--device');
    expect(report.verdict.reasons.join('\n')).toContain(
      'the closest is http://localhost/cb, and the request uses the loopback host 127.0.0.1',
    );
  });

  it('checks a server that is not Gatehouse: oidc-provider', async () => {
    const ok = await doctorOf(op.issuer, op.clientId);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('--    server.device');
    const refused = await doctorOf(op.issuer, op.clientId, '--host', 'localhost');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/FAIL {2}client\.redirect_uri .*invalid_redirect_uri/);
    expect(refused.stdout).toContain('No fallback would: fix the failures above first.');
  });

  it('exits 1 when another program holds the fixed port, naming it and paste mode', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen({ host: '::', port: 0 }, resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const result = await gatehouse(['login', 'doctor', '--port', String(port)], { env: DESKTOP });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        new RegExp(
          `FAIL {2}listener\\.port +port ${port} is held by a listener on all interfaces \\(::\\)`,
        ),
      );
      expect(result.stdout).toContain('Use instead: gatehouse login --no-browser');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('exits 1 without a browser, and warns of a proxy without a loopback exception', async () => {
    const result = await gatehouse(['login', 'doctor', '--json'], {
      env: {
        SSH_CONNECTION: '192.0.2.1 50000 192.0.2.2 22',
        HTTPS_PROXY: 'http://proxy.example:3128',
      },
    });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(statusOf(report, 'browser.available')).toBe('fail');
    expect(statusOf(report, 'proxy')).toBe('warn');
    expect(report.verdict.fallback).toBe('--no-browser');
    // A proxy alone is a warning: the same machine with a display passes.
    const desktop = await gatehouse(['login', 'doctor'], {
      env: { ...DESKTOP, http_proxy: 'http://proxy.example:3128' },
    });
    expect(desktop.code).toBe(0);
    expect(desktop.stdout).toContain('WARN  proxy');
  });

  it('refuses a proxy variable that is no URL by its name, never repeating it (it may hold a password)', async () => {
    const env = { ...DESKTOP, HTTPS_PROXY: 'http://user:s3cret pw@proxy host:3128' };
    for (const args of [
      ['login', 'doctor', '--issuer', t.issuer('development'), '--allow-http-loopback', '--json'],
      ['login', '--issuer', t.issuer('development'), '--client-id', nativeClient],
    ]) {
      const result = await gatehouse(args, { env });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'gatehouse: error: HTTPS_PROXY is not a URL such as http://proxy.example:3128; fix or unset it\n',
      );
    }
  });

  it('opens no browser without consent: asks on a terminal, never in a pipe', async () => {
    const asked: string[] = [];
    const declined = await gatehouse(['login', 'doctor'], {
      env: DESKTOP,
      tty: true,
      lines: (prompt?: string) => {
        asked.push(prompt ?? '');
        return Promise.resolve('n');
      },
    });
    expect(declined.code).toBe(0);
    expect(asked).toEqual([
      'Open your browser on a local test page to check that it comes back here? [y/N] ',
    ]);
    expect(declined.stdout).toContain('--    browser.round_trip');
    const piped = await gatehouse(['login', 'doctor'], { env: DESKTOP });
    expect(piped.stdout).toContain('needs your consent (--browser-test)');
  });

  it("never writes a hostile server's terminal controls, in the report or in --json", async () => {
    // A server whose refusal page carries a C1 CSI (\u009b: recolours or rewrites the terminal)
    // and a right-to-left override (\u202e: makes text read backwards).
    const hostile = createHttpServer((request, response) => {
      if (request.url?.startsWith('/.well-known/')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(codeFlowMetadata(issuer)));
        return;
      }
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ error: 'invalid_request', error_description: 'x\u009b2J\u202eevil' }),
      );
    });
    const issuer = await listenAsIssuer(hostile);
    try {
      for (const extra of [[], ['--json']]) {
        const result = await doctorOf(issuer, 'c', ...extra);
        expect(result.code).toBe(1);
        expect(result.stdout).toContain('invalid_request');
        expect(result.stdout).not.toMatch(/[\u009b\u202e]/);
      }
    } finally {
      await new Promise((resolve) => hostile.close(resolve));
    }
  });

  it('refuses --client-id without --issuer, and login still needs --issuer', async () => {
    const doctor = await gatehouse(['login', 'doctor', '--client-id', 'x'], { env: DESKTOP });
    expect(doctor.code).toBe(2);
    expect(doctor.stderr).toBe(
      'gatehouse: error: --client-id needs --issuer: the registration is checked at that server\n',
    );
    const login = await gatehouse(['login', '--client-id', 'x'], { env: DESKTOP });
    expect(login.code).toBe(2);
    expect(login.stderr).toBe("gatehouse: error: required option '--issuer <url>' not specified\n");
  });

  it("refuses login's options before 'doctor' instead of running without them", async () => {
    // They would be login's, so the doctor would run with no server and the default port.
    const misplaced = await gatehouse(
      ['login', '--issuer', 'https://auth.example.com', '--port', '8400', 'doctor'],
      { env: DESKTOP },
    );
    expect(misplaced.code).toBe(2);
    expect(misplaced.stdout).toBe('');
    expect(misplaced.stderr).toBe(
      'gatehouse: error: --issuer, --port before "doctor" belong to login; put them after it: gatehouse login doctor --issuer ...\n',
    );
  });
});

describe('gatehouse login doctor --browser-test in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
  });

  it('opens the printed test page in the browser and reports the way back', async () => {
    const context = await browser.newContext();
    let opened: Promise<unknown> = Promise.resolve();
    let stdout = '';
    let stderr = '';
    const { run } = await import('../src/program.js');
    try {
      const code = await run(['login', 'doctor', '--browser-test', '--no-open', '--json'], {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: {
          write: (text: string) => {
            stderr += text;
            const url = /http:\/\/127\.0\.0\.1:\d+\/gatehouse-doctor\/\S+/.exec(text)?.[0];
            if (url !== undefined) opened = context.newPage().then((page) => page.goto(url));
            return true;
          },
        },
        readStdin: () => Promise.resolve(''),
        readLine: () => Promise.resolve(''),
        env: DESKTOP,
        cwd: process.cwd(),
        waitForStop: () => Promise.resolve(),
      });
      await opened;
      expect(stderr).toContain('Open this URL in the browser you sign in with');
      expect(code).toBe(0);
      const trip = (JSON.parse(stdout) as DoctorReport).checks.find(
        (c) => c.id === 'browser.round_trip',
      );
      expect(trip).toMatchObject({ status: 'ok', data: { cameBack: true } });
    } finally {
      await context.close();
    }
  });
});

describe('gatehouse login doctor with IPv6 loopback off', () => {
  const launcher = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

  /** The built CLI in a new network namespace: lo up, IPv6 disabled on it. */
  function inNamespace(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    return new Promise((resolve) => {
      execFile(
        'unshare',
        [
          // A user namespace too (-r): root in it may configure its own network namespace, so
          // this runs unprivileged as well (CI runners), not only as root.
          '-rn',
          'sh',
          '-c',
          `ip link set lo up && sysctl -qw net.ipv6.conf.lo.disable_ipv6=1 && exec '${process.execPath}' '${launcher}' ${quoted}`,
        ],
        { env: { PATH: process.env.PATH ?? '', DISPLAY: ':0' } },
        (error, stdout, stderr) => {
          resolve({
            code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
            stdout,
            stderr,
          });
        },
      );
    });
  }

  it('says ::1 is not available, that localhost binds 127.0.0.1 alone, and that 127.0.0.1 works', async () => {
    const result = await inNamespace(['login', 'doctor', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorReport;
    const v6 = report.checks.find((c) => c.id === 'listener.[::1]');
    expect(v6).toMatchObject({ status: 'warn', data: { errno: 'EADDRNOTAVAIL' } });
    expect(v6?.summary).toContain('IPv6 loopback (::1) is not available');
    const localhost = report.checks.find((c) => c.id === 'listener.localhost');
    expect(localhost).toMatchObject({ status: 'ok', data: { addresses: ['127.0.0.1'] } });
    expect(localhost?.summary).toContain(
      'login binds 127.0.0.1 alone: IPv6 loopback (::1) is off here',
    );
    expect(statusOf(report, 'listener.127.0.0.1')).toBe('ok');
  });

  it('exits 0 where login would use localhost: it binds 127.0.0.1 alone', async () => {
    const result = await inNamespace(['login', 'doctor', '--host', 'localhost', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.verdict.loopbackWorks).toBe(true);
    expect(report.checks.find((c) => c.id === 'listener.localhost')).toMatchObject({
      status: 'ok',
      data: { usedByLogin: true, addresses: ['127.0.0.1'] },
    });
  });

  it('exits 1 where login would use [::1], naming paste mode', async () => {
    const result = await inNamespace(['login', 'doctor', '--host', '[::1]']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /FAIL {2}listener\.\[::1\] +cannot listen on \[::1\]: EADDRNOTAVAIL/,
    );
    expect(result.stdout).toContain('Use instead: gatehouse login --no-browser');
  });
});
