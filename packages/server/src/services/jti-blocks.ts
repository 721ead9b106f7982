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
 * their jtis never collide). When a key's block is half used, the next one (twice as large, up to
 * `maxSize`) is reserved ahead, so a busy key's requests do not wait for reservations; a block
 * that ends by age starts its key over at the size it needed (at least `minSize`), so an idle
 * client leaves no large unclosed range.
 *
 * A client chooses its keys (any subset of its scopes; any resource URI where none is
 * registered), so it has at most `maxKeysPerClient` open at once: a new key beyond that closes
 * the client's least recently used one. Otherwise a client sending a new resource in each request
 * would keep a key in memory for every request of the last minute (measured: 200 MB for 20,000
 * requests).
 */
export interface JtiBlockLimits {
  readonly minSize: number;
  readonly maxSize: number;
  readonly maxAgeMs: number;
  /** Keys open at once per (environment, client); default DEFAULT_MAX_KEYS_PER_CLIENT. */
  readonly maxKeysPerClient?: number;
}

export const DEFAULT_MAX_KEYS_PER_CLIENT = 64;

export const DEFAULT_JTI_BLOCK_LIMITS: JtiBlockLimits = {
  minSize: 64,
  maxSize: 4096,
  maxAgeMs: 60_000,
  maxKeysPerClient: DEFAULT_MAX_KEYS_PER_CLIENT,
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

/**
 * A block jti: a 16-byte base64url block id, a dot, the number in base 36 as `toString(36)`
 * writes it. Only that canonical form: `<block>.00` or `<block>.01` were never handed out, yet
 * would parse to numbers that were (an auditor would be told a forged jti was issued).
 */
const BLOCK_JTI = /^([A-Za-z0-9_-]{22})\.(0|[1-9a-z][0-9a-z]{0,10})$/;

/** The block and number of a block jti, or undefined for any other jti (a UUID). */
export function parseBlockJti(jti: string): { block: string; n: number } | undefined {
  const match = BLOCK_JTI.exec(jti);
  if (match === null) return undefined;
  return { block: match[1] as string, n: parseInt(match[2] as string, 36) };
}

interface OpenBlock {
  readonly id: string;
  readonly size: number;
  /** When its reservation was made: the block is closed maxAgeMs later at the latest. */
  readonly reservedAt: number;
  used: number;
}

/** One key's blocks. */
interface Slot {
  readonly key: JtiBlockKey;
  /** Its name in the map of slots, and its client's (environment and client_id). */
  readonly name: string;
  readonly owner: string;
  /**
   * When a jti was last asked for, as a count of requests (not the clock, which may not move
   * between requests): the least recently used key is the one a new key closes.
   */
  lastUsed: number;
  /** The block jtis are handed out from. */
  current: OpenBlock | undefined;
  /**
   * Reserved ahead once the current block is half used, so that a busy key's requests never wait
   * for a reservation; it becomes the current block when that one is used up.
   */
  spare: OpenBlock | undefined;
  /** The reservation under way, at most one per key: concurrent requests wait for the same. */
  reserving: Promise<void> | undefined;
  /** The size the next block gets (after a block ended by age), until when that applies. */
  nextSize: { readonly size: number; readonly until: number } | undefined;
}

export class JtiBlocks {
  private readonly slots = new Map<string, Slot>();
  /** Each client's slots, to hold it to maxKeysPerClient. */
  private readonly slotsOfClient = new Map<string, Set<Slot>>();
  /** Requests so far: each slot's lastUsed. */
  private requests = 0;
  /** Closing entries not yet written (awaited by close()). */
  private readonly closing = new Set<Promise<void>>();
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
   * the key's current block (or the spare reserved ahead) has room.
   */
  async next(key: JtiBlockKey): Promise<string> {
    for (;;) {
      const now = this.clock();
      // Looked up again after each wait: a key closed meanwhile as its client's least recently
      // used starts over as a new one.
      const slot = this.slotOf(key);
      slot.lastUsed = ++this.requests;
      for (const block of [slot.current, slot.spare])
        if (block !== undefined && now - block.reservedAt >= this.limits.maxAgeMs)
          this.retire(slot, block, 'age');
      if (slot.current !== undefined && slot.current.used >= slot.current.size)
        this.retire(slot, slot.current, 'exhausted');
      if (slot.current === undefined && slot.spare !== undefined) {
        slot.current = slot.spare;
        slot.spare = undefined;
      }
      const block = slot.current;
      if (block !== undefined) {
        const n = block.used++;
        if (block.used * 2 >= block.size && slot.spare === undefined) this.reserveAhead(slot);
        return `${block.id}.${n.toString(36)}`;
      }
      if (slot.reserving === undefined && this.stopped)
        throw new Error('the jti blocks are closed: the server is stopping');
      await (slot.reserving ?? this.reserve(slot, this.limits.minSize));
    }
  }

  /** Closes every open block (the server is stopping) and waits for the closing entries. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    // A reservation under way opens its block once durable: closed right after.
    await Promise.allSettled(
      [...this.slots.values()].flatMap((slot) =>
        slot.reserving === undefined ? [] : [slot.reserving],
      ),
    );
    for (const slot of this.slots.values())
      for (const block of [slot.current, slot.spare])
        if (block !== undefined) this.retire(slot, block, 'stop');
    await Promise.all([...this.closing]);
  }

  /** The key's slot; the same grant in any scope order is one key, recorded as a sorted set. */
  private slotOf(given: JtiBlockKey): Slot {
    const scope = given.scope.length < 2 ? given.scope : [...new Set(given.scope)].sort();
    const name = JSON.stringify([given.environment, given.clientId, scope, given.resource]);
    const found = this.slots.get(name);
    if (found !== undefined) return found;
    const owner = JSON.stringify([given.environment, given.clientId]);
    let ofClient = this.slotsOfClient.get(owner);
    if (ofClient === undefined) {
      ofClient = new Set();
      this.slotsOfClient.set(owner, ofClient);
    }
    if (ofClient.size >= (this.limits.maxKeysPerClient ?? DEFAULT_MAX_KEYS_PER_CLIENT))
      this.closeLeastRecentlyUsed(ofClient);
    const slot: Slot = {
      key: { ...given, scope },
      name,
      owner,
      lastUsed: this.requests,
      current: undefined,
      spare: undefined,
      reserving: undefined,
      nextSize: undefined,
    };
    this.slots.set(name, slot);
    ofClient.add(slot);
    return slot;
  }

  /**
   * Closes the blocks of a client's least recently used key and forgets it. A key whose
   * reservation is under way is left alone (its block would open on a forgotten slot and never be
   * closed), so while every key of the client is reserving, the client briefly has more: as many
   * as it has requests waiting.
   */
  private closeLeastRecentlyUsed(ofClient: Set<Slot>): void {
    let oldest: Slot | undefined;
    for (const slot of ofClient)
      if (slot.reserving === undefined && (oldest === undefined || slot.lastUsed < oldest.lastUsed))
        oldest = slot;
    if (oldest === undefined) return;
    for (const block of [oldest.current, oldest.spare])
      if (block !== undefined) this.retire(oldest, block, 'evicted');
    this.forget(oldest);
  }

  private forget(slot: Slot): void {
    this.slots.delete(slot.name);
    const ofClient = this.slotsOfClient.get(slot.owner);
    ofClient?.delete(slot);
    if (ofClient?.size === 0) this.slotsOfClient.delete(slot.owner);
  }

  /** While the current block is in use: the next one, twice its size. */
  private reserveAhead(slot: Slot): void {
    if (slot.reserving !== undefined || this.stopped || slot.current === undefined) return;
    const reservation = this.reserve(slot, Math.min(slot.current.size * 2, this.limits.maxSize));
    // A failure here is the next request's to report, when it needs the block.
    reservation.catch((error: unknown) => {
      this.warn('a jti block could not be reserved ahead', error);
    });
  }

  /** Starts a reservation; its block becomes the slot's spare once the entry is durable. */
  private reserve(slot: Slot, defaultSize: number): Promise<void> {
    const now = this.clock();
    const size =
      slot.nextSize !== undefined && slot.nextSize.until > now ? slot.nextSize.size : defaultSize;
    slot.nextSize = undefined;
    const id = randomBytes(16).toString('base64url');
    const { key } = slot;
    slot.reserving = this.audit
      // Resolves once committed and synced: no jti of the block exists before that.
      .append(
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
        now,
      )
      .then((entry) => {
        slot.spare = { id, size, reservedAt: entry.at, used: 0 };
      })
      .finally(() => {
        slot.reserving = undefined;
      });
    return slot.reserving;
  }

  /**
   * Takes a block out of use and writes its closing entry, without waiting for it. The count is
   * taken now: from here on no jti of the block is handed out.
   */
  private retire(
    slot: Slot,
    block: OpenBlock,
    why: 'exhausted' | 'age' | 'stop' | 'evicted',
  ): void {
    if (slot.current === block) slot.current = undefined;
    if (slot.spare === block) slot.spare = undefined;
    // Ended by age while in use: the key's next block as large as this one needed, if that is
    // soon. (A used-up block's successor is reserved ahead, twice as large.)
    if (why === 'age' && block.used > 0)
      slot.nextSize = {
        size: Math.min(
          Math.max(this.limits.minSize, powerOfTwoAtLeast(block.used)),
          this.limits.maxSize,
        ),
        until: this.clock() + this.limits.maxAgeMs,
      };
    const write = this.audit
      .append(
        {
          environment: slot.key.environment,
          type: JTI_BLOCK_CLOSED,
          actor: `client:${slot.key.clientId}`,
          clientId: slot.key.clientId,
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

  /** Closes the blocks open longer than the limit; forgets keys with nothing left. */
  private sweep(now: number): void {
    for (const slot of this.slots.values()) {
      for (const block of [slot.current, slot.spare])
        if (block !== undefined && now - block.reservedAt >= this.limits.maxAgeMs)
          this.retire(slot, block, 'age');
      if (slot.nextSize !== undefined && slot.nextSize.until <= now) slot.nextSize = undefined;
      if (
        slot.current === undefined &&
        slot.spare === undefined &&
        slot.reserving === undefined &&
        slot.nextSize === undefined
      )
        this.forget(slot);
    }
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

const perStore = new WeakMap<AuditStore, JtiBlocks>();

/**
 * The process's jti blocks for an audit store, made on first use; `warn` (given by the server at
 * start, before any request) hears of a block that could not be reserved ahead or closed.
 */
export function jtiBlocks(
  audit: AuditStore,
  clock: () => number,
  warn?: (message: string, error: unknown) => void,
): JtiBlocks {
  let blocks = perStore.get(audit);
  if (blocks === undefined) {
    blocks = new JtiBlocks(audit, clock, DEFAULT_JTI_BLOCK_LIMITS, warn);
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
