import type { Kysely } from 'kysely';
import type { AuditKeys } from '../../crypto/audit-keys.js';
import type { Database } from '../schema.js';
import { checkpointSigned, type Checkpoint } from './checkpoint.js';
import {
  CHAIN_KEYED_EVENT,
  chainHash,
  GENESIS_HASH,
  isKeyed,
  toEntry,
  type AuditEntry,
} from './entry.js';

export type AuditVerification =
  | {
      readonly ok: true;
      readonly count: number;
      /** Entries MACed under the chain key (version 2). */
      readonly keyed: number;
      /** Entries from before keyed chaining (version 1): the first `unkeyed`, plain SHA-256. */
      readonly unkeyed: number;
      /** The checkpoint the chain was checked against, when one was given. */
      readonly checkpoint?: Checkpoint;
    }
  | {
      readonly ok: false;
      readonly count: number;
      readonly seq: number;
      readonly reason: string;
      /** The chain is shorter than a checkpoint says it was: its newest entries are gone. */
      readonly truncated?: true;
    };

/**
 * Recomputes the chain from its first entry and reports the first entry that does not fit:
 *
 * - every entry links to the one before it, and its hash is its content's: HMAC-SHA-256 under
 *   the chain key for a keyed entry (`v2:`), plain SHA-256 for an unkeyed one;
 * - unkeyed entries (written before keyed chaining) are a prefix, closed by an
 *   `audit.chain_keyed` entry that counts them and MACs their head; an unkeyed entry after a keyed
 *   one is someone without the secret writing;
 * - with the key, a chain with entries but none keyed was rewritten in the old format (a server
 *   of this version marks the chain keyed as it starts);
 * - with a checkpoint: it is signed with this secret, the chain has at least its `count` entries,
 *   and entry `count` has its `head` hash.
 */
export async function verifyChain(
  db: Kysely<Database>,
  keys: AuditKeys | undefined,
  checkpoint?: Checkpoint,
): Promise<AuditVerification> {
  if (checkpoint !== undefined) {
    if (keys === undefined)
      return fail(0, 0, 'checking a checkpoint needs GATEHOUSE_SECRET_KEY (or the secret file)');
    if (!checkpointSigned(keys.checkpoint, checkpoint))
      return fail(
        0,
        0,
        'the checkpoint is not signed with this secret: it was made by another installation, or altered',
      );
  }
  let expectedPrev = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  let keyed = 0;
  const page = 1000;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(page)
      .execute();
    for (const row of rows) {
      const entry = toEntry(row);
      const problem = misfit(entry, expectedSeq, expectedPrev, keyed > 0, keys);
      if (problem !== undefined) return fail(count, problem.seq, problem.reason);
      if (
        checkpoint !== undefined &&
        entry.seq === checkpoint.count &&
        entry.hash !== checkpoint.head
      )
        return fail(
          count,
          entry.seq,
          `it is not the entry the checkpoint of ${iso(checkpoint.at)} ends with (hash ${short(checkpoint.head)}, here ${short(entry.hash)}): the chain was rewritten from here or before`,
        );
      if (isKeyed(entry.hash)) keyed++;
      expectedPrev = entry.hash;
      expectedSeq++;
      count++;
    }
    if (rows.length < page) break;
  }
  if (keys !== undefined && count > 0 && keyed === 0)
    return fail(
      count,
      1,
      `none of its ${count} entries is keyed: a server of this version keys the chain as it starts, so it was rewritten by someone without the secret (or was never served by this version: start \`gatehouse serve\` once)`,
    );
  if (checkpoint !== undefined && count < checkpoint.count)
    return {
      ok: false,
      count,
      seq: count + 1,
      reason: `truncated: the checkpoint of ${iso(checkpoint.at)} says ${checkpoint.count} entries ending in ${short(checkpoint.head)}, the database has ${count}`,
      truncated: true,
    };
  return {
    ok: true,
    count,
    keyed,
    unkeyed: count - keyed,
    ...(checkpoint === undefined ? {} : { checkpoint }),
  };
}

function misfit(
  entry: AuditEntry,
  expectedSeq: number,
  expectedPrev: string,
  keyedBefore: boolean,
  keys: AuditKeys | undefined,
): { seq: number; reason: string } | undefined {
  if (entry.seq !== expectedSeq)
    return { seq: expectedSeq, reason: `entry ${expectedSeq} is missing` };
  const { seq } = entry;
  if (entry.prevHash !== expectedPrev)
    return { seq, reason: 'its link to the previous entry is broken' };
  const { hash, ...unhashed } = entry;
  if (!isKeyed(hash)) {
    if (keyedBefore)
      return {
        seq,
        reason: 'it is not keyed but entries before it are: it was written without the secret',
      };
    if (chainHash(unhashed) !== hash) return { seq, reason: 'its content does not match its hash' };
    return undefined;
  }
  if (keys === undefined)
    return {
      seq,
      reason: 'it is keyed: verifying it needs GATEHOUSE_SECRET_KEY (or the secret file)',
    };
  if (chainHash(unhashed, keys.chain) !== hash)
    return {
      seq,
      reason: 'its content does not match its MAC: it was altered, or written with another secret',
    };
  if (!keyedBefore && seq > 1) {
    const data = entry.data as { unkeyedEntries?: unknown; unkeyedHead?: unknown };
    if (
      entry.type !== CHAIN_KEYED_EVENT ||
      data.unkeyedEntries !== seq - 1 ||
      data.unkeyedHead !== entry.prevHash
    )
      return {
        seq,
        reason: `the unkeyed entries before it are not closed by an ${CHAIN_KEYED_EVENT} entry: entries before it were rewritten without the secret`,
      };
  }
  return undefined;
}

function fail(count: number, seq: number, reason: string): AuditVerification {
  return { ok: false, count, seq, reason };
}

function iso(at: number): string {
  return new Date(at).toISOString();
}

function short(hash: string): string {
  return hash.length > 19 ? `${hash.slice(0, 19)}…` : hash;
}
