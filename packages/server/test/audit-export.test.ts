/* eslint-disable @typescript-eslint/no-unsafe-assignment -- vitest asymmetric matchers are typed any */
/**
 * Issue #13, item 4: `--audit-export` streams every audit entry, with signed checkpoints, to a file
 * or standard output. It survives a restart without losing or repeating an entry (a file) or with
 * at-least-once delivery and sequence numbers (stdout), and a slow or blocked sink never holds up
 * a request. Before, there was no export at all.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditKeys } from '../src/crypto/audit-keys.js';
import { resolveServerConfig, startServer } from '../src/index.js';
import {
  AuditExporter,
  fileSink,
  stdoutSink,
  type AuditExportSink,
} from '../src/services/audit-export.js';
import { createClient } from '../src/services/clients.js';
import { chainHash, latestCheckpoint } from '../src/storage/audit.js';
import { toRow } from '../src/storage/audit/entry.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { pkce, TEST_SECRET_KEY } from './support/server.js';

const keys = auditKeys(TEST_SECRET_KEY);
const now = 1_800_000_000_000;

interface Line {
  type: string;
  seq?: number;
  count?: number;
}

const linesOf = async (file: string): Promise<Line[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

const entrySeqs = (lines: readonly Line[]) =>
  lines.filter((l) => l.type === 'entry').map((l) => l.seq);

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(DATABASES)('the audit export on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  let dir: string;

  const append = (n: number, from = 0) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        stores.audit.append(
          { environment: null, type: 'test.event', actor: 'system', data: { i: from + i } },
          now + from + i,
        ),
      ),
    );
  const exporter = (sink: AuditExportSink) =>
    new AuditExporter({
      audit: stores.audit,
      sink,
      keys,
      clock: () => now,
      checkpointIntervalMs: 60_000,
      pollMs: 20,
      warn: () => undefined,
    });

  beforeEach(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle, { auditKeys: keys });
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-export-'));
  });
  afterEach(async () => {
    await handle.close();
    await throwaway.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('(c) writes every entry to a file exactly once across a restart, even after a cut-off line', async () => {
    const file = join(dir, 'audit.jsonl');
    await append(30);
    const first = exporter(fileSink(file));
    await first.start();
    await until(() => first.exported.seq === 30);
    await first.close();
    // Entries written while it is down, and the last line cut short as a crash would leave it.
    await append(20, 30);
    await appendFile(file, '{"type":"entry","seq":31,"time":"20');
    const second = exporter(fileSink(file));
    await second.start();
    await until(() => second.exported.seq === 50);
    await append(5, 50);
    await until(() => second.exported.seq === 55);
    await second.close();

    const lines = await linesOf(file);
    expect(entrySeqs(lines)).toEqual(range(1, 55));
    expect(lines.filter((l) => l.type === 'checkpoint').map((l) => l.count)).toEqual([30, 55]);
    expect(lines.some((l) => l.type === 'alarm')).toBe(false);
    // The export's latest checkpoint is what `gatehouse audit verify --checkpoint` checks.
    const checkpoint = latestCheckpoint(await readFile(file, 'utf8'));
    expect(await stores.audit.verify(checkpoint)).toMatchObject({ ok: true, count: 55 });
    await handle.db.deleteFrom('audit_log').where('seq', '>', 50).execute();
    expect(await stores.audit.verify(checkpoint)).toMatchObject({ ok: false, truncated: true });
  });

  it('(c) resumes standard output after the cursor kept in the database: no entry lost', async () => {
    const file = join(dir, 'stdout.jsonl');
    const fd = openSync(file, 'a');
    try {
      await append(10);
      const first = exporter(stdoutSink(stores.audit, () => now, 'stdout', fd));
      await first.start();
      await until(() => first.exported.seq === 10);
      await first.close();
      await append(10, 10);
      const second = exporter(stdoutSink(stores.audit, () => now, 'stdout', fd));
      await second.start();
      await until(() => second.exported.seq === 20);
      await second.close();
    } finally {
      closeSync(fd);
    }
    const seqs = entrySeqs(await linesOf(file));
    // At least once: every entry, and any repeat has the same seq for a shipper to drop.
    expect([...new Set(seqs)]).toEqual(range(1, 20));
    expect(await stores.audit.exportCursor('stdout')).toMatchObject({ seq: 20 });
  });

  it('(c) never holds up an append behind a blocked sink, and falls behind without dropping', async () => {
    const written: string[] = [];
    let release: () => void = () => undefined;
    let released = false;
    const blocked: AuditExportSink = {
      resumeAfter: () => Promise.resolve(undefined),
      write: (text) => {
        written.push(text);
        if (released) return Promise.resolve();
        return new Promise((resolve) => (release = resolve));
      },
      committed: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    await append(5);
    const stuck = exporter(blocked);
    await stuck.start();
    await until(() => written.length === 1);
    const started = Date.now();
    await append(200, 5);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stuck.exported.seq).toBe(0);
    expect(written).toHaveLength(1);
    // Unblocked, it catches up with everything.
    released = true;
    release();
    await until(() => stuck.exported.seq === 205);
    const seqs = written
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.type === 'entry')
      .map((l) => l.seq);
    expect(seqs).toEqual(range(1, 205));
    await stuck.close(200);
  });

  it('raises an alarm line when the database no longer agrees with what was exported', async () => {
    const file = join(dir, 'audit.jsonl');
    await append(10);
    const first = exporter(fileSink(file));
    await first.start();
    await until(() => first.exported.seq === 10);
    await first.close();
    // The newest five deleted and five others written in their place.
    await handle.db.deleteFrom('audit_log').where('seq', '>', 5).execute();
    await append(6, 100);
    const second = exporter(fileSink(file));
    await second.start();
    await until(() => second.exported.seq === 11);
    await second.close();
    const alarms = (await linesOf(file)).filter((l) => l.type === 'alarm');
    expect(alarms).toEqual([
      expect.objectContaining({ seq: 11, reason: expect.stringContaining('does not link') }),
    ]);
  });
  it('raises an alarm when the newest exported entries are deleted, even before the chain grows past them again, and exports what is written after', async () => {
    const file = join(dir, 'audit.jsonl');
    await append(10);
    const running = exporter(fileSink(file));
    await running.start();
    await until(() => running.exported.seq === 10);
    // Someone with the database deletes the newest five; what is done next is audited at 6 to 8.
    await handle.db.deleteFrom('audit_log').where('seq', '>', 5).execute();
    await append(3, 100);
    await until(() => running.exported.seq === 8);
    await running.close();
    const lines = await linesOf(file);
    expect(lines.filter((l) => l.type === 'alarm')).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('deleted') }),
    ]);
    expect(entrySeqs(lines).slice(10)).toEqual([6, 7, 8]);
  });

  it('raises an alarm for an unkeyed entry appended after keyed ones (written without the secret)', async () => {
    const file = join(dir, 'audit.jsonl');
    await append(3);
    const head = await stores.audit.head();
    const forged = {
      seq: head.seq + 1,
      at: now,
      environment: null,
      type: 'impersonation.ended',
      actor: 'operator:someone',
      clientId: null,
      userId: null,
      data: {},
      prevHash: head.hash,
    };
    await handle.db
      .insertInto('audit_log')
      .values(toRow({ ...forged, hash: chainHash(forged) }))
      .execute();
    const running = exporter(fileSink(file));
    await running.start();
    await until(() => running.exported.seq === 4);
    await running.close();
    expect((await linesOf(file)).filter((l) => l.type === 'alarm')).toEqual([
      expect.objectContaining({ seq: 4, reason: expect.stringContaining('not keyed') }),
    ]);
  });
});

describe.each(DATABASES)('gatehouse serve --audit-export on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let dir: string;
  beforeAll(async () => {
    throwaway = await create();
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-export-'));
  });
  afterAll(async () => {
    await throwaway.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('(c) answers requests while the export sink (a pipe nobody reads) is blocked', async () => {
    const fifo = join(dir, 'audit.fifo');
    execFileSync('mkfifo', [fifo]);
    const target = throwaway.target;
    const config = resolveServerConfig(
      {
        port: 0,
        auditExport: fifo,
        ...(target.kind === 'sqlite'
          ? { dataDir: target.file.replace(/\/gatehouse\.sqlite$/, '') }
          : { databaseUrl: target.url, secretKey: TEST_SECRET_KEY }),
      },
      process.cwd(),
    );
    const server = await startServer(config, { logger: false });
    try {
      const ctx = { stores: server.stores, clock: Date.now, actor: 'admin:test' };
      // More than a pipe holds (64 KiB): the exporter's write blocks.
      await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          server.stores.audit.append(
            {
              environment: null,
              type: 'test.filler',
              actor: 'system',
              data: { pad: 'x'.repeat(1000), i },
            },
            Date.now(),
          ),
        ),
      );
      const clients = await Promise.all(
        Array.from(
          { length: 4 },
          async (_, i) =>
            (
              await createClient(ctx, {
                environment: 'development',
                type: 'native',
                name: `c${i}`,
                redirectUris: ['http://127.0.0.1/cb'],
              })
            ).client.clientId,
        ),
      );
      const started = Date.now();
      const statuses = await Promise.all(
        clients.flatMap((clientId) =>
          Array.from({ length: 5 }, async (_, j) => {
            const query = new URLSearchParams({
              client_id: clientId,
              redirect_uri: `https://elsewhere.example/${j}`,
              response_type: 'code',
              code_challenge: pkce().challenge,
              code_challenge_method: 'S256',
            });
            return (await fetch(`${server.url}/e/development/authorize?${query.toString()}`))
              .status;
          }),
        ),
      );
      expect(statuses.every((s) => s === 400)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      const refused = await server.stores.audit.tail({ type: 'redirect.refused', limit: 100 });
      expect(refused).toHaveLength(20);
    } finally {
      // Read the pipe, so the blocked write returns and the server can stop.
      const cat = spawn('cat', [fifo], { stdio: ['ignore', 'ignore', 'ignore'] });
      await server.close();
      cat.kill();
    }
  });
});
