import type { Kysely } from 'kysely';
import type { AuditKeys } from '../../crypto/audit-keys.js';
import type { Database } from '../schema.js';
import { anchorSigned, readAnchor, type AuditAnchor } from './anchor.js';
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
      /** Retention: the oldest entries were exported and removed; the chain starts at the anchor. */
      readonly anchor?: AuditAnchor;
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
 *   and entry `count` has its `head` hash;
 * - after retention removed the oldest entries, the chain starts at the anchor (anchor.ts): it is
 *   MACed under the chain key, the first entry kept has its sequence number and links to its
 *   hash, and at least one entry follows it (a prune never removes the newest).
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
  const anchor = await readAnchor(db);
  let expectedPrev = GENESIS_HASH;
  let expectedSeq = 1;
  if (anchor !== undefined) {
    if (keys === undefined)
      return fail(
        0,
        anchor.firstSeq,
        'its oldest entries were removed (retention) and it starts at a keyed anchor: verifying it needs GATEHOUSE_SECRET_KEY (or the secret file)',
      );
    if (!anchorSigned(keys.chain, anchor))
      return fail(
        0,
        anchor.firstSeq,
        'the anchor the chain starts at (after entries removed by retention) does not match its MAC: it was altered, or written with another secret',
      );
    expectedPrev = anchor.prevHash;
    expectedSeq = anchor.firstSeq;
    if (checkpoint !== undefined && checkpoint.count === anchor.firstSeq - 1) {
      if (checkpoint.head !== anchor.prevHash)
        return fail(
          0,
          anchor.firstSeq,
          `the entries removed by retention do not end with the entry the checkpoint of ${iso(checkpoint.at)} ends with`,
        );
    }
  }
  // Entries removed by retention after keyed chaining began: what is left is keyed throughout.
  const keyedFromAnchor = anchor !== undefined && isKeyed(anchor.prevHash);
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
      const problem = misfit(entry, expectedSeq, expectedPrev, keyed > 0 || keyedFromAnchor, keys);
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
  if (anchor !== undefined && count === 0)
    return fail(
      0,
      anchor.firstSeq,
      `entry ${anchor.firstSeq} is missing: nothing follows the anchor of the entries removed by retention (a prune keeps the newest entry), so the newest entries were deleted`,
    );
  if (keys !== undefined && count > 0 && keyed === 0 && !keyedFromAnchor)
    return fail(
      count,
      1,
      `none of its ${count} entries is keyed: a server of this version keys the chain as it starts, so it was rewritten by someone without the secret (or was never served by this version: start \`gatehouse serve\` once)`,
    );
  // The newest entry's sequence number: the chain's length, removed entries included.
  const last = expectedSeq - 1;
  if (checkpoint !== undefined && last < checkpoint.count)
    return {
      ok: false,
      count,
      seq: last + 1,
      reason: `truncated: the checkpoint of ${iso(checkpoint.at)} says ${checkpoint.count} entries ending in ${short(checkpoint.head)}, the database has ${last}`,
      truncated: true,
    };
  return {
    ok: true,
    count,
    keyed,
    unkeyed: count - keyed,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(anchor === undefined ? {} : { anchor }),
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

export type ExportVerification =
  | {
      readonly ok: true;
      /** Entries in the file. */
      readonly count: number;
      readonly firstSeq: number;
      readonly lastSeq: number;
      /** The hash the first entry links to: the end of the export before it (or genesis). */
      readonly startsAfter: string;
      /** The latest checkpoint: signed with this secret and ending with the file's last entry. */
      readonly checkpoint: Checkpoint;
    }
  | { readonly ok: false; readonly seq: number; readonly reason: string };

/**
 * Checks an export or a retention archive (JSON lines, services/audit-export.ts): its entries
 * follow each other, each links to the one before and matches its MAC (its hash, for an entry
 * from before keyed chaining), and its latest checkpoint is signed with this secret and ends with
 * its last entry. The first entry's link is reported (`startsAfter`): it is the last hash of the
 * archive before, or the anchor's of an older prune.
 */
export function verifyExport(text: string, keys: AuditKeys | undefined): ExportVerification {
  if (keys === undefined)
    return { ok: false, seq: 0, reason: 'verifying an export needs GATEHOUSE_SECRET_KEY' };
  let previous: AuditEntry | undefined;
  let first: AuditEntry | undefined;
  let checkpoint: Checkpoint | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return { ok: false, seq: previous?.seq ?? 0, reason: 'a line is not JSON' };
    }
    if (value.type === 'checkpoint') {
      const candidate = value as unknown as Checkpoint;
      if (!checkpointSigned(keys.checkpoint, candidate))
        return {
          ok: false,
          seq: candidate.count,
          reason: 'a checkpoint is not signed with this secret',
        };
      checkpoint = candidate;
      continue;
    }
    if (value.type !== 'entry') continue;
    const entry: AuditEntry = {
      seq: value.seq as number,
      at: value.at as number,
      environment: value.environment as string | null,
      type: value.event as string,
      actor: value.actor as string,
      clientId: value.clientId as string | null,
      userId: value.userId as string | null,
      data: value.data as AuditEntry['data'],
      prevHash: value.prevHash as string,
      hash: value.hash as string,
    };
    if (previous !== undefined && entry.seq !== previous.seq + 1)
      return { ok: false, seq: previous.seq + 1, reason: `entry ${previous.seq + 1} is missing` };
    if (previous !== undefined && entry.prevHash !== previous.hash)
      return { ok: false, seq: entry.seq, reason: 'its link to the previous entry is broken' };
    const { hash, ...unhashed } = entry;
    if (chainHash(unhashed, isKeyed(hash) ? keys.chain : undefined) !== hash)
      return { ok: false, seq: entry.seq, reason: 'its content does not match its MAC' };
    first ??= entry;
    previous = entry;
  }
  if (first === undefined || previous === undefined)
    return { ok: false, seq: 0, reason: 'it holds no entry' };
  if (checkpoint === undefined)
    return { ok: false, seq: previous.seq, reason: 'it holds no checkpoint' };
  if (checkpoint.count !== previous.seq || checkpoint.head !== previous.hash)
    return {
      ok: false,
      seq: previous.seq,
      reason: `its latest checkpoint (${checkpoint.count} entries) does not end with its last entry (${previous.seq}): entries after the checkpoint were added, or entries before it removed`,
    };
  return {
    ok: true,
    count: previous.seq - first.seq + 1,
    firstSeq: first.seq,
    lastSeq: previous.seq,
    startsAfter: first.prevHash,
    checkpoint,
  };
}
