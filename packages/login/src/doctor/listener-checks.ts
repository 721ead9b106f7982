import { lookup } from 'node:dns/promises';
import { startListener, type LoopbackHost } from '../loopback-listener.js';
import { LoginError } from '../server-metadata.js';
import { listenersOn, type PortListener } from './port-owners.js';
import type { Check } from './types.js';

export interface ListenerFindings {
  readonly checks: Check[];
  /** The redirect URI the listener on `host` got (its real port), where it bound. */
  readonly redirectUri: string | undefined;
}

const HOSTS: readonly LoopbackHost[] = ['127.0.0.1', '[::1]', 'localhost'];

/**
 * Binds the listener `login` binds (startListener: exclusive, loopback only, the same path) on
 * each loopback host, on `port` where one is fixed, and closes it again. `host` is the one
 * `login` would use: only its failure stops the loopback flow; the others are for the reviewer.
 */
export async function checkListeners(
  host: LoopbackHost,
  port: number | undefined,
): Promise<ListenerFindings> {
  const checks: Check[] = [];
  let redirectUri: string | undefined;
  const resolved = await resolveLocalhost();
  for (const candidate of HOSTS) {
    const used = candidate === host;
    const outcome = await tryBind(candidate, port);
    if (outcome.ok) {
      // startListener moves to [::1] by itself where 127.0.0.1 is missing (RFC 8252 §7.3).
      const moved = candidate === '127.0.0.1' && !outcome.redirectUri.startsWith('http://127.');
      // localhost bound on one family only, and the system resolves the name to the other: a
      // browser that asks the system (rather than mapping localhost to loopback itself, as
      // Chromium and Firefox do) would find nothing listening.
      const unreachable =
        candidate === 'localhost' &&
        resolved.length > 0 &&
        !resolved.some((address) => outcome.addresses.includes(address));
      if (used) redirectUri = outcome.redirectUri;
      checks.push({
        id: `listener.${candidate}`,
        group: 'listener',
        status: moved || unreachable ? 'warn' : 'ok',
        summary: moved
          ? `no IPv4 loopback here: login moved to ${outcome.redirectUri}, which the client must have registered`
          : `bound ${outcome.redirectUri}${candidate === 'localhost' ? ` (localhost resolves to ${resolved.join(', ') || 'nothing'}; ${localhostBinding(outcome.addresses)})` : ''}${unreachable ? ': a browser that resolves localhost through the system would find nothing there (Chromium and Firefox map localhost to loopback themselves)' : ''}${used ? ' — the redirect URI login would use' : ''}`,
        data: {
          host: candidate,
          redirectUri: outcome.redirectUri,
          addresses: outcome.addresses,
          usedByLogin: used,
          ...(candidate === 'localhost' ? { resolvesTo: resolved } : {}),
        },
      });
      continue;
    }
    checks.push({
      id: `listener.${candidate}`,
      group: 'listener',
      // A host login would not use is for the record: the flow does not depend on it.
      status: used ? 'fail' : 'warn',
      summary: `cannot listen on ${candidate}${port === undefined ? '' : `:${port}`}: ${await whyNot(candidate, port, outcome.errno, resolved)}`,
      data: {
        host: candidate,
        errno: outcome.errno ?? null,
        usedByLogin: used,
        ...(candidate === 'localhost' ? { resolvesTo: resolved } : {}),
      },
    });
  }
  if (port !== undefined) checks.push(await portCheck(port));
  return { checks, redirectUri };
}

async function tryBind(
  host: LoopbackHost,
  port: number | undefined,
): Promise<
  | { ok: true; redirectUri: string; addresses: readonly string[] }
  | { ok: false; errno: string | undefined }
> {
  try {
    const listener = await startListener({ host, ...(port === undefined ? {} : { port }) });
    const { redirectUri, addresses } = listener;
    await listener.close();
    return { ok: true, redirectUri, addresses };
  } catch (error) {
    if (!(error instanceof LoginError)) throw error;
    const cause = error.cause as NodeJS.ErrnoException | undefined;
    return { ok: false, errno: cause?.code };
  }
}

/** How login binds localhost: both loopbacks, or the one this machine has. */
function localhostBinding(addresses: readonly string[]): string {
  if (addresses.length > 1) return 'login binds 127.0.0.1 and ::1';
  return addresses[0] === '::1'
    ? 'login binds ::1 alone: there is no IPv4 loopback (127.0.0.1) here'
    : 'login binds 127.0.0.1 alone: IPv6 loopback (::1) is off here';
}

/** What `localhost` resolves to here: login does not ask (it binds both loopbacks), the browser does. */
async function resolveLocalhost(): Promise<string[]> {
  try {
    return (await lookup('localhost', { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

async function whyNot(
  host: LoopbackHost,
  port: number | undefined,
  errno: string | undefined,
  resolved: readonly string[],
): Promise<string> {
  if (errno === 'EADDRNOTAVAIL') {
    if (host === '127.0.0.1') return 'EADDRNOTAVAIL: this machine has no IPv4 loopback address';
    return host === 'localhost'
      ? `EADDRNOTAVAIL: login binds 127.0.0.1 or ::1 for localhost, and neither is available (is the loopback interface down?); localhost resolves to ${resolved.join(', ') || 'nothing'}`
      : 'EADDRNOTAVAIL: IPv6 loopback (::1) is not available: IPv6 is off, or the loopback interface has no ::1';
  }
  if (errno === 'EAFNOSUPPORT') return 'EAFNOSUPPORT: IPv6 is not supported by this kernel';
  if (errno === 'EADDRINUSE' && port !== undefined) {
    const listeners = await listenersOn(port);
    return `EADDRINUSE: port ${port} is taken${listeners === undefined || listeners.length === 0 ? '' : ` by ${listeners.map(describeListener).join('; ')}`}`;
  }
  if (errno === 'EACCES' && port !== undefined)
    return `EACCES: this user may not listen on port ${port}${port < 1024 ? ' (ports below 1024 need privileges)' : ' (a security policy refuses it)'}`;
  return errno ?? 'unknown error';
}

function describeListener(listener: PortListener): string {
  const where =
    listener.scope === 'all'
      ? `a listener on all interfaces (${listener.address}), reachable from the network`
      : listener.scope === 'loopback'
        ? `a loopback-only listener (${listener.address})`
        : `a listener on ${listener.address}`;
  return `${where}${listener.process === undefined ? '' : `${listener.scope === 'all' ? ',' : ''} held by ${listener.process.command} (pid ${listener.process.pid})`}`;
}

/**
 * A fixed port is the same for every sign-in, so whatever else listens there is called out even
 * where our bind works (on some systems a more specific bind wins over a wildcard one, and the
 * other program still takes the connections the browser makes to the other address family).
 */
async function portCheck(port: number): Promise<Check> {
  const listeners = await listenersOn(port);
  if (listeners === undefined)
    return {
      id: 'listener.port',
      group: 'listener',
      status: 'skip',
      summary: `who else listens on port ${port} cannot be read here (Linux /proc only)`,
    };
  const wide = listeners.filter((l) => l.scope === 'all');
  const data = {
    port,
    listeners: listeners.map((l) => ({
      address: l.address,
      scope: l.scope,
      ...(l.process === undefined ? {} : { pid: l.process.pid, command: l.process.command }),
    })),
  };
  if (listeners.length === 0)
    return {
      id: 'listener.port',
      group: 'listener',
      status: 'ok',
      summary: `nothing else listens on port ${port}`,
      data,
    };
  return {
    id: 'listener.port',
    group: 'listener',
    status: wide.length > 0 ? 'fail' : 'warn',
    summary: `port ${port} is held by ${listeners.map(describeListener).join('; ')}${wide.length > 0 ? ': a program listening on all interfaces could receive the authorization code, and anyone on the network could reach it' : ''}`,
    data,
  };
}
