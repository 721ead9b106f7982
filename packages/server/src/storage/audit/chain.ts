import type { Kysely } from 'kysely';
import type { AuditKeys } from '../../crypto/audit-keys.js';
import type { Database } from '../schema.js';
import {
  CHAIN_KEYED_EVENT,
  chainHash,
  entryFields,
  GENESIS_HASH,
  isKeyed,
  type AuditEntry,
  type AuditEvent,
} from './entry.js';

/** The newest entry of the chain: what the next entry links to. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** The keys of the audit log, per database handle (and per transaction over it). */
const keysOf = new WeakMap<Kysely<Database>, AuditKeys>();

/** Makes appends through `db` chain with the keyed MAC (called by createStores). */
export function useAuditKeys(db: Kysely<Database>, keys: AuditKeys): void {
  keysOf.set(db, keys);
}

export function auditKeysOf(db: Kysely<Database>): AuditKeys | undefined {
  return keysOf.get(db);
}

/** A process without the secret tried to extend a keyed chain: it would break it. */
export class UnkeyedAppendError extends Error {
  override readonly name = 'UnkeyedAppendError';
  constructor() {
    super(
      'the audit chain is keyed: appending needs GATEHOUSE_SECRET_KEY (or the secret file) to be configured',
    );
  }
}

/**
 * Chains `batch` after `head`. With the key, entries are version 2 (HMAC); when the head is an
 * entry written before keyed chaining (version 1), an `audit.chain_keyed` entry comes first, which
 * records how many unkeyed entries there are and MACs their head: from it on the chain is keyed,
 * and `verify` refuses an unkeyed entry after it. Without the key, only an unkeyed chain may be
 * extended (a bare store in a test): a version 1 entry after a version 2 one is tampering.
 */
export function extendChain(
  head: ChainHead,
  batch: readonly { readonly event: AuditEvent; readonly at: number }[],
  key: Buffer | undefined,
): AuditEntry[] {
  if (key === undefined && isKeyed(head.hash)) throw new UnkeyedAppendError();
  let seq = head.seq;
  let prevHash = head.hash;
  const link = (event: AuditEvent, at: number): AuditEntry => {
    const unhashed = { seq: ++seq, ...entryFields(event, at), prevHash };
    const entry: AuditEntry = { ...unhashed, hash: chainHash(unhashed, key) };
    prevHash = entry.hash;
    return entry;
  };
  const entries: AuditEntry[] = [];
  if (key !== undefined && head.seq > 0 && !isKeyed(head.hash))
    entries.push(
      link(
        {
          environment: null,
          type: CHAIN_KEYED_EVENT,
          actor: 'system',
          data: { unkeyedEntries: head.seq, unkeyedHead: head.hash },
        },
        batch[0]?.at ?? Date.now(),
      ),
    );
  for (const { event, at } of batch) entries.push(link(event, at));
  return entries;
}
