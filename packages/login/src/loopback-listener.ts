import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoginError } from './server-metadata.js';
import { FRAMING_HEADERS, PAGE_HEADERS, resultPage, strayPage } from './pages.js';

export type LoopbackHost = '127.0.0.1' | '[::1]' | 'localhost';

export interface ListenerOptions {
  /**
   * Default `127.0.0.1` (RFC 8252 §8.3). `localhost` binds both 127.0.0.1 and [::1], or the one
   * of them this machine has (IPv6 loopback off, or no IPv4 loopback).
   */
  readonly host?: LoopbackHost;
  /** Default 0: an ephemeral port chosen by the OS. */
  readonly port?: number;
  /** Default `/callback`. */
  readonly path?: string;
}

/** What the listener hands over: the callback URL with the expected state, once. */
export interface CallbackListener {
  readonly redirectUri: string;
  /** The addresses bound: one, or for `localhost` 127.0.0.1 and ::1 where both exist. */
  readonly addresses: readonly string[];
  /**
   * Resolves with the first callback whose `state` equals `expectedState`. The browser is held
   * until `finish` is called, then sent (303) to a clean result page.
   */
  waitForCallback(expectedState: string, signal: AbortSignal): Promise<URL>;
  finish(ok: boolean, detail: string): void;
  close(): Promise<void>;
}

const DONE_PATH = '/gatehouse-login-done';

/**
 * Binds before anything else (RFC 8252 §7.3), on loopback only. Answers only GET on the exact
 * callback path with the Host it was given; anything else is refused and does not end the flow.
 */
export async function startListener(options: ListenerOptions = {}): Promise<CallbackListener> {
  const path = options.path ?? '/callback';
  if (!path.startsWith('/') || path.includes('?') || path.includes('#'))
    throw new TypeError('the callback path must start with / and have no query or fragment');
  const requestedHost = options.host ?? '127.0.0.1';
  // Loopback only, whatever a caller passes (RFC 8252 §8.3).
  if (!['127.0.0.1', '[::1]', 'localhost'].includes(requestedHost))
    throw new TypeError('the listener host must be 127.0.0.1, [::1] or localhost');
  const bindHosts =
    requestedHost === 'localhost'
      ? ['127.0.0.1', '::1']
      : [requestedHost === '[::1]' ? '::1' : requestedHost];

  let expected: string | undefined;
  let deliver: ((url: URL) => void) | undefined;
  let held: ServerResponse | undefined;
  let outcome: { ok: boolean; detail: string } | undefined;
  let allowedHost = '';
  let doneServed: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (doneServed = resolve));

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, { ...PAGE_HEADERS, ...headers });
      response.end(body);
    };
    // A page on another site can make the browser request 127.0.0.1, but not with our Host header
    // through DNS rebinding: the Host must be exactly the one in the redirect URI.
    if (request.headers.host !== allowedHost) {
      send(400, resultPage(false, 'Unexpected host.'));
      return;
    }
    if (request.method !== 'GET') {
      send(405, resultPage(false, 'Only GET is accepted here.'), { allow: 'GET' });
      return;
    }
    let url: URL;
    try {
      url = new URL(request.url ?? '/', `http://${allowedHost}`);
    } catch {
      // A malformed request line from any local process must not end the sign-in.
      send(400, resultPage(false, 'Malformed request.'));
      return;
    }
    if (url.pathname === DONE_PATH && outcome !== undefined) {
      send(outcome.ok ? 200 : 400, resultPage(outcome.ok, outcome.detail), { connection: 'close' });
      doneServed();
      return;
    }
    if (url.pathname !== path) {
      send(404, resultPage(false, 'Not found.'));
      return;
    }
    if (
      deliver === undefined ||
      expected === undefined ||
      url.searchParams.get('state') !== expected ||
      held !== undefined
    ) {
      // Wrong or missing state, or a second callback: refuse, keep waiting.
      send(400, strayPage());
      return;
    }
    held = response;
    deliver(url);
  };

  const servers: Server[] = [];
  const addresses: string[] = [];
  let port = options.port ?? 0;
  let missing: { error: unknown } | undefined;
  for (const bindHost of bindHosts) {
    const server = createServer(handler);
    server.keepAliveTimeout = 1000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: bindHost, port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // localhost where one loopback family is missing (IPv6 off: EADDRNOTAVAIL on ::1, or a
      // kernel without IPv6): the other one alone. The browser resolves localhost to the
      // addresses this machine has and falls back between them. Only an address that exists is
      // ever skipped: a port taken on either family still fails below (whoever holds it there
      // would get the callback of a browser that tries that family first).
      if (requestedHost === 'localhost' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
        missing = { error };
        continue;
      }
      await Promise.all(servers.map((s) => closeServer(s)));
      if (code === 'EADDRINUSE') {
        throw new LoginError(
          `port ${port} on ${bindHost} is in use; choose another with --port, or leave the port out to use any free one`,
          'port_in_use',
          { cause: error },
        );
      }
      if (
        code === 'EADDRNOTAVAIL' &&
        bindHost === '127.0.0.1' &&
        requestedHost === '127.0.0.1' &&
        options.port === undefined
      ) {
        // No IPv4 loopback on this machine: fall back to [::1] (RFC 8252 §7.3 allows either).
        return startListener({ ...options, host: '[::1]' });
      }
      throw new LoginError(
        `cannot listen on ${bindHost}:${port}: ${code ?? 'unknown error'}`,
        'listen_failed',
        { cause: error },
      );
    }
    servers.push(server);
    addresses.push(bindHost);
    port = (server.address() as AddressInfo).port;
  }
  if (servers.length === 0 && missing !== undefined) {
    // Neither 127.0.0.1 nor ::1 exists here.
    const code = (missing.error as NodeJS.ErrnoException).code;
    throw new LoginError(
      `cannot listen on localhost${port === 0 ? '' : `:${port}`}: neither 127.0.0.1 nor ::1 is available (${code ?? 'unknown error'})`,
      'listen_failed',
      { cause: missing.error },
    );
  }
  allowedHost = `${requestedHost}:${port}`;

  return {
    redirectUri: `http://${allowedHost}${path}`,
    addresses,
    waitForCallback(expectedState, signal) {
      expected = expectedState;
      return new Promise<URL>((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason as Error);
          return;
        }
        signal.addEventListener(
          'abort',
          () => {
            reject(signal.reason as Error);
          },
          { once: true },
        );
        deliver = resolve;
      });
    },
    finish(ok, detail) {
      outcome = { ok, detail };
      // 303 to a clean URL, so the code never stays in the address bar or history.
      if (held !== undefined && !held.headersSent) {
        held.writeHead(303, {
          ...FRAMING_HEADERS,
          location: DONE_PATH,
          'cache-control': 'no-store',
          'referrer-policy': 'no-referrer',
        });
        held.end();
      }
    },
    async close() {
      // Give the browser a moment to fetch the result page it was just sent to.
      if (held !== undefined)
        await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      await Promise.all(servers.map((s) => closeServer(s)));
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    // Browsers keep connections alive: without this the listener would linger.
    server.closeAllConnections();
  });
}
