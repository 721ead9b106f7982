/**
 * Issue #14: audit retention. Entries older than the retention are archived (the export's JSON
 * lines and a signed checkpoint) and then removed; `verify` starts at a keyed anchor and still
 * verifies what is left, and finds an anchor that was altered or removed. Both databases.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditKeys } from '../src/crypto/audit-keys.js';
import { applyAuditRetention, pruneAudit } from '../src/services/audit-retention.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

const keys = auditKeys('audit-retention-test-secret-0123456789abcdef');
const now = 1_800_000_000_000;
const day = 86_400_000;

describe.each(DATABASES)('audit retention on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  let dir: string;

  beforeEach(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle, { auditKeys: keys });
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-archive-'));
    // 30 entries a day apart: entries 1..20 are older than 10 days at `now`.
    for (let i = 0; i < 30; i++)
      await stores.audit.append(
        { environment: null, type: 'test.entry', actor: 'system', data: { i } },
        now - (29 - i) * day - day / 2,
      );
  });
  afterEach(async () => {
    await handle.close();
    await throwaway.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('archives, then removes the old entries; the rest and the archive still verify', async () => {
    const file = join(dir, 'archive.jsonl');
    const result = await pruneAudit(stores.audit, { before: now - 10 * day, to: { file }, now });
    expect(result).toEqual({ removed: 20, firstSeq: 1, lastSeq: 20, file });
    expect((await stores.audit.oldest())?.seq).toBe(21);

    const verified = await stores.audit.verify();
    expect(verified).toMatchObject({ ok: true, count: 10 });
    if (!verified.ok) return;
    expect(verified.anchor).toMatchObject({ firstSeq: 21, removed: 20 });

    // The archive: every removed entry, and a checkpoint ending where the anchor links.
    const text = await readFile(file, 'utf8');
    const archive = stores.audit.verifyExport(text);
    expect(archive).toMatchObject({ ok: true, count: 20, firstSeq: 1, lastSeq: 20 });
    if (!archive.ok) return;
    expect(archive.checkpoint.head).toBe(verified.anchor?.prevHash);
    // The database still reaches the archive's checkpoint.
    expect((await stores.audit.verify(archive.checkpoint)).ok).toBe(true);

    // A second prune goes on from the anchor; appends go on as before.
    await stores.audit.append({ environment: null, type: 'test.after', actor: 'system' }, now);
    const again = await pruneAudit(stores.audit, {
      before: now - 5 * day,
      to: { file: join(dir, 'second.jsonl') },
      now,
    });
    expect(again).toMatchObject({ removed: 5, firstSeq: 21, lastSeq: 25 });
    const second = stores.audit.verifyExport(await readFile(join(dir, 'second.jsonl'), 'utf8'));
    expect(second).toMatchObject({ ok: true, startsAfter: archive.checkpoint.head });
    expect(await stores.audit.verify()).toMatchObject({ ok: true, count: 6 });
  });

  it('never removes the newest entry, and removes nothing when nothing is old enough', async () => {
    const all = await pruneAudit(stores.audit, {
      before: now + day,
      to: { file: join(dir, 'all.jsonl') },
      now,
    });
    expect(all.removed).toBe(29);
    expect(await stores.audit.verify()).toMatchObject({ ok: true, count: 1 });
    const none = await pruneAudit(stores.audit, {
      before: now + day,
      to: { file: join(dir, 'none.jsonl') },
      now,
    });
    expect(none).toEqual({ removed: 0 });
  });

  it('finds an anchor that was moved, altered or deleted without the secret', async () => {
    await pruneAudit(stores.audit, {
      before: now - 10 * day,
      to: { file: join(dir, 'a.jsonl') },
      now,
    });
    // Moved forward over entries deleted behind it.
    await handle.db.deleteFrom('audit_log').where('seq', '<=', 22).execute();
    await handle.db.updateTable('audit_anchor').set({ first_seq: 23 }).execute();
    expect(await stores.audit.verify()).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not match its MAC') as unknown,
    });
    // Deleted: the chain no longer starts at entry 1.
    await handle.db.deleteFrom('audit_anchor').execute();
    expect(await stores.audit.verify()).toMatchObject({ ok: false, seq: 1 });
  });

  it('finds entries deleted after the anchor', async () => {
    await pruneAudit(stores.audit, {
      before: now - 10 * day,
      to: { file: join(dir, 'a.jsonl') },
      now,
    });
    await handle.db.deleteFrom('audit_log').where('seq', '=', 21).execute();
    expect(await stores.audit.verify()).toMatchObject({ ok: false, seq: 21 });
  });

  it('refuses to remove entries that do not verify', async () => {
    await handle.db
      .updateTable('audit_log')
      .set({ actor: 'someone else' })
      .where('seq', '=', 3)
      .execute();
    await expect(
      pruneAudit(stores.audit, { before: now - 10 * day, to: { file: join(dir, 'x.jsonl') }, now }),
    ).rejects.toThrow(/entry 3 does not verify/);
    expect((await stores.audit.oldest())?.seq).toBe(1);
  });

  it('housekeeping prunes only once the oldest entry is past the retention by a tenth of it', async () => {
    const retention = { ms: 25 * day, directory: join(dir, 'archive') };
    // The oldest is 29.5 days old: 25 days and a tenth (2.5) is 27.5.
    const pruned = await applyAuditRetention(stores.audit, retention, now);
    expect(pruned).toMatchObject({ removed: 5, firstSeq: 1, lastSeq: 5 });
    expect(pruned.file).toBe(join(dir, 'archive', 'audit-1-5.jsonl'));
    expect(await applyAuditRetention(stores.audit, retention, now)).toEqual({ removed: 0 });
  });
});
