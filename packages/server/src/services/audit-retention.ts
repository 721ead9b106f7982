import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { GENESIS_HASH, type AuditEntry, type AuditStore } from '../storage/audit.js';
import { checkpointLine, entryLine } from './audit-export.js';

/**
 * Audit retention. The log is kept forever unless an operator sets a retention
 * (`gatehouse serve --audit-retention DAYS --audit-archive DIR`, or `gatehouse audit prune`):
 * then the entries older than it are first written to an archive file (JSON lines, the format of
 * `--audit-export`: every entry, then a checkpoint signed with the checkpoint key that ends with
 * the last one), the file is synced, and only then are they removed, in batches, each moving the
 * chain's anchor (MACed under the chain key) to the first entry kept. `gatehouse audit verify`
 * then starts at the anchor; the archive verifies the removed part on its own
 * (`gatehouse audit verify --archive FILE`), and its checkpoint's head is the anchor's link.
 *
 * Nothing is removed when the entries to remove do not verify (their links and MACs are checked
 * as they are written out): evidence of tampering is not thrown away.
 */
export interface AuditPruneResult {
  /** Entries removed; 0 when none were old enough (and no file was written). */
  readonly removed: number;
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  readonly file?: string;
}

const PAGE = 500;

export async function pruneAudit(
  audit: AuditStore,
  options: {
    /** Entries before this time (ms) go. */
    readonly before: number;
    /** The archive file: created, never overwritten. A directory gets a file named by the range. */
    readonly to: { readonly file: string } | { readonly directory: string };
    readonly now: number;
  },
): Promise<AuditPruneResult> {
  // Throws without the server secret, before anything is written.
  audit.signCheckpoint({ seq: 0, hash: GENESIS_HASH }, options.now);
  const head = await audit.head();
  // The newest entry always stays.
  const last = Math.min((await audit.firstAtOrAfter(options.before)) - 1, head.seq - 1);
  const anchor = await audit.anchor();
  const oldest = await audit.oldest();
  if (oldest === undefined || last < oldest.seq) return { removed: 0 };
  const file =
    'file' in options.to
      ? options.to.file
      : join(options.to.directory, `audit-${oldest.seq}-${last}.jsonl`);
  if ('directory' in options.to)
    await mkdir(options.to.directory, { recursive: true, mode: 0o700 });
  const handle = await open(file, 'wx', 0o600);
  let previous = anchor?.prevHash ?? GENESIS_HASH;
  let lastEntry: AuditEntry | undefined;
  try {
    let seq = oldest.seq - 1;
    while (seq < last) {
      const page = (await audit.after(seq, Math.min(PAGE, last - seq))).filter(
        (e) => e.seq <= last,
      );
      if (page.length === 0) break;
      const lines: string[] = [];
      for (const entry of page) {
        if (entry.seq !== seq + 1 || !audit.entryIntact(entry, previous))
          throw new Error(
            `audit entry ${entry.seq} does not verify: nothing was removed (run gatehouse audit verify)`,
          );
        previous = entry.hash;
        seq = entry.seq;
        lastEntry = entry;
        lines.push(entryLine(entry));
      }
      await handle.write(`${lines.join('\n')}\n`);
    }
    if (lastEntry === undefined || lastEntry.seq !== last)
      throw new Error(`audit entry ${seq + 1} is missing: nothing was removed`);
    const checkpoint = audit.signCheckpoint({ seq: last, hash: lastEntry.hash }, options.now);
    await handle.write(`${checkpointLine(checkpoint)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  const removed = await audit.removeThrough(last, options.now);
  return { removed, firstSeq: oldest.seq, lastSeq: last, file };
}

/**
 * Housekeeping: with a retention set, prunes once the oldest entry is older than the retention by
 * a tenth of it (at most a day), so archives come in ranges of about that much, not one per run.
 */
export async function applyAuditRetention(
  audit: AuditStore,
  retention: { readonly ms: number; readonly directory: string },
  now: number,
): Promise<AuditPruneResult> {
  const oldest = await audit.oldest();
  const slack = Math.min(retention.ms / 10, 86_400_000);
  if (oldest === undefined || oldest.at > now - retention.ms - slack) return { removed: 0 };
  return pruneAudit(audit, {
    before: now - retention.ms,
    to: { directory: retention.directory },
    now,
  });
}
