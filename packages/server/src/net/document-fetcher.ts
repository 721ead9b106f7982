import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { classifyAddress } from './address-policy.js';

/** Why a document could not be fetched; the message names the rule, never the content. */
export class DocumentFetchError extends Error {
  override readonly name = 'DocumentFetchError';
  constructor(
    readonly code:
      | 'scheme'
      | 'internal_address'
      | 'dns'
      | 'timeout'
      | 'too_large'
      | 'redirect'
      | 'status'
      | 'content_type'
      | 'json'
      | 'network',
    message: string,
  ) {
    super(message);
  }
}

export interface FetchLimits {
  /** The whole exchange, connection included. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export interface FetchPolicy {
  /** Development only: loopback addresses (http or https) may be fetched, for local tests. */
  readonly allowLoopback: boolean;
}

export interface DocumentFetcherOptions {
  readonly limits?: Partial<FetchLimits>;
  /** PEM certificates trusted besides the system's (an internal CA; a test's own CA). */
  readonly extraCa?: string;
}

export const DEFAULT_LIMITS: FetchLimits = { timeoutMs: 3000, maxBytes: 5 * 1024 };

/**
 * Fetches a small JSON document from a URL a client chose, without letting the URL reach inside
 * the network (SSRF, RFC 9700 §4.16 and the Client ID Metadata Document draft's security
 * considerations): https only (http only to loopback when allowed), every resolved address
 * checked in the connection's own DNS lookup (so a second answer cannot rebind it), no redirects
 * followed, a time limit for the whole exchange and a size limit on the body.
 */
export class DocumentFetcher {
  private readonly limits: FetchLimits;
  private readonly ca: string[] | undefined;

  constructor(options: DocumentFetcherOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.ca = options.extraCa === undefined ? undefined : [...rootCertificates, options.extraCa];
  }

  async fetchJson(url: URL, policy: FetchPolicy): Promise<unknown> {
    const loopbackHost =
      url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
    if (
      url.protocol !== 'https:' &&
      !(url.protocol === 'http:' && policy.allowLoopback && loopbackHost)
    )
      throw new DocumentFetchError('scheme', 'the document URL must use https');
    // An address written in the URL is connected to without a DNS lookup: judge it here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) !== 0) {
      const verdict = classifyAddress(literal);
      if (verdict === 'internal' || (verdict === 'loopback' && !policy.allowLoopback))
        throw new DocumentFetchError(
          'internal_address',
          `the document URL names ${verdict === 'loopback' ? 'this machine' : 'an internal address'}, which is never fetched`,
        );
    }
    const text = await this.get(url, policy);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new DocumentFetchError('json', 'the document is not JSON');
    }
  }

  private get(url: URL, policy: FetchPolicy): Promise<string> {
    const { timeoutMs, maxBytes } = this.limits;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const fail = (error: DocumentFetchError) => {
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
          for (const { address } of addresses) {
            const verdict = classifyAddress(address);
            if (verdict === 'internal' || (verdict === 'loopback' && !policy.allowLoopback)) {
              fail(
                new DocumentFetchError(
                  'internal_address',
                  `the document's host resolves to ${verdict === 'loopback' ? 'this machine' : 'an internal address'}, which is never fetched`,
                ),
              );
              callback(Object.assign(new Error('refused address'), { code: 'EREFUSED' }), []);
              return;
            }
          }
          callback(null, addresses);
        });
      };
      const client = url.protocol === 'https:' ? https : http;
      const request = client.request(url, {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'Gatehouse' },
        lookup,
        ...(url.protocol === 'https:' && this.ca !== undefined ? { ca: this.ca } : {}),
        agent: false,
      });
      const timer = setTimeout(() => {
        fail(
          new DocumentFetchError('timeout', `the document did not arrive within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          fail(
            new DocumentFetchError(
              'redirect',
              'the document URL redirects; redirects are not followed',
            ),
          );
          return;
        }
        if (status !== 200) {
          fail(new DocumentFetchError('status', `the document URL answered ${status}`));
          return;
        }
        const type = response.headers['content-type'] ?? '';
        if (!/^application\/(json|[a-z0-9.+-]+\+json)\s*(;|$)/i.test(type)) {
          fail(
            new DocumentFetchError(
              'content_type',
              'the document is not served as application/json',
            ),
          );
          return;
        }
        const declared = Number(response.headers['content-length'] ?? '0');
        if (declared > maxBytes) {
          fail(
            new DocumentFetchError('too_large', `the document is larger than ${maxBytes} bytes`),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            fail(
              new DocumentFetchError('too_large', `the document is larger than ${maxBytes} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
        response.on('error', () => {
          fail(new DocumentFetchError('network', 'the document could not be read'));
        });
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        fail(
          error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
            ? new DocumentFetchError('dns', "the document's host does not resolve")
            : new DocumentFetchError('network', 'the document could not be fetched'),
        );
      });
      request.end();
    });
  }
}
