import { openInBrowser } from '../browser.js';
import type { LoopbackHost } from '../loopback-listener.js';
import type { ServerOptions } from '../server-metadata.js';
import { checkBrowserRoundTrip } from './browser-round-trip.js';
import { checkBrowserAvailable, checkProxy } from './interception-checks.js';
import { checkListeners } from './listener-checks.js';
import { checkServer } from './server-checks.js';
import type { Check, DoctorReport, DoctorVerdict, Fallback } from './types.js';

export interface DoctorOptions extends ServerOptions {
  /** The loopback host login would use (its --host); default 127.0.0.1. */
  readonly host?: LoopbackHost;
  /** A fixed port (login's --port); default any free port. */
  readonly port?: number;
  /** Checks the server too: discovery, RFC 9207, PKCE, the device grant. */
  readonly issuer?: string | URL;
  /** With `issuer`: whether this client's registration accepts the loopback redirect URI. */
  readonly clientId?: string;
  /** Default process.env: proxy variables, and whether a browser can be opened. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly platform?: NodeJS.Platform;
  /**
   * The user agreed to have a browser opened on a local test page. Without it the round trip is
   * not run (it opens a window the user did not ask for).
   */
  readonly browserTest?: boolean;
  /** Replaces the system browser opener (tests drive a headless browser). */
  readonly openBrowser?: (url: string) => Promise<unknown>;
  /** How long the round trip may take; default 60 s. */
  readonly browserTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * `login doctor`: what would stop a loopback sign-in (RFC 8252 §7.3) on this machine, before
 * anyone signs in. Each check is independent; the verdict is whether `login` would work, and
 * where not, which fallback would.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const host = options.host ?? '127.0.0.1';
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const checks: Check[] = [];

  const listeners = await checkListeners(host, options.port);
  checks.push(...listeners.checks);
  // Where the listener cannot bind, the registration is still checked with the URI login would
  // send: a server matches a loopback redirect URI on any port (RFC 8252 §7.3), so any port does.
  const redirectUri = listeners.redirectUri ?? `http://${host}:${options.port ?? 49152}/callback`;

  checks.push(checkProxy(env, host));
  const browser = checkBrowserAvailable(env, platform);
  checks.push(browser);
  const listenerWorks = listeners.redirectUri !== undefined;
  if (options.browserTest !== true)
    checks.push({
      id: 'browser.round_trip',
      group: 'interception',
      status: 'skip',
      summary:
        'not run: it opens a browser on a local test page, which needs your consent (--browser-test)',
    });
  else if (!listenerWorks || (browser.status === 'fail' && options.openBrowser === undefined))
    checks.push({
      id: 'browser.round_trip',
      group: 'interception',
      status: 'skip',
      summary: listenerWorks
        ? 'not run: no browser can be opened here'
        : 'not run: the listener cannot bind',
    });
  else
    checks.push(
      await checkBrowserRoundTrip({
        host,
        ...(options.port === undefined ? {} : { port: options.port }),
        openBrowser: options.openBrowser ?? openInBrowser,
        ...(options.browserTimeoutMs === undefined ? {} : { timeoutMs: options.browserTimeoutMs }),
      }),
    );

  let deviceGrant: boolean | undefined;
  if (options.issuer !== undefined) {
    const server = await checkServer(String(options.issuer), options.clientId, redirectUri, {
      ...(options.allowHttpLoopbackIssuer === undefined
        ? {}
        : { allowHttpLoopbackIssuer: options.allowHttpLoopbackIssuer }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    checks.push(...server.checks);
    if (server.checks.some((c) => c.id === 'server.discovery' && c.status === 'ok'))
      deviceGrant = server.deviceGrant;
  }

  return {
    format: 'gatehouse-login-doctor/1',
    generatedAt: new Date().toISOString(),
    platform: `${platform} ${process.arch}`,
    node: process.version,
    login: {
      host,
      port: options.port ?? null,
      redirectUri:
        options.port === undefined
          ? `http://${host}:<any free port>/callback`
          : `http://${host}:${options.port}/callback`,
    },
    issuer: options.issuer === undefined ? null : String(options.issuer),
    clientId: options.clientId ?? null,
    checks,
    verdict: verdictOf(checks, deviceGrant),
  };
}

/**
 * The loopback flow works where no check failed. Otherwise the device grant where the server
 * offers it (nothing on this machine takes part but the terminal), else paste mode, which needs
 * no listener and no browser here but the same redirect URI and a server that answers.
 */
export function verdictOf(
  checks: readonly Check[],
  deviceGrant: boolean | undefined,
): DoctorVerdict {
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length === 0) return { loopbackWorks: true, fallback: null, reasons: [] };
  const serverSide = failed.some(
    (c) => c.id === 'client.redirect_uri' || c.id.startsWith('server.'),
  );
  let fallback: Fallback | null = null;
  if (deviceGrant === true) fallback = '--device';
  else if (!serverSide) fallback = '--no-browser';
  return { loopbackWorks: false, fallback, reasons: failed.map((c) => c.summary) };
}
