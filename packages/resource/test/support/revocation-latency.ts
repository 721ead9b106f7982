/**
 * What the revocation latency test measures with: an API on `node:http` protected by two resource
 * servers (one following the revocation feed, one introspecting), a transparent proxy in front of
 * the introspection endpoint that records every question and its answer, and watchers that poll
 * the API with one token until it is refused, checking at every answer that the bound the mode
 * promises holds. The bounds are checked by the order of events (a feed read begun after the
 * revoking answer; a cached answer still in its lifetime), never by elapsed time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { createResourceServer, type ResourceServer } from '../../src/index.js';
import { requireBearer } from '../../src/node.js';

/** Milliseconds since the epoch with sub-millisecond resolution, monotonic: orders events exactly. */
export const preciseClock = (): number => performance.timeOrigin + performance.now();

export type Mode = 'feed' | 'introspection';

/** What the API says a refusal is, per mode (the middleware's fixed descriptions). */
export const REFUSAL: Readonly<Record<Mode, string>> = {
  feed: 'the access token has been revoked',
  introspection: 'the access token is not active',
};

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One introspection question as the proxy saw it. */
export interface Question {
  /** When the question reached the proxy (it reached the server after that). */
  readonly receivedAt: number;
  readonly active: boolean;
}

/**
 * Forwards RFC 7662 requests unchanged to the server's introspection endpoint and records, per
 * token `jti`, when each question arrived and what the server answered.
 */
export class IntrospectionProxy {
  private readonly questions = new Map<string, Question[]>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<IntrospectionProxy> {
    const holder: { proxy?: IntrospectionProxy } = {};
    const server = createServer((req, res) => {
      void holder.proxy?.forward(target, req, res);
    });
    holder.proxy = new IntrospectionProxy(server, await listen(server));
    return holder.proxy;
  }

  /** The questions asked about the token with this `jti`, in order of arrival. */
  asked(jti: string): readonly Question[] {
    return this.questions.get(jti) ?? [];
  }

  close(): Promise<void> {
    return close(this.server);
  }

  private async forward(target: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = preciseClock();
    try {
      const body = await readBody(req);
      const upstream = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': req.headers['content-type'] ?? '',
          authorization: req.headers.authorization ?? '',
        },
        body,
      });
      const text = await upstream.text();
      const token = new URLSearchParams(body.toString()).get('token') ?? '';
      const jti = String(decodeJwt(token).jti);
      const answer = JSON.parse(text) as { active?: unknown };
      const list = this.questions.get(jti) ?? [];
      list.push({ receivedAt, active: answer.active === true });
      this.questions.set(jti, list);
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
        'cache-control': 'no-store',
      });
      res.end(text);
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  }
}

export interface ApiOptions {
  readonly resource: string;
  readonly issuer: string;
  readonly credentials: { readonly clientId: string; readonly clientSecret: string };
  /** The server process the API follows: its feed, keys and introspection endpoint. */
  readonly follow: string;
  readonly environment: string;
  readonly pollIntervalMs: number;
  readonly cacheTtlMs: number;
}

/**
 * The API: `GET /feed` and `GET /introspection` each behind `requireBearer` of a resource server
 * in that mode. Every answer carries `x-feed-synced-at`: when the last complete feed read had
 * begun, taken before the token is checked (so a refusal or acceptance is known to have had at
 * least that read).
 */
export class LatencyApi {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly feed: ResourceServer,
    readonly introspection: ResourceServer,
    readonly proxy: IntrospectionProxy,
  ) {}

  static async start(options: ApiOptions): Promise<LatencyApi> {
    const base = `${options.follow}/e/${options.environment}`;
    const proxy = await IntrospectionProxy.start(`${base}/introspect`);
    const common = {
      resource: options.resource,
      issuer: options.issuer,
      jwksUri: `${base}/jwks`,
      clock: preciseClock,
    };
    const feed = createResourceServer({
      ...common,
      revocation: {
        ...options.credentials,
        pollIntervalMs: options.pollIntervalMs,
        feedUrl: `${base}/revocations`,
      },
    });
    const introspection = createResourceServer({
      ...common,
      introspection: {
        ...options.credentials,
        cacheTtlMs: options.cacheTtlMs,
        endpoint: proxy.url,
      },
    });
    const errors: unknown[] = [];
    const guards = {
      feed: requireBearer(feed, { onError: (cause) => errors.push(cause) }),
      introspection: requireBearer(introspection, { onError: (cause) => errors.push(cause) }),
    };
    const server = createServer((req, res) => {
      const mode: Mode | undefined =
        req.url === '/feed' ? 'feed' : req.url === '/introspection' ? 'introspection' : undefined;
      if (mode === undefined) {
        res.writeHead(404).end();
        return;
      }
      const status = feed.revocationStatus();
      const syncedAt = status.mode === 'feed' ? status.lastSyncAt : undefined;
      res.setHeader('x-feed-synced-at', syncedAt === undefined ? '' : String(syncedAt));
      void guards[mode](req, res).then((auth) => {
        if (auth === undefined) return; // refused, answer written
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sub: auth.extra?.subject ?? null }));
      });
    });
    return new LatencyApi(server, await listen(server), feed, introspection, proxy);
  }

  /** Whether the feed follower has a complete read younger than its staleness limit. */
  get fresh(): boolean {
    const status = this.feed.revocationStatus();
    return status.mode === 'feed' && status.fresh;
  }

  watch(mode: Mode, token: string, cacheTtlMs: number): Watcher {
    return new Watcher(this, mode, token, cacheTtlMs);
  }

  async close(): Promise<void> {
    await close(this.server);
    await Promise.all([this.feed.close(), this.introspection.close(), this.proxy.close()]);
  }
}

/** One answer of the API to a watcher. */
interface Check {
  readonly status: number;
  readonly error: string | undefined;
  readonly description: string | undefined;
  /** Just before the request was sent, and when its answer had arrived. */
  readonly sentAt: number;
  readonly answeredAt: number;
  /** Feed mode: when the last complete read had begun when the API began to check the token. */
  readonly syncedAt: number | undefined;
  /** Introspection questions this check caused (at most one: the watcher is sequential). */
  readonly asked: readonly Question[];
}

export interface Refusal {
  /** From the revoking request's answer to the arrival of the first refusal. */
  readonly ms: number;
  /** API checks answered between the revoking answer and the refusal (the refusal included). */
  readonly checks: number;
  /**
   * Feed: `read under way` (a read begun before the answer already brought the event) or `next
   * read` (the first read begun after it). Introspection: `asked` (a cached answer had expired, or
   * none was cached) once the server said inactive.
   */
  readonly by: string;
}

/** The pause between two checks of one watcher: the resolution of the figures. */
const POLL_PAUSE_MS = 3;
/** A runaway guard, not a bound: each mode's own bound ends the loop long before. */
const MAX_CHECKS = 5_000;

/**
 * Polls the API with one token in one mode, sequentially, so each check's introspection question
 * (if any) is known. `check()` before the revocation; `untilRefused(answeredAt)` after it.
 */
export class Watcher {
  /** The last question asked (by a check of this watcher), and when that check's answer came. */
  private lastQuestion: (Question & { readonly checkAnsweredAt: number }) | undefined;
  private readonly jti: string;

  constructor(
    private readonly api: LatencyApi,
    readonly mode: Mode,
    private readonly token: string,
    private readonly cacheTtlMs: number,
  ) {
    this.jti = String(decodeJwt(token).jti);
  }

  async check(): Promise<Check> {
    const before = this.api.proxy.asked(this.jti).length;
    const sentAt = preciseClock();
    const response = await fetch(`${this.api.url}/${this.mode}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    const body = (await response.json()) as { error?: string; error_description?: string };
    const answeredAt = preciseClock();
    const asked = this.api.proxy.asked(this.jti).slice(before);
    const last = asked.at(-1);
    if (last !== undefined) this.lastQuestion = { ...last, checkAnsweredAt: answeredAt };
    const synced = response.headers.get('x-feed-synced-at') ?? '';
    return {
      status: response.status,
      error: body.error,
      description: body.error_description,
      sentAt,
      answeredAt,
      syncedAt: synced === '' ? undefined : Number(synced),
      asked,
    };
  }

  /**
   * Polls until the API refuses the token, and throws as soon as an acceptance breaks the mode's
   * bound:
   * - feed: an acceptance by a check that began after a complete read that had itself begun after
   *   the revoking answer (that read saw the event: the server commits before it answers);
   * - introspection: an acceptance after the answer must come from a question that reached the
   *   server before it, and, when no question was asked, from a cached answer still inside its
   *   lifetime (cached no later than the answer of the check that asked, for cacheTtlMs); and
   *   every question reaching the server after the answer must be answered inactive.
   */
  async untilRefused(revokedAt: number): Promise<Refusal> {
    for (let checks = 1; checks <= MAX_CHECKS; checks++) {
      const check = await this.check();
      for (const question of check.asked)
        if (question.receivedAt > revokedAt && question.active)
          throw new Error(
            `introspection said active to a question that reached the server ${(question.receivedAt - revokedAt).toFixed(1)} ms after the revoking answer`,
          );
      if (check.status === 401) {
        if (check.error !== 'invalid_token' || check.description !== REFUSAL[this.mode])
          throw new Error(`refused for another reason: ${check.error} ${check.description}`);
        return { ms: check.answeredAt - revokedAt, checks, by: this.cause(check, revokedAt) };
      }
      if (check.status !== 200)
        throw new Error(`the API answered ${check.status} ${check.error} ${check.description}`);
      this.checkAcceptance(check, revokedAt);
      await new Promise((resolve) => setTimeout(resolve, POLL_PAUSE_MS));
    }
    throw new Error(`still accepted after ${MAX_CHECKS} checks`);
  }

  private checkAcceptance(check: Check, revokedAt: number): void {
    if (this.mode === 'feed') {
      if (check.syncedAt !== undefined && check.syncedAt > revokedAt)
        throw new Error(
          `the feed follower accepted the token after a complete read begun ${(check.syncedAt - revokedAt).toFixed(1)} ms after the revoking answer`,
        );
      return;
    }
    const question = this.lastQuestion;
    if (question === undefined) throw new Error('accepted without ever asking the server');
    if (question.receivedAt > revokedAt || !question.active)
      throw new Error('accepted on an answer the server gave after the revocation');
    if (check.asked.length === 0 && check.sentAt >= question.checkAnsweredAt + this.cacheTtlMs)
      throw new Error(
        `accepted from a cached answer older than its lifetime (${this.cacheTtlMs} ms): the check began ${(check.sentAt - question.checkAnsweredAt).toFixed(1)} ms after the answer was cached`,
      );
  }

  private cause(check: Check, revokedAt: number): string {
    if (this.mode === 'introspection') return check.asked.length > 0 ? 'asked' : 'cached refusal';
    return check.syncedAt !== undefined && check.syncedAt > revokedAt
      ? 'next read'
      : 'read under way';
  }
}
