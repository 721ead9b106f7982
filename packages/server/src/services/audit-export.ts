import { write as writeFd, type PathLike } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { AuditKeys } from '../crypto/audit-keys.js';
import {
  chainHash,
  signCheckpoint,
  type AuditEntry,
  type AuditStore,
  type ChainHead,
  type Checkpoint,
} from '../storage/audit.js';

/**
 * `gatehouse serve --audit-export FILE|-`: every audit entry, in order, as JSON lines, with signed
 * checkpoints between them, for a SIEM shipper to carry away.
 *
 * Requests never wait for it: they only commit their entries to the database, and the exporter
 * tails the database on its own (a poll, a page at a time). A slow or blocked sink makes it fall
 * behind, never drop anything: it reads the next page only once the last one was written, so
 * nothing piles up in memory either. After a restart it resumes after the last entry the sink
 * has (a file: its last line; stdout: a cursor row in the database).
 *
 * Lines:
 *   {"type":"entry","seq":1,"time":"…","at":…,"environment":…,"event":"client.created",
 *    "actor":…,"clientId":…,"userId":…,"data":{…},"prevHash":…,"hash":…}
 *   {"type":"checkpoint","count":1,"head":"v2:…","at":…,"time":"…","mac":"v1:…"}
 *   {"type":"alarm","seq":…,"reason":"…"}   (the database disagrees with what was exported)
 */
export interface AuditExportSink {
  /** The last entry this sink already has, or undefined for none (start from the first). */
  resumeAfter(): Promise<ChainHead | undefined>;
  /** Resolves once the text is handed to the operating system. */
  write(text: string): Promise<void>;
  /** The sink has everything up to `at`: a sink that cannot tell by itself records it. */
  committed(at: ChainHead): Promise<void>;
  close(): Promise<void>;
}

export interface AuditExporterOptions {
  readonly audit: AuditStore;
  readonly sink: AuditExportSink;
  /** Checkpoints are signed with these; entries are checked against the chain key as they go. */
  readonly keys: AuditKeys;
  readonly clock: () => number;
  /** How often a checkpoint is written when entries were exported since the last one. */
  readonly checkpointIntervalMs: number;
  /** How often the database is looked at for new entries. */
  readonly pollMs?: number;
  /** Told about a failure (the sink, the database) or a disagreement; the export goes on. */
  readonly warn: (message: string, error?: unknown) => void;
}

const PAGE = 500;

export class AuditExporter {
  private position: ChainHead = { seq: 0, hash: '0'.repeat(64) };
  /** The entries exported last (up to a page): where to resume when the database went back. */
  private recent: ChainHead[] = [];
  private checkpointed = -1;
  private lastCheckpointAt = 0;
  private stopping = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly options: AuditExporterOptions) {}

  /** Starts the loop; resolves once the sink said where to resume. */
  async start(): Promise<void> {
    const resumed = await this.options.sink.resumeAfter();
    if (resumed !== undefined) this.position = resumed;
    this.lastCheckpointAt = this.options.clock();
    this.running = this.loop();
  }

  /** How far the sink has got (tests, and the shutdown's last checkpoint). */
  get exported(): ChainHead {
    return this.position;
  }

  /**
   * Exports what is left, up to `graceMs` (a blocked sink must not hold the shutdown forever),
   * writes a last checkpoint when anything was exported since the previous one, and closes.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.running?.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (drained) {
      try {
        await this.checkpoint();
      } catch (error) {
        this.options.warn('the audit export could not write its last checkpoint', error);
      }
    } else this.options.warn('the audit export sink is blocked: stopping without its last entries');
    // A blocked write keeps its file open until it returns; nothing is lost: the next start
    // resumes from what the sink has.
    if (drained) await this.options.sink.close();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    for (;;) {
      let exported = 0;
      try {
        exported = await this.exportPage();
        if (exported === 0) await this.checkWentBack();
        if (exported === 0 && this.dueForCheckpoint()) await this.checkpoint();
        failures = 0;
      } catch (error) {
        failures++;
        if (failures === 1 || failures % 60 === 0)
          this.options.warn('the audit export failed; it will try again', error);
      }
      if (exported === PAGE) continue;
      if (this.stopping && (exported === 0 || failures > 0)) return;
      await this.sleep(failures > 0 ? 1_000 : (this.options.pollMs ?? 500));
    }
  }

  private async exportPage(): Promise<number> {
    const entries = await this.options.audit.after(this.position.seq, PAGE);
    if (entries.length === 0) return 0;
    const lines: string[] = [];
    let previous = this.position;
    for (const entry of entries) {
      const alarm = this.disagreement(previous, entry);
      if (alarm !== undefined) {
        this.options.warn(`audit export: entry ${entry.seq}: ${alarm}`);
        lines.push(JSON.stringify({ type: 'alarm', seq: entry.seq, reason: alarm }));
      }
      lines.push(entryLine(entry));
      previous = { seq: entry.seq, hash: entry.hash };
    }
    await this.options.sink.write(`${lines.join('\n')}\n`);
    this.recent = [...this.recent, ...entries.map((e) => ({ seq: e.seq, hash: e.hash }))].slice(
      -PAGE,
    );
    this.position = previous;
    await this.options.sink.committed(previous);
    return entries.length;
  }

  /**
   * Nothing new after the position: is the database still where the export got to? When its
   * newest entries were deleted (or replaced), nothing after the position would ever come, and
   * what is audited next would fill the deleted places unexported: an alarm, and the export
   * resumes after the newest entry it exported that the database still has.
   */
  private async checkWentBack(): Promise<void> {
    const at = this.position;
    const head = await this.options.audit.head();
    if (head.seq > at.seq || (head.seq === at.seq && head.hash === at.hash)) return;
    let resume = head;
    const first = this.recent[0];
    if (first !== undefined) {
      const still = new Map(
        (await this.options.audit.after(first.seq - 1, PAGE)).map((e) => [e.seq, e.hash]),
      );
      const agreed = this.recent.filter((r) => still.get(r.seq) === r.hash).pop();
      if (agreed !== undefined) resume = agreed;
    }
    const alarm = `the database ends at entry ${head.seq}, the export had reached ${at.seq}: entries were deleted or rewritten in the database; exporting again after entry ${resume.seq}`;
    this.options.warn(`audit export: ${alarm}`);
    await this.options.sink.write(
      `${JSON.stringify({ type: 'alarm', seq: resume.seq + 1, reason: alarm })}\n`,
    );
    this.recent = this.recent.filter((r) => r.seq <= resume.seq);
    this.position = resume;
    await this.options.sink.committed(resume);
  }

  /** What is wrong with `entry` following `previous`, as the exporter saw it. */
  private disagreement(previous: ChainHead, entry: AuditEntry): string | undefined {
    if (entry.seq !== previous.seq + 1)
      return `entries ${previous.seq + 1} to ${entry.seq - 1} are missing from the database`;
    if (entry.prevHash !== previous.hash)
      return 'it does not link to the entry exported before it: the database was rewritten';
    const { hash, ...unhashed } = entry;
    if (hash.startsWith('v2:') && chainHash(unhashed, this.options.keys.chain) !== hash)
      return 'its MAC does not match its content: it was altered in the database';
    // Unkeyed entries are only the prefix from before keyed chaining (verify.ts).
    if (!hash.startsWith('v2:') && previous.hash.startsWith('v2:'))
      return 'it is not keyed but the entry before it is: it was written without the secret';
    if (!hash.startsWith('v2:') && chainHash(unhashed) !== hash)
      return 'its content does not match its hash: it was altered in the database';
    return undefined;
  }

  private dueForCheckpoint(): boolean {
    return (
      this.position.seq !== this.checkpointed &&
      this.options.clock() - this.lastCheckpointAt >= this.options.checkpointIntervalMs
    );
  }

  private async checkpoint(): Promise<void> {
    if (this.position.seq === this.checkpointed || this.position.seq === 0) return;
    const at = this.options.clock();
    const point = signCheckpoint(this.options.keys.checkpoint, {
      count: this.position.seq,
      head: this.position.hash,
      at,
    });
    await this.options.sink.write(`${checkpointLine(point)}\n`);
    this.checkpointed = point.count;
    this.lastCheckpointAt = at;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

export function entryLine(entry: AuditEntry): string {
  return JSON.stringify({
    type: 'entry',
    seq: entry.seq,
    time: new Date(entry.at).toISOString(),
    at: entry.at,
    environment: entry.environment,
    event: entry.type,
    actor: entry.actor,
    clientId: entry.clientId,
    userId: entry.userId,
    data: entry.data,
    prevHash: entry.prevHash,
    hash: entry.hash,
  });
}

export function checkpointLine(point: Checkpoint): string {
  return JSON.stringify({
    type: 'checkpoint',
    count: point.count,
    head: point.head,
    at: point.at,
    time: new Date(point.at).toISOString(),
    mac: point.mac,
  });
}

/** The last entry or checkpoint of an export's text: where it got to. */
export function lastExported(text: string): ChainHead | undefined {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    let value: { type?: unknown; seq?: unknown; hash?: unknown; count?: unknown; head?: unknown };
    try {
      value = JSON.parse(line) as typeof value;
    } catch {
      continue;
    }
    if (value.type === 'entry' && typeof value.seq === 'number' && typeof value.hash === 'string')
      return { seq: value.seq, hash: value.hash };
    if (
      value.type === 'checkpoint' &&
      typeof value.count === 'number' &&
      typeof value.head === 'string'
    )
      return { seq: value.count, hash: value.head };
  }
  return undefined;
}

/** How much of a file's end is read to find where its export got to. */
const TAIL_BYTES = 4 * 1024 * 1024;

/**
 * A file, appended to. It is its own memory: a restart resumes after its last line, so each entry
 * is in it exactly once. A line cut short by a crash is cut off (its entry is written again).
 */
export function fileSink(path: PathLike): AuditExportSink {
  let handle: FileHandle | undefined;
  return {
    async resumeAfter() {
      handle = await open(path, 'a+', 0o600);
      const { size } = await handle.stat();
      if (size === 0) return undefined;
      const start = Math.max(0, size - TAIL_BYTES);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const end = buffer.lastIndexOf(0x0a);
      if (end !== buffer.length - 1) await handle.truncate(start + end + 1);
      const found = lastExported(buffer.subarray(0, end + 1).toString('utf8'));
      if (found === undefined)
        throw new Error(`the audit export ${String(path)} does not end in an export line`);
      return found;
    },
    async write(text) {
      if (handle === undefined) throw new Error('the audit export file is not open');
      await handle.appendFile(text);
    },
    committed: () => Promise.resolve(),
    async close() {
      await handle?.close();
    },
  };
}

/**
 * Standard output (`--audit-export -`). A pipe cannot say what its reader got, so the last entry
 * written is kept in the database (audit_export_cursors, one row per `name`) once the write
 * returned: after a restart the export resumes there. Delivery is at least once: a crash between
 * a write and its cursor update repeats those lines; a shipper dedupes by `seq`. Writes go
 * through the thread pool, never the event loop, so a reader that stops reading blocks only the
 * export.
 */
export function stdoutSink(
  audit: AuditStore,
  clock: () => number,
  name = 'stdout',
  /** Standard output; another descriptor in tests. */
  fd = 1,
): AuditExportSink {
  return {
    resumeAfter: () => audit.exportCursor(name),
    write: (text) => writeAll(fd, Buffer.from(text)),
    committed: (at) => audit.saveExportCursor(name, at, clock()),
    close: () => Promise.resolve(),
  };
}

async function writeAll(fd: number, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += await new Promise<number>((resolve, reject) => {
        writeFd(fd, buffer, offset, buffer.length - offset, null, (error, written) => {
          if (error === null) resolve(written);
          else reject(error);
        });
      });
    } catch (error) {
      // A non-blocking pipe that is full: wait for the reader.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
