/**
 * The authorization server's side of revocation, played over real HTTP on loopback for the unit
 * tests of the feed follower and the introspection client: a revocation feed with cursor paging
 * (`GET /feed?after=`), an RFC 7662 introspection endpoint (`POST /introspect`), both behind HTTP
 * Basic client authentication decoded as RFC 6749 §2.3.1 says, and RFC 8414 metadata naming them
 * (on a KeyServer, which also signs the tokens). What it answers and how it fails is set by the
 * test; it records every request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KeyServer } from './key-server.js';

export interface FeedEvent {
  readonly seq: number;
  readonly kind: string;
  readonly key: string;
  /** NumericDate, seconds. */
  readonly issued_before: number;
  readonly expires_at: number;
}

export interface RecordedRequest {
  readonly authorization: string | undefined;
  /** The `after` of a feed request. */
  readonly after?: string | null;
  /** The form body of an introspection request. */
  readonly form?: URLSearchParams;
}

/** RFC 6749 §2.3.1, as an authorization server decodes it. */
export function decodeBasic(
  header: string | undefined,
): { id: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(header ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

export class RevocationServer {
  readonly clientId = 'resource:client é+1';
  readonly clientSecret = 'sëcret:with %2F and + and spaces';
  events: FeedEvent[] = [];
  /** The most events per feed page (the server's `limit`). */
  pageLimit = 1000;
  /** Answered instead of the page when not 200 (a JSON error body with `feedError`). */
  feedStatus = 200;
  feedError = 'server_error';
  /** A body to answer instead of the page (a malformed feed). */
  feedBody: unknown = undefined;
  /** What introspection says of a token; unknown tokens are inactive. */
  readonly active = new Map<string, boolean>();
  introspectionStatus = 200;
  introspectionBody: ((token: string) => unknown) | undefined = undefined;
  readonly feedRequests: RecordedRequest[] = [];
  readonly introspectionRequests: RecordedRequest[] = [];
  /** Requests being answered now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  private held: (() => void)[] = [];
  private holding = false;

  private constructor(readonly keys: KeyServer) {}

  static async start(): Promise<RevocationServer> {
    const keys = await KeyServer.start();
    await keys.rotate();
    const server = new RevocationServer(keys);
    keys.extraMetadata = {
      revocation_feed_endpoint: server.feedUrl,
      introspection_endpoint: server.introspectionUrl,
    };
    keys.routes.set('/feed', (req, res) => void server.answer(req, res, 'feed'));
    keys.routes.set('/introspect', (req, res) => void server.answer(req, res, 'introspect'));
    return server;
  }

  get issuer(): string {
    return this.keys.issuer;
  }
  get feedUrl(): string {
    return `${this.keys.origin}/feed`;
  }
  get introspectionUrl(): string {
    return `${this.keys.origin}/introspect`;
  }

  /** Adds an event with the next seq; times in seconds. */
  revoke(kind: string, key: string, issuedBefore: number, expiresAt = issuedBefore + 660): void {
    const seq = (this.events.at(-1)?.seq ?? 0) + 1;
    this.events.push({ seq, kind, key, issued_before: issuedBefore, expires_at: expiresAt });
  }

  /** From now on, requests wait for `release()` before being answered. */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const resume of this.held.splice(0)) resume();
  }

  /** A token signed by the issuer's key for `resource`, with these claims over the defaults. */
  token(resource: string, claims: Record<string, unknown> = {}): Promise<string> {
    const key = this.keys.published[0];
    if (key === undefined) throw new Error('no key');
    return KeyServer.sign(key, this.keys.claims(resource, claims));
  }

  close(): Promise<void> {
    this.release();
    return this.keys.close();
  }

  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: 'feed' | 'introspect',
  ): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      if (this.holding) await new Promise<void>((resume) => this.held.push(resume));
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(value));
      };
      const url = new URL(req.url ?? '/', 'http://x');
      const authorization = req.headers.authorization;
      if (endpoint === 'feed')
        this.feedRequests.push({ authorization, after: url.searchParams.get('after') });
      else this.introspectionRequests.push({ authorization, form: new URLSearchParams(body) });
      const client = decodeBasic(authorization);
      if (client?.id !== this.clientId || client.secret !== this.clientSecret) {
        json(401, { error: 'invalid_client', error_description: 'client authentication failed' });
        return;
      }
      if (endpoint === 'feed') {
        if (this.feedStatus !== 200) {
          json(this.feedStatus, { error: this.feedError });
          return;
        }
        if (this.feedBody !== undefined) {
          json(200, this.feedBody);
          return;
        }
        const after = Number(url.searchParams.get('after') ?? '0');
        const later = this.events.filter((event) => event.seq > after);
        const events = later.slice(0, this.pageLimit);
        json(200, {
          events,
          next: events.at(-1)?.seq ?? after,
          more: later.length > this.pageLimit,
        });
        return;
      }
      if (req.method !== 'POST') {
        json(405, { error: 'invalid_request' });
        return;
      }
      if (this.introspectionStatus !== 200) {
        json(this.introspectionStatus, { error: 'server_error' });
        return;
      }
      const token = new URLSearchParams(body).get('token') ?? '';
      json(200, this.introspectionBody?.(token) ?? { active: this.active.get(token) ?? false });
    } finally {
      this.inFlight--;
    }
  }
}
