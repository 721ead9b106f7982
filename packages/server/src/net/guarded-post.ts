import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { classifyAddress } from './address-policy.js';
import type { FetchPolicy } from './document-fetcher.js';

/** Why a POST did not reach a 2xx answer; the message names the rule, never the answer's body. */
export class GuardedPostError extends Error {
  override readonly name = 'GuardedPostError';
  constructor(
    readonly code:
      'scheme' | 'internal_address' | 'dns' | 'timeout' | 'redirect' | 'status' | 'network',
    message: string,
  ) {
    super(message);
  }
}

export interface GuardedPostOptions {
  /** The whole exchange, connection included. */
  readonly timeoutMs?: number;
  /** PEM certificates trusted besides the system's (an internal CA; a test's own CA). */
  readonly extraCa?: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** What is read of an answer at most: only its status matters. */
const MAX_ANSWER_BYTES = 4 * 1024;

/**
 * POSTs a form to a URL a client registered (a Back-Channel Logout URI), with the SSRF rules of
 * the metadata-document fetcher (net/document-fetcher.ts, RFC 9700 §4.16): https only (http only
 * to loopback when the policy allows), every resolved address judged in the connection's own DNS
 * lookup (no rebinding between check and connect), no redirects followed, a time limit for the
 * whole exchange. Resolves on a 2xx answer; anything else rejects with a GuardedPostError.
 */
export class GuardedPoster {
  private readonly timeoutMs: number;
  private readonly ca: string[] | undefined;

  constructor(options: GuardedPostOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.ca = options.extraCa === undefined ? undefined : [...rootCertificates, options.extraCa];
  }

  async postForm(
    url: URL,
    form: Readonly<Record<string, string>>,
    policy: FetchPolicy,
  ): Promise<number> {
    if (
      url.protocol !== 'https:' &&
      !(url.protocol === 'http:' && policy.allowLoopback && LOOPBACK_HOSTS.has(url.hostname))
    )
      throw new GuardedPostError('scheme', 'the URL must use https');
    // An address written in the URL is connected to without a DNS lookup: judge it here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) !== 0) refuseAddress(literal, policy, 'names');
    return this.send(url, new URLSearchParams(form).toString(), policy);
  }

  private send(url: URL, body: string, policy: FetchPolicy): Promise<number> {
    const { timeoutMs } = this;
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      const fail = (error: GuardedPostError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        reject(error);
      };
      // Checked where the socket is made: the addresses connected to are the ones judged.
      const lookup = (
        hostname: string,
        options: object,
        callback: (
          error: NodeJS.ErrnoException | null,
          address: string | LookupAddress[],
          family?: number,
        ) => void,
      ) => {
        dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
          if (error !== null) {
            callback(error, []);
            return;
          }
          try {
            for (const { address } of addresses) refuseAddress(address, policy, 'resolves to');
          } catch (refused) {
            fail(refused as GuardedPostError);
            callback(Object.assign(new Error('refused address'), { code: 'EREFUSED' }), []);
            return;
          }
          callback(null, addresses);
        });
      };
      const client = url.protocol === 'https:' ? https : http;
      const request = client.request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Gatehouse',
        },
        lookup,
        ...(url.protocol === 'https:' && this.ca !== undefined ? { ca: this.ca } : {}),
        agent: false,
      });
      const timer = setTimeout(() => {
        fail(new GuardedPostError('timeout', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          fail(new GuardedPostError('redirect', `answered ${status}; redirects are not followed`));
          return;
        }
        if (status < 200 || status >= 300) {
          fail(new GuardedPostError('status', `answered ${status}`));
          return;
        }
        // The body is drained (bounded) so the connection closes cleanly; nothing is kept.
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) response.destroy();
        });
        const done = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(status);
        };
        response.on('end', done);
        response.on('close', done);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        fail(
          error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
            ? new GuardedPostError('dns', 'the host does not resolve')
            : new GuardedPostError('network', `the connection failed (${error.code ?? 'error'})`),
        );
      });
      request.end(body);
    });
  }
}

function refuseAddress(address: string, policy: FetchPolicy, verb: 'names' | 'resolves to'): void {
  const verdict = classifyAddress(address);
  if (verdict === 'internal' || (verdict === 'loopback' && !policy.allowLoopback))
    throw new GuardedPostError(
      'internal_address',
      `the URL ${verb} ${verdict === 'loopback' ? 'this machine' : 'an internal address'}, which is never contacted`,
    );
}
