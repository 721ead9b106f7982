import { randomBytes } from 'node:crypto';
import type { AuditStore } from '../storage/audit.js';

/**
 * `jti` values for client_credentials tokens, accounted for in the audit log without a write per
 * token. Before any of them is handed out, one durable (committed and synced) audit entry,
 * `token.jti_block_reserved` { clientId, block, size, scope, resource, grantType }, reserves a
 * block of `size` values for one (environment, client, scope, resource); the tokens get the jti
 * `<block>.<n>`, n from 0 in base 36, with no I/O. A block is closed by `token.jti_block_closed`
 * { block, used } when it is exhausted, when it has been open longer than `maxAgeMs`, and when
 * the server stops. A crash leaves a block unclosed: then at most `size` of it were issued, a
 * bound an auditor reads from the reservation (`gatehouse audit token <jti>`).
 *
 * Per process: several processes on one database each reserve their own blocks (random ids, so
 * their jtis never collide). A busy key's blocks grow (doubling up to `maxSize`); a block that
 * ends by age starts its key over at `minSize`, so an idle client leaves no large unclosed range.
 */
export interface JtiBlockLimits {
  readonly minSize: number;
  readonly maxSize: number;
  readonly maxAgeMs: number;
}

export const DEFAULT_JTI_BLOCK_LIMITS: JtiBlockLimits = {
  minSize: 64,
  maxSize: 4096,
  maxAgeMs: 60_000,
};

/** What a block is reserved for: tokens of one client, with one scope and resource. */
export interface JtiBlockKey {
  readonly environment: string;
  readonly clientId: string;
  readonly scope: readonly string[];
  readonly resource: string | null;
}

export const JTI_BLOCK_RESERVED = 'token.jti_block_reserved';
export const JTI_BLOCK_CLOSED = 'token.jti_block_closed';

/** A block jti: a 16-byte base64url block id, a dot, the number in base 36. */
const BLOCK_JTI = /^([A-Za-z0-9_-]{22})\.([0-9a-z]{1,11})$/;

/** The block and number of a block jti, or undefined for any other jti (a UUID). */
export function parseBlockJti(jti: string): { block: string; n: number } | undefined {
  const match = BLOCK_JTI.exec(jti);
  if (match === null) return undefined;
  return { block: match[1] as string, n: parseInt(match[2] as string, 36) };
}

interface OpenBlock {
  readonly id: string;
  readonly size: number;
  readonly key: JtiBlockKey;
  readonly openedAt: number;
  used: number;
}

export class JtiBlocks {
  private readonly open = new Map<string, OpenBlock>();
  /** One reservation at a time per key: concurrent requests wait for the same one. */
  private readonly reserving = new Map<string, Promise<void>>();
  /** Closing entries not yet written (awaited by close()). */
  private readonly closing = new Set<Promise<void>>();
  /** The size a key's next block gets, when larger than the minimum, until when it applies. */
  private readonly nextSizes = new Map<string, { size: number; until: number }>();
  private readonly sweeper: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly audit: AuditStore,
    private readonly clock: () => number,
    private readonly limits: JtiBlockLimits = DEFAULT_JTI_BLOCK_LIMITS,
    private readonly warn: (message: string, error: unknown) => void = () => undefined,
  ) {
    this.sweeper = setInterval(
      () => {
        this.sweep(this.clock());
      },
      Math.max(1000, Math.floor(limits.maxAgeMs / 4)),
    );
    this.sweeper.unref();
  }

  /**
   * A jti for a token of `key`, whose reservation is durable in the audit log. Without I/O while
   * the key's open block has room.
   */
  async next(given: JtiBlockKey): Promise<string> {
    // The same grant in any order: one key, recorded as a sorted set.
    const key = { ...given, scope: [...new Set(given.scope)].sort() };
    const name = JSON.stringify([key.environment, key.clientId, key.scope, key.resource]);
    for (;;) {
      const block = this.open.get(name);
      if (block !== undefined) {
        if (this.clock() - block.openedAt >= this.limits.maxAgeMs) this.retire(name, block, 'age');
        else if (block.used < block.size) return `${block.id}.${(block.used++).toString(36)}`;
        else this.retire(name, block, 'exhausted');
      }
      let reservation = this.reserving.get(name);
      if (reservation === undefined) {
        if (this.stopped) throw new Error('the jti blocks are closed: the server is stopping');
        reservation = this.reserve(name, key);
        this.reserving.set(name, reservation);
      }
      await reservation;
    }
  }

  /** Closes every open block (the server is stopping) and waits for the closing entries. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    // A reservation under way opens its block when it is durable: closed right after.
    await Promise.allSettled(this.reserving.values());
    for (const [name, block] of [...this.open]) this.retire(name, block, 'stop');
    await Promise.all([...this.closing]);
  }

  private async reserve(name: string, key: JtiBlockKey): Promise<void> {
    try {
      const size = this.nextSizes.get(name)?.size ?? this.limits.minSize;
      const id = randomBytes(16).toString('base64url');
      const at = this.clock();
      // Resolves once committed and synced: no jti of the block exists before that.
      await this.audit.append(
        {
          environment: key.environment,
          type: JTI_BLOCK_RESERVED,
          actor: `client:${key.clientId}`,
          clientId: key.clientId,
          data: {
            clientId: key.clientId,
            block: id,
            size,
            scope: key.scope.join(' '),
            resource: key.resource,
            grantType: 'client_credentials',
          },
        },
        at,
      );
      this.nextSizes.delete(name);
      this.open.set(name, { id, size, key, openedAt: at, used: 0 });
    } finally {
      this.reserving.delete(name);
    }
  }

  /**
   * Takes a block out of use and writes its closing entry, without waiting for it. The count is
   * taken now: from here on no jti of the block is handed out.
   */
  private retire(name: string, block: OpenBlock, why: 'exhausted' | 'age' | 'stop'): void {
    if (this.open.get(name) === block) this.open.delete(name);
    // Exhausted: the key is busy, its next block twice as large. Ended by age: as large as this
    // one needed. Remembered for one more period at most.
    const size =
      why === 'exhausted'
        ? Math.min(block.size * 2, this.limits.maxSize)
        : why === 'age'
          ? Math.min(
              Math.max(this.limits.minSize, powerOfTwoAtLeast(block.used)),
              this.limits.maxSize,
            )
          : this.limits.minSize;
    if (size > this.limits.minSize)
      this.nextSizes.set(name, { size, until: this.clock() + this.limits.maxAgeMs });
    else this.nextSizes.delete(name);
    const write = this.audit
      .append(
        {
          environment: block.key.environment,
          type: JTI_BLOCK_CLOSED,
          actor: `client:${block.key.clientId}`,
          clientId: block.key.clientId,
          data: { block: block.id, used: block.used },
        },
        this.clock(),
      )
      .then(
        () => undefined,
        (error: unknown) => {
          // Unclosed, the block reads "up to size may have been issued": an over-count, never
          // an under-count.
          this.warn('a jti block could not be closed in the audit log', error);
        },
      )
      .finally(() => this.closing.delete(write));
    this.closing.add(write);
  }

  /** Closes the blocks open longer than the limit; forgets sizes no longer due. */
  private sweep(now: number): void {
    for (const [name, block] of [...this.open])
      if (now - block.openedAt >= this.limits.maxAgeMs) this.retire(name, block, 'age');
    for (const [name, next] of [...this.nextSizes])
      if (next.until <= now) this.nextSizes.delete(name);
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

const perStore = new WeakMap<AuditStore, JtiBlocks>();

/** The process's jti blocks for an audit store, made on first use. */
export function jtiBlocks(audit: AuditStore, clock: () => number): JtiBlocks {
  let blocks = perStore.get(audit);
  if (blocks === undefined) {
    blocks = new JtiBlocks(audit, clock);
    perStore.set(audit, blocks);
  }
  return blocks;
}

/** Closes the open blocks (at shutdown); a later request would start new ones. */
export async function closeJtiBlocks(audit: AuditStore): Promise<void> {
  const blocks = perStore.get(audit);
  perStore.delete(audit);
  await blocks?.close();
}
