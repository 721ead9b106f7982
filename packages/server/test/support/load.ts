import { decodeJwt } from 'jose';
import { codeFrom, codeRequest, type Reply, type WebClient } from './oauth.js';
import { sleep } from './processes.js';

/**
 * A mixed load for the fault tests (issue #7, "Faults"): code flows with redemption, refresh
 * rotations, client_credentials and revocations, spread over whichever processes are in
 * `targets`, some of them sent twice at once to two processes on purpose. It records every
 * answer, so that after a process is killed and restarted the test can check what the
 * deployment promised: no code redeemed twice, no refresh token rotated twice, every token it
 * handed out still good unless it was legitimately revoked, and no failed request on a process
 * that was not killed.
 */

/** Somewhere to send requests: one process of the deployment. */
export interface Target {
  readonly name: string;
  readonly url: string;
}

/** An HTTP status, or `error` when no answer came (connection refused or reset, timeout). */
export type Outcome = number | 'error';

export interface RequestRecord {
  readonly target: string;
  readonly action: string;
  readonly outcome: Outcome;
  readonly detail?: string;
}

/**
 * What must be true of a token at the end: `live` (it must still verify), `revoked` (the server
 * acknowledged its revocation: it must not verify), or `unknown` (a request that could have
 * revoked it got no answer, because its process was killed: either is fine).
 */
export type Fate = 'live' | 'unknown' | 'revoked';

const FATE_ORDER: Record<Fate, number> = { live: 0, unknown: 1, revoked: 2 };

function worse(a: Fate, b: Fate): Fate {
  return FATE_ORDER[a] >= FATE_ORDER[b] ? a : b;
}

/** One grant: the tokens of one code and of every rotation after it. */
export interface Family {
  readonly id: number;
  /** The refresh token to use next; undefined once the family is no longer used. */
  refresh: string | undefined;
  /** Every refresh token it ever had, in order. */
  readonly refreshTokens: string[];
  readonly access: IssuedToken[];
  fate: Fate;
  readonly why: string[];
  busy: boolean;
}

export interface IssuedToken {
  readonly token: string;
  readonly jti: string;
  readonly target: string;
  readonly grant: 'authorization_code' | 'refresh_token' | 'client_credentials';
  readonly family?: Family;
  fate: Fate;
}

/** The final expectation for an access token: its own fate or its family's, the worse. */
export function fateOf(token: IssuedToken): Fate {
  return token.family === undefined ? token.fate : worse(token.fate, token.family.fate);
}

export class MixedLoad {
  /** Where requests go now; the test removes a killed process and adds it back restarted. */
  targets: Target[] = [];
  readonly requests: RequestRecord[] = [];
  /** How many 200 answers each code got, and each refresh token. */
  readonly codeSuccesses = new Map<string, number>();
  readonly refreshSuccesses = new Map<string, number>();
  readonly families: Family[] = [];
  readonly tokens: IssuedToken[] = [];
  /** Answers no correct server gives (with the request that got them). */
  readonly anomalies: string[] = [];
  /** Operations finished, whatever their outcome. */
  completed = 0;
  private stopping = false;

  constructor(
    private readonly client: WebClient,
    /** Cookie headers of browsers with a session, whose users have consented to the client. */
    private readonly sessions: readonly string[],
    private readonly redirectUri: string,
  ) {}

  /** Runs `workers` loops until stop() is called; resolves when they have all ended. */
  async run(workers = 6): Promise<void> {
    await Promise.all(Array.from({ length: workers }, () => this.worker()));
  }

  stop(): void {
    this.stopping = true;
  }

  /** Waits (without asserting anything about speed) until `count` more operations are done. */
  async waitFor(count: number, deadlineMs = 30_000): Promise<void> {
    const goal = this.completed + count;
    const deadline = Date.now() + deadlineMs;
    while (this.completed < goal && Date.now() < deadline) await sleep(10);
  }

  /** Requests to `target` that failed: no answer, or a 5xx. */
  failuresOn(target: string): RequestRecord[] {
    return this.requests.filter(
      (r) => r.target === target && (r.outcome === 'error' || r.outcome >= 500),
    );
  }

  private async worker(): Promise<void> {
    while (!this.stopping) {
      if (this.targets.length === 0) {
        await sleep(10);
        continue;
      }
      const roll = Math.floor(Math.random() * 100);
      try {
        if (roll < 35) await this.codeFlow(roll < 8);
        else if (roll < 65) await this.refresh(roll < 40);
        else if (roll < 85) await this.clientCredentials();
        else await this.revoke();
      } catch (error) {
        this.anomalies.push(`load generator: ${String(error)}`);
      }
      this.completed++;
    }
  }

  private pick(): Target {
    const target = this.targets[Math.floor(Math.random() * this.targets.length)];
    if (target === undefined) throw new Error('no target');
    return target;
  }

  /** Two different processes when there are two, for requests raced against each other. */
  private pair(): [Target, Target] {
    const first = this.pick();
    const others = this.targets.filter((t) => t !== first);
    return [first, others[Math.floor(Math.random() * others.length)] ?? first];
  }

  private async send(
    target: Target,
    action: string,
    request: (url: string) => Promise<Reply>,
  ): Promise<Reply | undefined> {
    try {
      const reply = await request(target.url);
      this.requests.push({
        target: target.name,
        action,
        outcome: reply.status,
        ...(reply.status >= 500 ? { detail: JSON.stringify(reply.body).slice(0, 300) } : {}),
      });
      return reply;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      this.requests.push({
        target: target.name,
        action,
        outcome: 'error',
        detail: `${String(error)}${cause === undefined ? '' : ` (${cause})`}`,
      });
      return undefined;
    }
  }

  /** A reply that got no answer, or a 5xx: the request may or may not have taken effect. */
  private static unanswered(reply: Reply | undefined): reply is undefined {
    return reply === undefined || reply.status >= 500;
  }

  private issued(
    reply: Reply,
    target: Target,
    grant: IssuedToken['grant'],
    family?: Family,
  ): IssuedToken {
    const token = String(reply.body.access_token);
    const jti = decodeJwt(token).jti ?? '';
    const issued: IssuedToken = {
      token,
      jti,
      target: target.name,
      grant,
      fate: 'live',
      ...(family === undefined ? {} : { family }),
    };
    this.tokens.push(issued);
    family?.access.push(issued);
    return issued;
  }

  private newFamily(): Family {
    const family: Family = {
      id: this.families.length,
      refresh: undefined,
      refreshTokens: [],
      access: [],
      fate: 'live',
      why: [],
      busy: false,
    };
    this.families.push(family);
    return family;
  }

  private mark(family: Family, fate: Fate, why: string): void {
    family.fate = worse(family.fate, fate);
    family.why.push(why);
    // A family that may be revoked is not used again: its answers would prove nothing.
    if (fate !== 'live') family.refresh = undefined;
  }

  /** Authorize with a session (straight to a code), then redeem, once or raced on two processes. */
  private async codeFlow(race: boolean): Promise<void> {
    const session = this.sessions[Math.floor(Math.random() * this.sessions.length)] ?? '';
    const request = codeRequest(this.client.clientId, this.redirectUri);
    const authorizeOn = this.pick();
    const authorized = await this.send(authorizeOn, 'authorize', async (url) => {
      const response = await fetch(
        `${url}/e/${this.client.environment}/authorize?${new URLSearchParams(request.query).toString()}`,
        {
          redirect: 'manual',
          headers: { cookie: session, accept: 'text/html' },
          signal: AbortSignal.timeout(15_000),
        },
      );
      await response.arrayBuffer();
      return { status: response.status, body: { location: response.headers.get('location') } };
    });
    if (authorized === undefined || authorized.status >= 500) return;
    const location = authorized.body.location;
    if (authorized.status !== 303 || typeof location !== 'string' || !location.includes('code=')) {
      this.anomalies.push(
        `authorize on ${authorizeOn.name} with a session answered ${authorized.status} ${String(location)}`,
      );
      return;
    }
    const { code } = codeFrom(location);
    const targets = race ? this.pair() : [this.pick()];
    const replies = await Promise.all(
      targets.map(async (target) => ({
        target,
        reply: await this.send(target, race ? 'redeem (raced)' : 'redeem', (url) =>
          this.client.redeem(url, code, request.verifier, this.redirectUri),
        ),
      })),
    );
    const wins = replies.filter((r) => r.reply?.status === 200);
    this.codeSuccesses.set(code, wins.length);
    if (wins.length === 0) {
      // Refused everywhere with an answer: a fresh code from a live session must be redeemable.
      if (replies.every((r) => r.reply !== undefined && r.reply.status < 500))
        this.anomalies.push(
          `a fresh code was refused: ${JSON.stringify(replies.map((r) => r.reply?.body))}`,
        );
      return;
    }
    const family = this.newFamily();
    for (const { target, reply } of wins) {
      if (reply === undefined) continue;
      this.issued(reply, target, 'authorization_code', family);
      const refresh = reply.body.refresh_token;
      if (typeof refresh === 'string') {
        family.refresh ??= refresh;
        family.refreshTokens.push(refresh);
      }
    }
    for (const { target, reply } of replies) {
      if (reply?.status === 200) continue;
      if (MixedLoad.unanswered(reply))
        this.mark(family, 'unknown', `a raced redemption on ${target.name} got no answer`);
      else if (/already used/.test(String(reply.body.error_description)))
        this.mark(family, 'revoked', `the code was replayed on ${target.name}`);
      else
        this.mark(
          family,
          'unknown',
          `a raced redemption on ${target.name}: ${String(reply.body.error_description)}`,
        );
    }
  }

  /** Rotates the refresh token of a live family, once or raced on two processes. */
  private async refresh(race: boolean): Promise<void> {
    const candidates = this.families.filter(
      (f) => !f.busy && f.fate === 'live' && f.refresh !== undefined,
    );
    const family = candidates[Math.floor(Math.random() * candidates.length)];
    if (family?.refresh === undefined) return this.clientCredentials();
    family.busy = true;
    try {
      const token = family.refresh;
      const targets = race ? this.pair() : [this.pick()];
      const replies = await Promise.all(
        targets.map(async (target) => ({
          target,
          reply: await this.send(target, race ? 'refresh (raced)' : 'refresh', (url) =>
            this.client.refresh(url, token),
          ),
        })),
      );
      const wins = replies.filter((r) => r.reply?.status === 200);
      this.refreshSuccesses.set(token, wins.length);
      family.refresh = undefined;
      for (const { target, reply } of wins) {
        if (reply === undefined) continue;
        this.issued(reply, target, 'refresh_token', family);
        const next = reply.body.refresh_token;
        if (typeof next === 'string') {
          family.refreshTokens.push(next);
          family.refresh ??= next;
        }
      }
      for (const { target, reply } of replies) {
        if (reply?.status === 200) continue;
        if (MixedLoad.unanswered(reply))
          this.mark(family, 'unknown', `a refresh on ${target.name} got no answer`);
        else if (race && /already used/.test(String(reply.body.error_description)))
          this.mark(family, 'revoked', `the refresh token was reused on ${target.name}`);
        else {
          this.anomalies.push(
            `the refresh token of a live family was refused on ${target.name}: ${JSON.stringify(reply.body)}`,
          );
          this.mark(family, 'unknown', `refused on ${target.name}`);
        }
      }
    } finally {
      family.busy = false;
    }
  }

  private async clientCredentials(): Promise<void> {
    const target = this.pick();
    const reply = await this.send(target, 'client_credentials', (url) =>
      this.client.clientCredentials(url),
    );
    if (reply?.status === 200) this.issued(reply, target, 'client_credentials');
    else if (reply !== undefined && reply.status < 500)
      this.anomalies.push(
        `client_credentials refused on ${target.name}: ${JSON.stringify(reply.body)}`,
      );
  }

  /** Revokes a live family's refresh token (the whole grant) or one live access token. */
  private async revoke(): Promise<void> {
    const target = this.pick();
    const families = this.families.filter(
      (f) => !f.busy && f.fate === 'live' && f.refresh !== undefined,
    );
    const family = families[Math.floor(Math.random() * families.length)];
    if (family?.refresh !== undefined && Math.random() < 0.5) {
      family.busy = true;
      try {
        const token = family.refresh;
        const reply = await this.send(target, 'revoke refresh', (url) =>
          this.client.revoke(url, token),
        );
        if (reply?.status === 200)
          this.mark(family, 'revoked', `its refresh token was revoked on ${target.name}`);
        else if (MixedLoad.unanswered(reply))
          this.mark(family, 'unknown', `a revocation on ${target.name} got no answer`);
        else
          this.anomalies.push(
            `revocation refused on ${target.name}: ${JSON.stringify(reply.body)}`,
          );
      } finally {
        family.busy = false;
      }
      return;
    }
    const live = this.tokens.filter((t) => fateOf(t) === 'live');
    const token = live[Math.floor(Math.random() * live.length)];
    if (token === undefined) return this.clientCredentials();
    const reply = await this.send(target, 'revoke access', (url) =>
      this.client.revoke(url, token.token),
    );
    if (reply?.status === 200) token.fate = 'revoked';
    else if (MixedLoad.unanswered(reply)) token.fate = worse(token.fate, 'unknown');
    else this.anomalies.push(`revocation refused on ${target.name}: ${JSON.stringify(reply.body)}`);
  }
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit)
    results.push(...(await Promise.all(items.slice(i, i + limit).map(work))));
  return results;
}
