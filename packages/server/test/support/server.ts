import { createHash, randomBytes } from 'node:crypto';
import { resolveServerConfig, startServer, type RunningServer } from '../../src/index.js';
import { createClient, type ClientSpec } from '../../src/services/clients.js';
import type { ServiceContext } from '../../src/services/context.js';
import { createUser } from '../../src/services/users.js';
import type { ThrowawayDatabase } from './databases.js';

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly ctx: ServiceContext;
  issuer(environment: string): string;
  client(
    spec: Omit<ClientSpec, 'environment'> & { environment?: string },
  ): Promise<{ clientId: string; clientSecret?: string }>;
  user(email: string, password: string, environment?: string): Promise<string>;
  /** POSTs a form to the token endpoint and returns the JSON answer with its status. */
  tokenRequest(form: Record<string, string>, environment?: string): Promise<TokenReply>;
  close(): Promise<void>;
}

export interface TokenReply {
  readonly status: number;
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly error?: string;
  readonly error_description?: string;
}

/** Seals the signing keys of PostgreSQL test servers (SQLite ones make their own file). */
export const TEST_SECRET_KEY = 'gatehouse-test-secret-key-0123456789abcdef';

/** A real server on an ephemeral loopback port, on a throwaway database. */
export async function startTestServer(
  database: ThrowawayDatabase,
  options: {
    logStream?: { write(line: string): void };
    clock?: () => number;
    /** --trust-proxy, as the CLI passes it. */
    trustProxy?: string;
    /** Stands in for the sign-in slowdown's waits. */
    pause?: (ms: number) => Promise<void>;
    /** Back-Channel Logout delivery: how often the queue is read, the retry delays. */
    logoutDeliveries?: { intervalMs?: number; retryDelaysMs?: readonly number[] };
    /** Redirect URI usage counts: between flushes, and the size that flushes at once. */
    redirectUsage?: { intervalMs?: number; maxKeys?: number };
  } = {},
): Promise<TestServer> {
  const target = database.target;
  const config = resolveServerConfig(
    {
      ...(target.kind === 'sqlite'
        ? { port: 0, dataDir: target.file.replace(/\/gatehouse\.sqlite$/, '') }
        : { port: 0, databaseUrl: target.url, secretKey: TEST_SECRET_KEY }),
      ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    },
    process.cwd(),
  );
  const server = await startServer(config, {
    ...(options.logStream === undefined ? { logger: false } : { logStream: options.logStream }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.pause === undefined ? {} : { pause: options.pause }),
    ...(options.logoutDeliveries === undefined
      ? {}
      : { logoutDeliveries: options.logoutDeliveries }),
    ...(options.redirectUsage === undefined ? {} : { redirectUsage: options.redirectUsage }),
  });
  const ctx: ServiceContext = {
    stores: server.stores,
    clock: options.clock ?? Date.now,
    actor: 'admin:test',
  };
  return {
    server,
    url: server.url,
    ctx,
    issuer: (environment) => `${server.url}/e/${environment}`,
    async client(spec) {
      const created = await createClient(ctx, { environment: 'development', ...spec });
      return created.clientSecret === undefined
        ? { clientId: created.client.clientId }
        : { clientId: created.client.clientId, clientSecret: created.clientSecret };
    },
    async user(email, password, environment = 'development') {
      return (await createUser(ctx, { environment, email, password })).id;
    },
    async tokenRequest(form, environment = 'development') {
      const response = await fetch(`${server.url}/e/${environment}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
      });
      return {
        status: response.status,
        ...((await response.json()) as Omit<TokenReply, 'status'>),
      };
    },
    close: () => server.close(),
  };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Cookies by name, enough for one site. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line))
        this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * Drives the hosted pages over plain HTTP, as a browser without JavaScript would: for the many
 * negative tests that do not need a real browser. The browser tests use Chromium.
 */
export class FormBrowser {
  readonly jar = new CookieJar();

  constructor(private readonly base: string) {}

  async get(path: string): Promise<Response> {
    const response = await fetch(new URL(path, this.base), {
      redirect: 'manual',
      headers: { cookie: this.jar.header(), accept: 'text/html' },
    });
    this.jar.store(response);
    return response;
  }

  async post(path: string, form: Record<string, string>): Promise<Response> {
    const response = await fetch(new URL(path, this.base), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: this.jar.header(),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
      },
      body: new URLSearchParams(form),
    });
    this.jar.store(response);
    return response;
  }

  /** Follows redirects within the server; stops at the first Location outside it and returns it. */
  async follow(response: Response): Promise<{ location?: string; last: Response }> {
    let current = response;
    for (let hops = 0; hops < 10; hops++) {
      const location = current.headers.get('location');
      if (location === null) return { last: current };
      const target = new URL(location, this.base);
      if (target.origin !== new URL(this.base).origin) return { location, last: current };
      current = await this.get(target.pathname + target.search);
    }
    throw new Error('too many redirects');
  }

  static csrf(html: string): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    if (match?.[1] === undefined) throw new Error('no CSRF token on the page');
    return match[1];
  }

  /**
   * Where the page's decision form posts: the consent page and the confirmation page each to their
   * own (an impersonation banner's form on the same page is not it).
   */
  static action(html: string): string {
    for (const [, action = '', form = ''] of html.matchAll(
      /<form method="post" action="([^"]+)"([\s\S]*?)<\/form>/g,
    ))
      if (form.includes('name="decision"')) return action;
    throw new Error('no decision form on the page');
  }

  /** The hidden fields of the page's form: the CSRF token and the pending request it is for. */
  static fields(html: string): { _csrf: string; interaction?: string } {
    const interaction = /name="interaction" value="([^"]+)"/.exec(html)?.[1];
    return interaction === undefined
      ? { _csrf: FormBrowser.csrf(html) }
      : { _csrf: FormBrowser.csrf(html), interaction };
  }

  /** The device page: type the code, sign in, decide. Returns the final page's text. */
  async approveDevice(
    userCode: string,
    email: string,
    password: string,
    decision: 'allow' | 'deny' = 'allow',
    environment = 'development',
  ): Promise<string> {
    const hiddenCode = (html: string) => /name="user_code" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const entry = await (await this.get(`/e/${environment}/device`)).text();
    let page = await (
      await this.post(`/e/${environment}/device`, {
        _csrf: FormBrowser.csrf(entry),
        user_code: userCode,
      })
    ).text();
    if (page.includes('name="password"')) {
      page = await (
        await this.post(`/e/${environment}/device/login`, {
          ...FormBrowser.fields(page),
          user_code: hiddenCode(page),
          email,
          password,
        })
      ).text();
    }
    if (!page.includes('name="decision"'))
      throw new Error(`expected the device consent page: ${page.slice(0, 300)}`);
    return (
      await this.post(`/e/${environment}/device/consent`, {
        ...FormBrowser.fields(page),
        user_code: hiddenCode(page),
        decision,
      })
    ).text();
  }

  /**
   * Authorize and sign in, stopping at the decision page (consent or confirmation): returns its
   * text, for a test that decides itself or changes something while the page is open.
   */
  async signInUntilDecision(
    query: Record<string, string>,
    email: string,
    password: string,
    environment = 'development',
  ): Promise<string> {
    const started = await this.follow(
      await this.get(`/e/${environment}/authorize?${new URLSearchParams(query).toString()}`),
    );
    const signedIn = await this.follow(
      await this.post(`/e/${environment}/login`, {
        ...FormBrowser.fields(await started.last.text()),
        email,
        password,
      }),
    );
    return signedIn.last.text();
  }

  /**
   * Authorize, sign in, consent (or confirm, for a public client already consented to): returns
   * where the server finally sends the browser.
   */
  async authorize(
    query: Record<string, string>,
    email: string,
    password: string,
    environment = 'development',
  ): Promise<string> {
    const start = await this.get(
      `/e/${environment}/authorize?${new URLSearchParams(query).toString()}`,
    );
    let { location, last } = await this.follow(start);
    if (location !== undefined) return location;
    if (last.url.endsWith('/login') || (await last.clone().text()).includes('name="password"')) {
      const fields = FormBrowser.fields(await last.text());
      ({ location, last } = await this.follow(
        await this.post(`/e/${environment}/login`, { ...fields, email, password }),
      ));
      if (location !== undefined) return location;
    }
    const page = await last.text();
    if (!page.includes('name="decision"'))
      throw new Error(`expected the consent page, got ${last.status}: ${page.slice(0, 300)}`);
    ({ location } = await this.follow(
      await this.post(FormBrowser.action(page), {
        ...FormBrowser.fields(page),
        decision: 'allow',
      }),
    ));
    if (location === undefined) throw new Error('no redirect after consent');
    return location;
  }
}
