import { createHash } from 'node:crypto';
import type { AuditEvent, AuditStore } from '../storage/audit.js';

/**
 * Refusals and throttled attempts from unauthenticated requests (a refused redirect URI, a
 * throttled sign-in) are audited without letting an anonymous sender grow the log one entry a
 * request: the first of a kind, per (environment, client, subject, address) and window, is
 * written at once, so an operator sees it; repeats in the window are only counted, and written
 * as one `<type>.repeated` entry with the count when the window has ended (at the next such event
 * or a periodic sweep) or the server stops. The subject is the redirect URI or the account.
 *
 * A sender who varies the subject (300 different URIs) or the address is bounded too: each
 * address gets `perAddress` immediate entries per window for a (client, type), each client
 * `perClient` from all addresses, and the process `maxTracked` windows in all; past them events
 * are counted in one summary per address, per client, or per type.
 *
 * Per process: with several processes behind a load balancer each writes its own (bounded)
 * entries. The counts in the console's refused-redirects table are exact regardless.
 */
export interface RepeatedAuditLimits {
  readonly windowMs: number;
  readonly perAddress: number;
  readonly perClient: number;
  readonly maxTracked: number;
}

export const DEFAULT_REPEATED_AUDIT_LIMITS: RepeatedAuditLimits = {
  windowMs: 10 * 60_000,
  perAddress: 5,
  perClient: 50,
  maxTracked: 10_000,
};

/** What happened, beside the event itself: which subject, from which address. */
export interface RepeatedOrigin {
  /** What is refused: the requested redirect URI, the account's email. */
  readonly subject: string;
  /** request.ip */
  readonly address: string;
}

interface Counted {
  readonly event: AuditEvent;
  readonly from: number;
  readonly until: number;
  /** Events counted but not written yet. */
  count: number;
  /** For a summary of several subjects: how many there were (up to a limit). */
  readonly subjects?: Set<string>;
}

interface Budget {
  readonly until: number;
  used: number;
}

const MAX_SUBJECTS_COUNTED = 1000;

export class RepeatedEventAudit {
  private readonly windows = new Map<string, Counted>();
  private readonly budgets = new Map<string, Budget>();
  private readonly sweeper: NodeJS.Timeout;
  private pending: Promise<void> = Promise.resolve();
  /** No window or budget ends before this: a sweep before it would find nothing. */
  private nextEnd = Number.POSITIVE_INFINITY;

  constructor(
    private readonly audit: AuditStore,
    private readonly clock: () => number,
    private readonly limits: RepeatedAuditLimits = DEFAULT_REPEATED_AUDIT_LIMITS,
    private readonly warn: (message: string, error: unknown) => void = () => undefined,
  ) {
    this.sweeper = setInterval(
      () => {
        this.sweep(this.clock());
      },
      Math.min(60_000, this.limits.windowMs),
    );
    this.sweeper.unref();
  }

  /**
   * Audits `event` (at `at`) if it is the first of its kind in its window; counts it otherwise.
   * Resolves once an entry written for it is committed.
   */
  async record(event: AuditEvent, at: number, origin: RepeatedOrigin): Promise<void> {
    this.sweep(at);
    const env = event.environment ?? '';
    const client = event.clientId ?? '';
    const kind = `${env}\0${client}\0${event.type}`;
    // Held in memory for a window: a digest, never the sender's text (a 64 KB URI, 10 000 times).
    const subject = createHash('sha256').update(origin.subject).digest('base64url');
    const key = `${kind}\0${subject}\0${origin.address}`;
    const open = this.windows.get(key);
    if (open !== undefined) {
      open.count++;
      return;
    }
    const until = at + this.limits.windowMs;
    this.nextEnd = Math.min(this.nextEnd, until);
    const overflow = this.overflowKey(kind, origin, at);
    if (overflow !== undefined) {
      const summary = this.windows.get(overflow.key);
      if (summary !== undefined) {
        summary.count++;
        if (summary.subjects !== undefined && summary.subjects.size < MAX_SUBJECTS_COUNTED)
          summary.subjects.add(subject);
      } else
        this.windows.set(overflow.key, {
          event: {
            environment: event.environment,
            type: event.type,
            actor: event.actor,
            clientId: event.clientId ?? null,
            userId: null,
            data: overflow.address === undefined ? {} : { address: overflow.address },
          },
          from: at,
          until,
          count: 1,
          subjects: new Set([subject]),
        });
      return;
    }
    const written: AuditEvent = {
      ...event,
      data: { ...event.data, address: origin.address, window: this.limits.windowMs },
    };
    this.windows.set(key, { event: written, from: at, until, count: 0 });
    await this.audit.append(written, at);
  }

  /** Writes every count not written yet, window ended or not (the server is stopping). */
  async flush(): Promise<void> {
    this.sweep(Number.POSITIVE_INFINITY);
    clearInterval(this.sweeper);
    await this.pending;
  }

  /** Where the event is counted when its own window would exceed a budget; undefined: its own. */
  private overflowKey(
    kind: string,
    origin: RepeatedOrigin,
    at: number,
  ): { key: string; address?: string } | undefined {
    // Budgets count too: an address that spends one and is then refused by its client's budget
    // opens no window, so a sender with many addresses (IPv6) would grow them without end.
    if (
      this.windows.size >= this.limits.maxTracked ||
      this.budgets.size >= 2 * this.limits.maxTracked
    )
      return { key: `${kind}\0*\0*` };
    if (!this.spend(`${kind}\0*\0${origin.address}`, this.limits.perAddress, at))
      return { key: `${kind}\0*\0${origin.address}`, address: origin.address };
    if (!this.spend(`${kind}\0*\0*`, this.limits.perClient, at)) return { key: `${kind}\0*\0*` };
    return undefined;
  }

  private spend(key: string, limit: number, at: number): boolean {
    let budget = this.budgets.get(key);
    if (budget === undefined || budget.until <= at) {
      budget = { until: at + this.limits.windowMs, used: 0 };
      this.budgets.set(key, budget);
    }
    if (budget.used >= limit) return false;
    budget.used++;
    return true;
  }

  /** Ends the windows that are over at `now`, writing their counts. */
  private sweep(now: number): void {
    if (now < this.nextEnd) return;
    this.nextEnd = Number.POSITIVE_INFINITY;
    for (const budget of this.budgets.values())
      if (budget.until > now) this.nextEnd = Math.min(this.nextEnd, budget.until);
    for (const [key, budget] of this.budgets) if (budget.until <= now) this.budgets.delete(key);
    const due: Counted[] = [];
    for (const [key, counted] of this.windows) {
      if (counted.until > now) {
        this.nextEnd = Math.min(this.nextEnd, counted.until);
        continue;
      }
      this.windows.delete(key);
      if (counted.count > 0) due.push(counted);
    }
    if (due.length === 0) return;
    const at = Number.isFinite(now) ? now : this.clock();
    const writes = due.map((counted) =>
      this.audit
        .append(
          {
            ...counted.event,
            type: `${counted.event.type}.repeated`,
            data: {
              ...counted.event.data,
              count: counted.count,
              from: counted.from,
              until: Math.min(counted.until, at),
              ...(counted.subjects === undefined ? {} : { subjects: counted.subjects.size }),
            },
          },
          at,
        )
        .then(
          () => undefined,
          (error: unknown) => {
            this.warn('a repeated-event count could not be audited', error);
          },
        ),
    );
    this.pending = Promise.all([this.pending, ...writes]).then(() => undefined);
  }
}

const perStore = new WeakMap<AuditStore, RepeatedEventAudit>();

/** The process's counter for an audit store, made on first use. */
export function repeatedAudit(audit: AuditStore, clock: () => number): RepeatedEventAudit {
  let counter = perStore.get(audit);
  if (counter === undefined) {
    counter = new RepeatedEventAudit(audit, clock);
    perStore.set(audit, counter);
  }
  return counter;
}

/** Writes the counts not written yet (at shutdown). */
export async function flushRepeatedAudit(audit: AuditStore): Promise<void> {
  await perStore.get(audit)?.flush();
}
