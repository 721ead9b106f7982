import { InvalidRequest } from '../../errors.js';
import type { RevocationEvent } from '../../storage/revocation-events.js';

export const DEFAULT_FEED_LIMIT = 1000;
export const MAX_FEED_LIMIT = 10_000;

/** One page of the feed, as the reader receives it (times in seconds, like the JWT's `iat`). */
export interface FeedPage {
  readonly events: {
    readonly seq: number;
    readonly kind: string;
    readonly key: string;
    readonly issued_before: number;
    readonly expires_at: number;
  }[];
  /** The cursor to pass as `after` next time. */
  readonly next: number;
  /** The page is full: there may be more after `next`. */
  readonly more: boolean;
}

/** Decimal digits only: no sign, exponent, fraction or hexadecimal form slips through. */
const DIGITS = /^[0-9]{1,16}$/;

function nonNegativeInteger(name: string, value: string): number {
  const number = DIGITS.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number))
    throw new InvalidRequest(`${name} must be a non-negative integer`);
  return number;
}

/** `after` (default 0: from the start) and `limit` (default 1000, 1 to 10000), or 400. */
export function readFeedQuery(query: Record<string, string>): { after: number; limit: number } {
  const after = query.after === undefined ? 0 : nonNegativeInteger('after', query.after);
  const limit =
    query.limit === undefined ? DEFAULT_FEED_LIMIT : nonNegativeInteger('limit', query.limit);
  if (limit < 1 || limit > MAX_FEED_LIMIT)
    throw new InvalidRequest(`limit must be between 1 and ${MAX_FEED_LIMIT}`);
  return { after, limit };
}

/**
 * The answer for the events after `after`. `issued_before` is floored to the second, as the
 * design's rule compares it with `iat` (`iat <= issued_before` covers a token issued in the
 * event's own second too: fail safe); `expires_at` is rounded up, so a reader keeps an event at
 * least as long as the server does.
 */
export function feedPage(
  events: readonly RevocationEvent[],
  after: number,
  limit: number,
): FeedPage {
  return {
    events: events.map((event) => ({
      seq: event.seq,
      kind: event.kind,
      key: event.key,
      issued_before: Math.floor(event.issuedBefore / 1000),
      expires_at: Math.ceil(event.expiresAt / 1000),
    })),
    next: events.at(-1)?.seq ?? after,
    more: events.length === limit,
  };
}
