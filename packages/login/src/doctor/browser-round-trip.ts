import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { startListener, type LoopbackHost } from '../loopback-listener.js';
import { PAGE_HEADERS } from '../pages.js';
import type { Check } from './types.js';

export interface RoundTripOptions {
  readonly host: LoopbackHost;
  readonly port?: number;
  /** Opens the URL in the browser; resolves false where it could not. */
  readonly openBrowser: (url: string) => Promise<unknown>;
  /** Default 60 s. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The way back, measured: login's own listener (startListener, on the host and port login would
 * use) waits for a callback; a stand-in for the authorization server on another loopback port
 * serves the test URL the browser is opened on and redirects it to the callback, as a server
 * does once the user signed in; the browser ends on login's own result page. Nothing is signed in and no code exists. Whether the page was reached
 * and whether the callback came tell apart a browser that never opened from a way back that
 * something (an extension, a proxy, an endpoint agent) stopped.
 */
export async function checkBrowserRoundTrip(options: RoundTripOptions): Promise<Check> {
  const listener = await startListener({
    host: options.host,
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  const state = randomBytes(16).toString('base64url');
  const callback = `${listener.redirectUri}?state=${state}&doctor=1`;
  let pageReachedAt: number | undefined;
  const standIn = createServer((request, response) => {
    if (request.method !== 'GET' || !request.url?.startsWith(`/gatehouse-doctor/${state}`)) {
      response.writeHead(404, PAGE_HEADERS).end();
      return;
    }
    pageReachedAt ??= performance.now();
    // As an authorization server sends the browser back (RFC 6749 §4.1.2): a redirect.
    response.writeHead(303, {
      ...PAGE_HEADERS,
      location: callback,
      'cache-control': 'no-store',
    });
    response.end();
  });
  standIn.keepAliveTimeout = 1000;
  // On the address family the listener got (where IPv4 loopback is missing, ::1): the stand-in
  // must bind wherever the listener could.
  const standInHost = listener.addresses[0] ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  // Waiting before the browser opens: an opener may return only once the page has loaded.
  const cameBack = listener.waitForCallback(state, signal);
  cameBack.catch(() => undefined);
  let started: number;
  try {
    // Inside the try: whatever fails, the listener is closed (an open one keeps the CLI running).
    await new Promise<void>((resolve, reject) => {
      standIn.once('error', reject);
      standIn.listen({ host: standInHost, port: 0 }, resolve);
    });
    const port = (standIn.address() as AddressInfo).port;
    const page = `http://${standInHost.includes(':') ? `[${standInHost}]` : standInHost}:${port}/gatehouse-doctor/${state}`;
    started = performance.now();
    // The opener may resolve only once the page loaded, which is after the callback is answered:
    // whichever comes first.
    const opening = Promise.resolve(options.openBrowser(page));
    opening.catch(() => undefined);
    const opened = await Promise.race([opening, cameBack.then(() => true)]);
    if (opened === false)
      return {
        id: 'browser.round_trip',
        group: 'interception',
        status: 'fail',
        summary: 'the browser could not be opened (no browser, or the system opener failed)',
        data: { opened: false },
      };
    await cameBack;
    const ms = Math.round(performance.now() - started);
    listener.finish(
      true,
      'The browser came back to the terminal: a loopback sign-in can work here. You can close this tab.',
    );
    return {
      id: 'browser.round_trip',
      group: 'interception',
      status: 'ok',
      summary: `the browser opened the test page and came back to ${listener.redirectUri} in ${ms} ms`,
      data: {
        opened: true,
        pageReached: true,
        cameBack: true,
        durationMs: ms,
        pageMs: pageReachedAt === undefined ? null : Math.round(pageReachedAt - started),
      },
    };
  } catch (error) {
    if (!standIn.listening)
      return {
        id: 'browser.round_trip',
        group: 'interception',
        status: 'skip',
        summary: `not run: the local test page could not be served on ${standInHost} (${error instanceof Error ? error.message : 'unknown error'})`,
      };
    const reached = pageReachedAt !== undefined;
    return {
      id: 'browser.round_trip',
      group: 'interception',
      status: 'fail',
      summary: reached
        ? `the browser opened the test page but did not come back to ${listener.redirectUri} within ${Math.round(timeoutMs / 1000)} s: something between the browser and this machine's loopback (an extension, a proxy, an endpoint agent, a firewall) stopped the way back`
        : `the browser did not open the test page within ${Math.round(timeoutMs / 1000)} s`,
      data: { opened: true, pageReached: reached, cameBack: false, timeoutMs },
    };
  } finally {
    await listener.close();
    if (standIn.listening)
      await new Promise<void>((resolve) => {
        standIn.close(() => {
          resolve();
        });
        standIn.closeAllConnections();
      });
  }
}
