import { rootCertificates } from 'node:tls';
import { guardedRequest, type FetchPolicy, type GuardRefusal } from './guarded-request.js';

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

/** What is read of an answer at most: only its status matters. */
const MAX_ANSWER_BYTES = 4 * 1024;

/**
 * POSTs a form to a URL a client registered (a Back-Channel Logout URI) through the SSRF guard the
 * metadata-document fetcher uses (net/guarded-request.ts, RFC 9700 §4.16): https only (http only
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

  postForm(url: URL, form: Readonly<Record<string, string>>, policy: FetchPolicy): Promise<number> {
    const body = new URLSearchParams(form).toString();
    return guardedRequest<number, GuardedPostError>(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Gatehouse',
        },
        body,
        policy,
        timeoutMs: this.timeoutMs,
        ca: this.ca,
        refused: refusedPost,
      },
      (response, { resolve, fail }) => {
        const status = response.statusCode ?? 0;
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
        response.on('end', () => {
          resolve(status);
        });
        response.on('close', () => {
          resolve(status);
        });
      },
    );
  }
}

/** The guard's refusals (net/guarded-request.ts), in a delivery's words. */
function refusedPost(refusal: GuardRefusal): GuardedPostError {
  switch (refusal.code) {
    case 'scheme':
      return new GuardedPostError('scheme', 'the URL must use https');
    case 'internal_address':
      return new GuardedPostError(
        'internal_address',
        `the URL ${refusal.via} ${refusal.target}, which is never contacted`,
      );
    case 'dns':
      return new GuardedPostError('dns', 'the host does not resolve');
    case 'timeout':
      return new GuardedPostError('timeout', `no answer within ${refusal.timeoutMs} ms`);
    case 'redirect':
      return new GuardedPostError(
        'redirect',
        `answered ${refusal.status}; redirects are not followed`,
      );
    case 'network':
      return new GuardedPostError('network', `the connection failed (${refusal.errno ?? 'error'})`);
  }
}
