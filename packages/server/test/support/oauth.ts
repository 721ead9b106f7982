import { decodeProtectedHeader } from 'jose';
import { CookieJar, FormBrowser, pkce } from './server.js';

/**
 * The OAuth side of the multi-process tests: a confidential client and a browser that can send
 * each request to any process of a deployment (one issuer, one database, several addresses).
 */

const REQUEST_TIMEOUT_MS = 15_000;

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface Tokens {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
}

async function form(
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
    // A request that hangs is a failure to report, not a test that times out.
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    body = { text };
  }
  return { status: response.status, body };
}

/** A web (confidential) client, talking to whichever process `base` names. */
export class WebClient {
  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    readonly environment = 'development',
  ) {}

  private endpoint(base: string, name: string): string {
    return `${base}/e/${this.environment}/${name}`;
  }

  private get basic(): Record<string, string> {
    const credentials = `${encodeURIComponent(this.clientId)}:${encodeURIComponent(this.clientSecret)}`;
    return { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
  }

  token(base: string, fields: Record<string, string>, secret = this.clientSecret): Promise<Reply> {
    return form(this.endpoint(base, 'token'), {
      ...fields,
      client_id: this.clientId,
      client_secret: secret,
    });
  }

  redeem(base: string, code: string, verifier: string, redirectUri: string): Promise<Reply> {
    return this.token(base, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    });
  }

  refresh(base: string, refreshToken: string): Promise<Reply> {
    return this.token(base, { grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  clientCredentials(base: string, secret = this.clientSecret): Promise<Reply> {
    return this.token(base, { grant_type: 'client_credentials' }, secret);
  }

  revoke(base: string, token: string): Promise<Reply> {
    return form(this.endpoint(base, 'revoke'), { token }, this.basic);
  }

  introspect(base: string, token: string): Promise<Reply> {
    return form(this.endpoint(base, 'introspect'), { token }, this.basic);
  }

  /** Whether introspection on `base` says the token is active (throws on anything but 200). */
  async active(base: string, token: string): Promise<boolean> {
    const reply = await this.introspect(base, token);
    if (reply.status !== 200)
      throw new Error(`introspection answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body.active === true;
  }
}

export async function userinfo(
  base: string,
  accessToken: string,
  environment = 'development',
): Promise<Reply> {
  const response = await fetch(`${base}/e/${environment}/userinfo`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function jwksKids(base: string, environment = 'development'): Promise<string[]> {
  const response = await fetch(`${base}/e/${environment}/jwks`);
  if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
  const jwks = (await response.json()) as { keys: { kid?: string }[] };
  return jwks.keys.map((k) => k.kid ?? '');
}

export function kidOf(jwt: string): string {
  return decodeProtectedHeader(jwt).kid ?? '';
}

export function tokensOf(reply: Reply): Tokens {
  if (reply.status !== 200 || typeof reply.body.access_token !== 'string')
    throw new Error(`expected tokens, got ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body as unknown as Tokens;
}

/**
 * The hosted pages over plain HTTP, like FormBrowser, but each request may go to another
 * process: cookies (the session, the pending request, the CSRF secret) live in the shared
 * database or are stateless, so a browser behind a load balancer may land anywhere.
 */
export class Browser {
  readonly jar = new CookieJar();

  constructor(
    public base: string,
    readonly environment = 'development',
  ) {}

  /** Sends the next requests to `base`. */
  on(base: string): this {
    this.base = base;
    return this;
  }

  async get(path: string): Promise<Response> {
    const response = await fetch(new URL(path, this.base), {
      redirect: 'manual',
      headers: { cookie: this.jar.header(), accept: 'text/html' },
    });
    this.jar.store(response);
    return response;
  }

  async post(path: string, fields: Record<string, string>): Promise<Response> {
    const response = await fetch(new URL(path, this.base), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: this.jar.header(),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
      },
      body: new URLSearchParams(fields),
    });
    this.jar.store(response);
    return response;
  }

  /** Follows redirects on this server; stops at the first absolute Location and returns it. */
  async follow(response: Response): Promise<{ location?: string; last: Response }> {
    let current = response;
    for (let hops = 0; hops < 10; hops++) {
      const location = current.headers.get('location');
      if (location === null) return { last: current };
      if (/^[a-z][a-z0-9+.-]*:/i.test(location)) return { location, last: current };
      current = await this.get(location);
    }
    throw new Error('too many redirects');
  }

  authorizePath(query: Record<string, string>): string {
    return `/e/${this.environment}/authorize?${new URLSearchParams(query).toString()}`;
  }

  /** Starts an authorization; returns the redirect out of the server, or the page it stopped on. */
  async start(query: Record<string, string>): Promise<{ location?: string; page: Response }> {
    const { location, last } = await this.follow(await this.get(this.authorizePath(query)));
    return location === undefined ? { page: last } : { location, page: last };
  }

  /** Submits the sign-in form of `page` (a login page). */
  async signIn(page: string, email: string, password: string): Promise<Response> {
    return this.post(`/e/${this.environment}/login`, {
      ...FormBrowser.fields(page),
      email,
      password,
    });
  }

  /**
   * Authorize, sign in when asked, consent (or confirm) when asked: returns where the server sends
   * the browser in the end. `steps` says which process serves each step (default: this.base).
   */
  async authorize(
    query: Record<string, string>,
    email: string,
    password: string,
    steps: { login?: string; consent?: string } = {},
  ): Promise<string> {
    const first = this.base;
    const started = await this.start(query);
    if (started.location !== undefined) return started.location;
    let last = started.page;
    let html = await last.text();
    if (html.includes('name="password"')) {
      this.on(steps.login ?? first);
      const followed = await this.follow(await this.signIn(html, email, password));
      if (followed.location !== undefined) return this.back(first, followed.location);
      last = followed.last;
      html = await last.text();
    }
    if (!html.includes('name="decision"'))
      throw new Error(`expected the consent page, got ${last.status}: ${html.slice(0, 300)}`);
    this.on(steps.consent ?? first);
    // The consent page, or the confirmation page of a public client already consented to.
    const { location } = await this.follow(
      await this.post(FormBrowser.action(html), {
        ...FormBrowser.fields(html),
        decision: 'allow',
      }),
    );
    if (location === undefined) throw new Error('no redirect after consent');
    return this.back(first, location);
  }

  private back(base: string, location: string): string {
    this.on(base);
    return location;
  }
}

/** A fresh authorization request for `clientId`, with its PKCE verifier. */
export function codeRequest(
  clientId: string,
  redirectUri: string,
  scope = 'openid email offline_access',
): { query: Record<string, string>; verifier: string; state: string } {
  const { verifier, challenge } = pkce();
  const state = `s${Math.random().toString(36).slice(2)}`;
  return {
    verifier,
    state,
    query: {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    },
  };
}

/** The code (and iss, state) of a redirect back to the client; throws on an error redirect. */
export function codeFrom(location: string): { code: string; iss: string | null; state: string } {
  const url = new URL(location);
  const code = url.searchParams.get('code');
  if (code === null) throw new Error(`no code in the redirect: ${location}`);
  return { code, iss: url.searchParams.get('iss'), state: url.searchParams.get('state') ?? '' };
}
