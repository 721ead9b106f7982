import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { classifyAddress } from './address-policy.js';

export interface FetchPolicy {
  /** Development only: loopback addresses (http or https) may be reached, for local tests. */
  readonly allowLoopback: boolean;
}

/** Why the guard stopped an exchange; each caller words it for its own error type. */
export type GuardRefusal =
  | { readonly code: 'scheme' }
  | {
      readonly code: 'internal_address';
      /** `names`: an address written in the URL; `resolves to`: one its host resolved to. */
      readonly via: 'names' | 'resolves to';
      readonly target: 'this machine' | 'an internal address';
    }
  | { readonly code: 'dns' }
  | { readonly code: 'timeout'; readonly timeoutMs: number }
  | { readonly code: 'redirect'; readonly status: number }
  | { readonly code: 'network'; readonly errno: string | undefined };

export interface GuardedRequest<E extends Error> {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly policy: FetchPolicy;
  /** The whole exchange, connection included. */
  readonly timeoutMs: number;
  /** Certificates trusted for https (the system's plus any extra), or undefined for Node's own. */
  readonly ca: string[] | undefined;
  /** The caller's error for a refusal of the guard. */
  readonly refused: (refusal: GuardRefusal) => E;
}

/** How the caller's response handler ends the exchange. */
export interface Settle<T, E extends Error> {
  readonly resolve: (value: T) => void;
  readonly fail: (error: E) => void;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * One HTTP exchange with a URL a client chose, without letting the URL reach inside the network
 * (SSRF, RFC 9700 §4.16; the Client ID Metadata Document draft's and Back-Channel Logout 1.0
 * §2.5's security considerations): https only (http only to loopback when the policy allows),
 * every resolved address judged in the connection's own DNS lookup (so a second answer cannot
 * rebind it between check and connect), no redirects followed, a time limit for the whole
 * exchange, the body included. The shared core of net/document-fetcher.ts (GET a small JSON
 * document) and net/guarded-post.ts (POST a logout token): `onResponse` gets a non-redirect
 * answer and settles the exchange.
 */
export function guardedRequest<T, E extends Error>(
  url: URL,
  options: GuardedRequest<E>,
  onResponse: (response: IncomingMessage, settle: Settle<T, E>) => void,
): Promise<T> {
  const { policy, refused } = options;
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && policy.allowLoopback && LOOPBACK_HOSTS.has(url.hostname))
  )
    return Promise.reject(refused({ code: 'scheme' }));
  // An address written in the URL is connected to without a DNS lookup: judge it here.
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0) {
    const refusal = judge(literal, policy, 'names');
    if (refusal !== undefined) return Promise.reject(refused(refusal));
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const fail = (error: E) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const succeed = (value: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    // Checked where the socket is made: the addresses connected to are the ones judged.
    const lookup = (
      hostname: string,
      lookupOptions: object,
      callback: (
        error: NodeJS.ErrnoException | null,
        address: string | LookupAddress[],
        family?: number,
      ) => void,
    ) => {
      dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
        if (error !== null) {
          callback(error, []);
          return;
        }
        for (const { address } of addresses) {
          const refusal = judge(address, policy, 'resolves to');
          if (refusal !== undefined) {
            fail(refused(refusal));
            callback(Object.assign(new Error('refused address'), { code: 'EREFUSED' }), []);
            return;
          }
        }
        callback(null, addresses);
      });
    };
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(url, {
      method: options.method,
      headers: options.headers,
      lookup,
      ...(url.protocol === 'https:' && options.ca !== undefined ? { ca: options.ca } : {}),
      agent: false,
    });
    const timer = setTimeout(() => {
      fail(refused({ code: 'timeout', timeoutMs: options.timeoutMs }));
    }, options.timeoutMs);
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        fail(refused({ code: 'redirect', status }));
        return;
      }
      onResponse(response, { resolve: succeed, fail });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      fail(
        refused(
          error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
            ? { code: 'dns' }
            : { code: 'network', errno: error.code },
        ),
      );
    });
    request.end(options.body);
  });
}

function judge(
  address: string,
  policy: FetchPolicy,
  via: 'names' | 'resolves to',
): GuardRefusal | undefined {
  const verdict = classifyAddress(address);
  if (verdict === 'internal' || (verdict === 'loopback' && !policy.allowLoopback))
    return {
      code: 'internal_address',
      via,
      target: verdict === 'loopback' ? 'this machine' : 'an internal address',
    };
  return undefined;
}
