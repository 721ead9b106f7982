import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { decodeJwt } from 'jose';
import { Agent, fetch as undiciFetch, type Response } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig, startServer, type RunningServer } from '../src/index.js';
import { createClient } from '../src/services/clients.js';
import type { ServiceContext } from '../src/services/context.js';
import { createUser } from '../src/services/users.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { freePort } from './support/processes.js';
import { codeRequest } from './support/oauth.js';
import { FormBrowser } from './support/server.js';

/**
 * Issue #14: Gatehouse behind a real nginx (Debian's package; `.ci/run` installs it) terminating
 * TLS with a throwaway certificate on loopback, as docs/deployment.md configures it. Through the
 * proxy: the issuer is the https base URL, a sign-in through the hosted pages works and its
 * cookies are Secure (the CSRF cookie with the __Host- prefix), and the sign-in limiter counts
 * each client by the address nginx forwards, not by nginx's own.
 */

const NGINX = '/usr/sbin/nginx';
const PASSWORD = 'nginx test pass phrase';
const REDIRECT = 'https://app.example.com/cb';

/** A browser without JavaScript behind one client address, trusting the throwaway CA. */
class ProxiedBrowser {
  private readonly cookies = new Map<string, string>();
  readonly setCookies: string[] = [];
  private readonly dispatcher: Agent;

  constructor(
    private readonly base: string,
    ca: string,
    localAddress: string,
  ) {
    this.dispatcher = new Agent({ localAddress, connect: { ca } });
  }

  async request(
    path: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const response = await undiciFetch(new URL(path, this.base), {
      method: init.method ?? (init.form === undefined ? 'GET' : 'POST'),
      redirect: 'manual',
      dispatcher: this.dispatcher,
      headers: {
        accept: 'text/html',
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...init.headers,
      },
      ...(init.form === undefined ? {} : { body: new URLSearchParams(init.form).toString() }),
    });
    for (const line of response.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(pair.slice(0, eq).trim());
      else this.cookies.set(pair.slice(0, eq).trim(), value);
    }
    return response;
  }

  /** Follows redirects that stay on this server; returns the last answer and any way out. */
  async follow(response: Response): Promise<{ last: Response; location?: string }> {
    let current = response;
    for (let hops = 0; hops < 10; hops++) {
      const location = current.headers.get('location');
      if (location === null) return { last: current };
      const url = new URL(location, this.base);
      if (url.origin !== new URL(this.base).origin) return { last: current, location };
      await current.arrayBuffer();
      current = await this.request(url.pathname + url.search);
    }
    throw new Error('too many redirects');
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) {
        reject(new Error(`nginx exited with ${String(child.exitCode)}: ${log()}`));
        return;
      }
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen: ${log()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

describe('behind nginx with TLS', () => {
  let dir: string;
  let ca: string;
  let nginx: ChildProcess | undefined;
  let nginxLog = '';
  let database: ThrowawayDatabase;
  let server: RunningServer | undefined;
  let base: string;
  let ctx: ServiceContext;
  let clientId = '';
  const browsers: ProxiedBrowser[] = [];
  const browser = (address: string): ProxiedBrowser => {
    const created = new ProxiedBrowser(base, ca, address);
    browsers.push(created);
    return created;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const nginxPort = await freePort();
    base = `https://127.0.0.1:${nginxPort}`;

    database = await throwawaySqlite();
    const dataDir = database.target.kind === 'sqlite' ? join(database.target.file, '..') : '';
    // As docs/deployment.md says: the public https URL, and nginx (on loopback) as the one proxy.
    server = await startServer(
      resolveServerConfig(
        { port: '0', dataDir, baseUrl: base, trustProxy: '127.0.0.1' },
        process.cwd(),
      ),
      { logger: false },
    );
    const upstream = (server.app.server.address() as { port: number }).port;
    ctx = { stores: server.stores, clock: Date.now, actor: 'admin:test' };

    for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      mkdirSync(join(dir, temp), { recursive: true });
    // The server block of docs/deployment.md, on a loopback port with the throwaway certificate.
    writeFileSync(
      join(dir, 'nginx.conf'),
      `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${nginxPort} ssl;
    server_name 127.0.0.1;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://127.0.0.1:${upstream};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
}
`,
    );
    nginx = spawn(
      NGINX,
      [
        '-p',
        dir,
        '-c',
        join(dir, 'nginx.conf'),
        '-g',
        `daemon off; pid ${dir}/nginx.pid; error_log stderr;`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    nginx.stderr?.on('data', (chunk: Buffer) => {
      nginxLog += chunk.toString();
    });
    await waitForPort(nginxPort, nginx, () => nginxLog);
  });

  afterAll(async () => {
    for (const b of browsers) await b.close();
    if (nginx !== undefined && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the https issuer', async () => {
    const alice = browser('127.0.0.2');
    const response = await alice.request('/e/development/.well-known/openid-configuration', {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(200);
    const metadata = (await response.json()) as Record<string, string>;
    expect(metadata.issuer).toBe(`${base}/e/development`);
    expect(metadata.token_endpoint).toBe(`${base}/e/development/token`);
  });

  it('signs in through the hosted pages with Secure cookies, and the code flow completes', async () => {
    await createUser(ctx, {
      environment: 'development',
      email: 'alice@example.com',
      password: PASSWORD,
    });
    const created = await createClient(ctx, {
      environment: 'development',
      type: 'web',
      name: 'behind nginx',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      skipConsent: true,
    });
    clientId = created.client.clientId;
    const alice = browser('127.0.0.2');
    const request = codeRequest(created.client.clientId, REDIRECT, 'openid email');
    const started = await alice.follow(
      await alice.request(
        `/e/development/authorize?${new URLSearchParams(request.query).toString()}`,
      ),
    );
    const loginPage = await started.last.text();
    expect(loginPage).toContain('name="password"');
    const signedIn = await alice.follow(
      await alice.request('/e/development/login', {
        form: { ...FormBrowser.fields(loginPage), email: 'alice@example.com', password: PASSWORD },
      }),
    );
    expect(signedIn.location).toBeDefined();
    const back = new URL(signedIn.location ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('iss')).toBe(`${base}/e/development`);

    // Every cookie the server set through the proxy is Secure; the CSRF one is __Host- prefixed.
    expect(alice.setCookies.length).toBeGreaterThan(0);
    // (A cookie being deleted, set to nothing, carries no attribute that matters.)
    for (const line of alice.setCookies.filter((l) => !/^[^=]+=;/.test(l)))
      expect(line).toMatch(/;\s*Secure/i);
    const names = alice.setCookies.map((line) => line.slice(0, line.indexOf('=')));
    expect(names).toContain('__Host-gh_csrf');
    expect(names).toContain('gh_session');
    for (const line of alice.setCookies.filter((l) => l.startsWith('__Host-')))
      expect(line).toMatch(/;\s*Path=\/(;|$)/i);

    const token = await undiciFetch(`${base}/e/development/token`, {
      method: 'POST',
      dispatcher: new Agent({ connect: { ca } }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code') ?? '',
        code_verifier: request.verifier,
        redirect_uri: REDIRECT,
        client_id: created.client.clientId,
        client_secret: created.clientSecret ?? '',
      }).toString(),
    });
    expect(token.status).toBe(200);
    const tokens = (await token.json()) as { access_token: string; id_token: string };
    expect(decodeJwt(tokens.id_token).iss).toBe(`${base}/e/development`);
    expect(decodeJwt(tokens.access_token).iss).toBe(`${base}/e/development`);
  });

  it("counts failed sign-ins by the client's forwarded address, not nginx's", async () => {
    await createUser(ctx, {
      environment: 'development',
      email: 'bob@example.com',
      password: PASSWORD,
    });
    const attempt = async (from: ProxiedBrowser, password: string, spoof?: string) => {
      const request = codeRequest(clientId, REDIRECT, 'openid');
      const started = await from.follow(
        await from.request(
          `/e/development/authorize?${new URLSearchParams(request.query).toString()}`,
        ),
      );
      const html = await started.last.text();
      const answer = await from.request('/e/development/login', {
        form: { ...FormBrowser.fields(html), email: 'bob@example.com', password },
        ...(spoof === undefined ? {} : { headers: { 'x-forwarded-for': spoof } }),
      });
      await answer.arrayBuffer();
      return answer.status;
    };
    // From 127.0.0.2, claiming other addresses in X-Forwarded-For: nginx appends the real one, and
    // Gatehouse believes only what its trusted proxy (nginx) added.
    const mallory = browser('127.0.0.2');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(await attempt(mallory, 'wrong password', `198.51.100.${String(i)}`));
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
    // The account's owner, from another address, is not locked out by it.
    const bob = browser('127.0.0.3');
    const ok = await attempt(bob, PASSWORD);
    expect([200, 303]).toContain(ok);

    // The limiter's keys name the client addresses, never nginx's 127.0.0.1 nor the spoofed ones.
    const sqlite = new SQLite(database.target.kind === 'sqlite' ? database.target.file : '', {
      readonly: true,
    });
    const keys = sqlite.prepare('select key from attempt_counters').pluck().all() as string[];
    sqlite.close();
    expect(keys.some((k) => k.includes('127.0.0.2'))).toBe(true);
    expect(keys.some((k) => k.includes('127.0.0.1'))).toBe(false);
    expect(keys.some((k) => k.includes('198.51.100.'))).toBe(false);
  });
});
