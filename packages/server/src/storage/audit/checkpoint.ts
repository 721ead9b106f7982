import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A checkpoint: how long the chain was and what its newest entry's hash was, at a time, signed
 * (HMAC-SHA-256 under the checkpoint key, crypto/audit-keys.ts). The exporter writes them outside
 * the database; `gatehouse audit verify --checkpoint` checks the database against the latest one
 * it is given, which is how a truncated chain (its newest entries deleted) is found out.
 */
export interface Checkpoint {
  /** Entries 1 to `count`: the chain's length, and the sequence number of its head. */
  readonly count: number;
  /** The hash of entry `count`. */
  readonly head: string;
  /** When it was made (ms). */
  readonly at: number;
  /** `v1:` and the HMAC, base64url. */
  readonly mac: string;
}

const VERSION = 'v1:';

function mac(key: Buffer, count: number, head: string, at: number): string {
  const material = JSON.stringify(['gatehouse audit checkpoint', count, head, at]);
  return `${VERSION}${createHmac('sha256', key).update(material).digest('base64url')}`;
}

export function signCheckpoint(
  key: Buffer,
  point: { readonly count: number; readonly head: string; readonly at: number },
): Checkpoint {
  return {
    count: point.count,
    head: point.head,
    at: point.at,
    mac: mac(key, point.count, point.head, point.at),
  };
}

export function checkpointSigned(key: Buffer, checkpoint: Checkpoint): boolean {
  const expected = Buffer.from(mac(key, checkpoint.count, checkpoint.head, checkpoint.at));
  const given = Buffer.from(checkpoint.mac);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * The latest checkpoint in `text`: one checkpoint as JSON, or an export (JSON lines, whose
 * `{"type":"checkpoint",...}` lines are checkpoints). Undefined when there is none.
 */
export function latestCheckpoint(text: string): Checkpoint | undefined {
  let latest: Checkpoint | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const candidate = value as Partial<Checkpoint> & { type?: unknown };
    if (candidate.type !== undefined && candidate.type !== 'checkpoint') continue;
    if (
      typeof candidate.count === 'number' &&
      typeof candidate.head === 'string' &&
      typeof candidate.at === 'number' &&
      typeof candidate.mac === 'string' &&
      (latest === undefined || candidate.count >= latest.count)
    )
      latest = {
        count: candidate.count,
        head: candidate.head,
        at: candidate.at,
        mac: candidate.mac,
      };
  }
  return latest;
}
