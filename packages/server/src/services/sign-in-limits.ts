import { isIPv4, isIPv6 } from 'node:net';
import type { AttemptStore } from '../storage/attempts.js';
import { DatabaseAttemptLimiter, type Reservation } from './shared-attempt-limiter.js';

/**
 * How password guessing is limited (docs/deployment.md, "Sign-in limits"). The hard limits are
 * per (account, address) and per address, so no address alone can lock an account for everyone
 * else; the account's own limit over all addresses is a ceiling past which attempts are slowed
 * down, never refused, as OWASP's Authentication Cheat Sheet describes.
 */
export interface SignInLimitPolicy {
  /** Failures for one account from one address before that pair is refused until the window closes. */
  readonly perAccountAndAddress: number;
  /** Failures from one address, whatever the accounts, before it is refused. */
  readonly perAddress: number;
  /** Failures for one account from all addresses before each further attempt is held back. */
  readonly accountCeiling: number;
  /** How long each of those windows lasts from its first failure. */
  readonly windowMs: number;
  /** The first attempt past the ceiling waits this long; each further one twice as long... */
  readonly firstDelayMs: number;
  /** ...up to this: a slowdown, never a lockout. */
  readonly maxDelayMs: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimitPolicy = Object.freeze({
  perAccountAndAddress: 5,
  perAddress: 20,
  accountCeiling: 10,
  windowMs: 15 * 60_000,
  firstDelayMs: 1_000,
  maxDelayMs: 10_000,
});

/**
 * The address a limit counts against: an IPv4 address as it is (an IPv4-mapped IPv6 one as the
 * IPv4 address it maps), an IPv6 address by its /64, which anyone with IPv6 holds whole: keyed on
 * full addresses, 2^64 fresh "addresses" would each start with a fresh count. Audit entries keep
 * the full address.
 */
export function limitAddress(ip: string): string {
  const address = ip.replace(/%.*$/, '');
  if (!isIPv6(address)) return ip;
  const [head = '', tail] = address.toLowerCase().split('::');
  const groups = (part: string | undefined): string[] =>
    part === undefined || part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!isIPv4(group)) return [group];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const front = groups(head);
  const back = groups(tail);
  const full = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back].map(
    (group) => group.replace(/^0+(?=.)/, ''),
  );
  if (full.slice(0, 5).every((g) => g === '0') && full[5] === 'ffff')
    return [full[6], full[7]]
      .map((g) => {
        const n = parseInt(g ?? '0', 16);
        return `${n >> 8}.${n & 255}`;
      })
      .join('.');
  return `${full.slice(0, 4).join(':')}::/64`;
}

/** Waits; the tests count the waits instead. */
export type Pause = (ms: number) => Promise<void>;

export const sleep: Pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sign-in attempt that may go on to check the password, and what to do with its outcome. */
export interface SignInAttempt {
  readonly granted: true;
  /** The password was right: the pair starts again, and this attempt was not a failure. */
  succeeded(): Promise<void>;
}

export type SignInReservation =
  SignInAttempt | { readonly granted: false; readonly retryAfterMs: number };

/**
 * The sign-in limits of one kind of account (end users per environment, operators): every
 * attempt is counted against all three keys before its password is checked, each in a single
 * statement that returns the new count, so forty attempts fired at once are counted one by one
 * and only the first five from an address are checked.
 */
export class SignInLimits {
  private readonly pair: DatabaseAttemptLimiter;
  private readonly address: DatabaseAttemptLimiter;
  private readonly account: DatabaseAttemptLimiter;

  constructor(
    store: AttemptStore,
    readonly policy: SignInLimitPolicy = DEFAULT_SIGN_IN_LIMITS,
    private readonly pause: Pause = sleep,
  ) {
    this.pair = new DatabaseAttemptLimiter(store, policy.perAccountAndAddress, policy.windowMs);
    this.address = new DatabaseAttemptLimiter(store, policy.perAddress, policy.windowMs);
    // Never refuses: the count only decides the delay.
    this.account = new DatabaseAttemptLimiter(store, Number.MAX_SAFE_INTEGER, policy.windowMs);
  }

  /**
   * Reserves an attempt by `address` at `account` (`scope` keeps environments and operators
   * apart). Refused: check nothing. Granted: check the password, and call `succeeded()` if it
   * was right; a wrong one needs nothing more, it has been counted already.
   */
  async reserve(
    scope: string,
    account: string,
    address: string,
    now: number,
  ): Promise<SignInReservation> {
    address = limitAddress(address);
    const held: Reservation[] = [];
    const refuse = async (refusal: Reservation) => {
      for (const r of held) await r.release();
      return { granted: false as const, retryAfterMs: refusal.retryAfterMs };
    };
    const pairKey = `${scope}:account:${account}:address:${address}`;
    const pair = await this.pair.reserve(pairKey, now);
    if (!pair.granted) return refuse(pair);
    held.push(pair);
    const byAddress = await this.address.reserve(`${scope}:address:${address}`, now);
    if (!byAddress.granted) return refuse(byAddress);
    held.push(byAddress);
    const byAccount = await this.account.reserve(`${scope}:account:${account}`, now);
    held.push(byAccount);
    const excess = byAccount.count - this.policy.accountCeiling;
    if (excess > 0)
      await this.pause(
        Math.min(this.policy.maxDelayMs, this.policy.firstDelayMs * 2 ** Math.min(excess - 1, 30)),
      );
    return {
      granted: true,
      succeeded: async () => {
        await this.pair.reset(pairKey);
        await byAddress.release();
        await byAccount.release();
      },
    };
  }
}
