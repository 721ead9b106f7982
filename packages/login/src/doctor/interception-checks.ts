import { browserUnavailableReason } from '../browser.js';
import type { Check } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

const PROXY_VARIABLES = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'ALL_PROXY',
  'all_proxy',
];

/**
 * Proxy variables the browser (launched from this shell, as login does) may take: a callback to
 * the loopback listener sent through a proxy reaches the proxy's machine, or a proxy that logs
 * URLs, with the authorization code in it. Most browsers never proxy loopback on their own, but
 * that is their setting, not ours; a NO_PROXY entry for the host makes it explicit.
 */
export function checkProxy(env: Env, host: string): Check {
  const set = PROXY_VARIABLES.filter((name) => (env[name] ?? '') !== '');
  const noProxy = env.NO_PROXY ?? env.no_proxy ?? '';
  if (set.length === 0)
    return {
      id: 'proxy',
      group: 'interception',
      status: 'ok',
      summary: 'no proxy variable is set (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY)',
      data: { variables: [] },
    };
  const excepted = exempts(noProxy, host);
  return {
    id: 'proxy',
    group: 'interception',
    status: excepted ? 'ok' : 'warn',
    summary: excepted
      ? `${set.join(', ')} set, and NO_PROXY exempts ${host}`
      : `${set.join(', ')} set and NO_PROXY has no exception for ${host}: a browser that takes these variables would send the callback, code included, through the proxy; add ${host === '[::1]' ? '::1' : host} to NO_PROXY`,
    // The proxy URLs can carry credentials (user:password@): only the variables' names.
    data: { variables: set, noProxyExemptsLoopback: excepted },
  };
}

/** Whether NO_PROXY (comma- or space-separated) names `host`: exactly, `*`, or a loopback range. */
export function exempts(noProxy: string, host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return noProxy
    .split(/[,\s]+/)
    .map((entry) =>
      entry
        .trim()
        .toLowerCase()
        .replace(/^\[|\](:\d+)?$/g, '')
        .replace(/^\./, ''),
    )
    .some((entry) => {
      if (entry === '*' || entry === bare) return true;
      if (bare === '127.0.0.1') return entry === '127.0.0.0/8' || entry === '127.0.0.1/32';
      if (bare === '::1') return entry === '::1/128';
      return entry === 'localhost' && bare === 'localhost';
    });
}

/** Whether login would open a browser here at all (login's own rule: browserAvailable). */
export function checkBrowserAvailable(env: Env, platform: NodeJS.Platform): Check {
  const reason = browserUnavailableReason(env, platform);
  return reason === undefined
    ? {
        id: 'browser.available',
        group: 'interception',
        status: 'ok',
        summary: 'a browser can be opened here (no SSH session, container or CI; a display is set)',
      }
    : {
        id: 'browser.available',
        group: 'interception',
        status: 'fail',
        summary: `login would not open a browser: ${reason}`,
        data: { reason },
      };
}
