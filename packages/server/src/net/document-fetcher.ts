import { rootCertificates } from 'node:tls';
import { guardedRequest, type FetchPolicy, type GuardRefusal } from './guarded-request.js';

export type { FetchPolicy } from './guarded-request.js';

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
    const text = await this.get(url, policy);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new DocumentFetchError('json', 'the document is not JSON');
    }
  }

  private get(url: URL, policy: FetchPolicy): Promise<string> {
    const { timeoutMs, maxBytes } = this.limits;
    return guardedRequest<string, DocumentFetchError>(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'Gatehouse' },
        policy,
        timeoutMs,
        ca: this.ca,
        refused: refusedDocument,
      },
      (response, { resolve, fail }) => {
        const status = response.statusCode ?? 0;
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
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
        response.on('error', () => {
          fail(new DocumentFetchError('network', 'the document could not be read'));
        });
      },
    );
  }
}

/** The guard's refusals (net/guarded-request.ts), in a document fetch's words. */
function refusedDocument(refusal: GuardRefusal): DocumentFetchError {
  switch (refusal.code) {
    case 'scheme':
      return new DocumentFetchError('scheme', 'the document URL must use https');
    case 'internal_address':
      return new DocumentFetchError(
        'internal_address',
        refusal.via === 'names'
          ? `the document URL names ${refusal.target}, which is never fetched`
          : `the document's host resolves to ${refusal.target}, which is never fetched`,
      );
    case 'dns':
      return new DocumentFetchError('dns', "the document's host does not resolve");
    case 'timeout':
      return new DocumentFetchError(
        'timeout',
        `the document did not arrive within ${refusal.timeoutMs} ms`,
      );
    case 'redirect':
      return new DocumentFetchError(
        'redirect',
        'the document URL redirects; redirects are not followed',
      );
    case 'network':
      return new DocumentFetchError('network', 'the document could not be fetched');
  }
}
