/**
 * An audited write and its audit entry are one transaction: an issued code or a granted consent
 * is never stored without the entry that records it, nor the entry without it (the way issued
 * tokens already were). Real databases, no mocks: the failures below are the database's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../src/storage/audit.js';
import type { AuthorizationCode } from '../src/storage/codes.js';
import type { ConsentGrant } from '../src/storage/consents.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { withTransaction } from '../src/storage/transaction.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

const now = 1_800_000_000_000;

const code = (codeHash: string): AuthorizationCode => ({
  codeHash,
  environment: 'development',
  clientId: 'c',
  userId: 'u1',
  redirectUri: 'http://127.0.0.1/cb',
  redirectUriSent: true,
  codeChallenge: 'challenge',
  scope: ['openid'],
  nonce: null,
  resource: null,
  authTime: now,
  expiresAt: now + 60_000,
  impersonationId: null,
  grantId: null,
  createdAt: now,
});

const event = (type: string, data: Record<string, unknown> = {}): AuditEvent => ({
  environment: 'development',
  type,
  actor: 'user:u1',
  clientId: 'c',
  userId: 'u1',
  data,
});

/** An entry the audit log refuses: its actor is NOT NULL. The insert fails in the database. */
const unwritable = (type: string): AuditEvent => ({
  ...event(type),
  actor: null as unknown as string,
});

const consent = (userId: string, scopes: readonly string[]): ConsentGrant => ({
  environment: 'development',
  userId,
  clientId: 'c',
  scopes,
  at: now,
});

describe.each(DATABASES)('audited writes on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;

  beforeAll(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle);
    await stores.environments.create({ name: 'development', tier: 'development', createdAt: now });
  });
  afterAll(async () => {
    await handle.close();
    await throwaway.drop();
  });

  const entries = async (type: string) => (await stores.audit.tail({ type, limit: 1000 })).length;

  it('stores an issued code with its entry, in one commit', async () => {
    const entry = await stores.codes.issue(code('issued'), {
      at: now,
      event: event('code.issued', { scope: 'openid' }),
    });
    expect(entry).toMatchObject({ type: 'code.issued', userId: 'u1' });
    expect(await stores.codes.find('development', 'issued')).toMatchObject({ clientId: 'c' });
    // Another connection sees both: they were committed before the issue resolved.
    const other = await openDatabase(throwaway.target);
    try {
      expect(await createStores(other).codes.find('development', 'issued')).toBeDefined();
      expect(
        (await createStores(other).audit.tail({ type: 'code.issued' })).map((e) => e.seq),
      ).toContain(entry.seq);
    } finally {
      await other.close();
    }
  });

  it('stores no code when its entry cannot be written', async () => {
    const before = await entries('code.unwritable');
    await expect(
      stores.codes.issue(code('unrecorded'), { at: now, event: unwritable('code.unwritable') }),
    ).rejects.toThrow();
    expect(await stores.codes.find('development', 'unrecorded')).toBeUndefined();
    expect(await entries('code.unwritable')).toBe(before);
    expect((await stores.audit.verify()).ok).toBe(true);
  });

  it('writes no entry for a code that cannot be stored, and fails it alone in its batch', async () => {
    await stores.codes.issue(code('taken'), { at: now, event: event('code.issued') });
    const before = await entries('code.batch');
    // Issued together, so group-committed together; the third reuses a stored code hash.
    const results = await Promise.allSettled(
      ['batch-0', 'batch-1', 'taken', 'batch-3'].map((hash) =>
        stores.codes.issue(code(hash), { at: now, event: event('code.batch', { hash }) }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(await entries('code.batch')).toBe(before + 3);
    expect(
      (await stores.audit.tail({ type: 'code.batch', limit: 10 })).map((e) => e.data.hash),
    ).not.toContain('taken');
    expect((await stores.audit.verify()).ok).toBe(true);
  });

  it('grants a consent with its entry, as the union of what was granted before', async () => {
    await stores.consents.grant(consent('u1', ['openid', 'email']), {
      at: now,
      event: event('consent.granted'),
    });
    await stores.consents.grant(consent('u1', ['notes:read', 'openid']), {
      at: now + 1,
      event: event('consent.granted'),
    });
    expect(await stores.consents.get('development', 'u1', 'c')).toEqual([
      'email',
      'notes:read',
      'openid',
    ]);
    expect(await entries('consent.granted')).toBe(2);
  });

  it('grants no consent when its entry cannot be written', async () => {
    await expect(
      stores.consents.grant(consent('u2', ['openid']), {
        at: now,
        event: unwritable('consent.unwritable'),
      }),
    ).rejects.toThrow();
    expect(await stores.consents.get('development', 'u2', 'c')).toBeUndefined();
    // Nor widens one that exists.
    await expect(
      stores.consents.grant(consent('u1', ['admin']), {
        at: now,
        event: unwritable('consent.unwritable'),
      }),
    ).rejects.toThrow();
    expect(await stores.consents.get('development', 'u1', 'c')).not.toContain('admin');
  });

  it('records every one of concurrent grants of one consent (one batch, one upsert each)', async () => {
    // On PostgreSQL one statement cannot upsert a row twice: the batch is retried one by one.
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        stores.consents.grant(consent('u3', ['openid']), {
          at: now + i,
          event: event('consent.concurrent', { i }),
        }),
      ),
    );
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(await stores.consents.get('development', 'u3', 'c')).toEqual(['openid']);
    expect(await entries('consent.concurrent')).toBe(5);
    expect((await stores.audit.verify()).ok).toBe(true);
  });

  it('joins a caller’s transaction, and rolls back with it', async () => {
    await expect(
      withTransaction(handle, async (inside) => {
        await inside.codes.issue(code('rolled-back'), { at: now, event: event('code.rolled') });
        await inside.consents.grant(consent('u4', ['openid']), {
          at: now,
          event: event('consent.rolled'),
        });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await stores.codes.find('development', 'rolled-back')).toBeUndefined();
    expect(await stores.consents.get('development', 'u4', 'c')).toBeUndefined();
    expect(await entries('code.rolled')).toBe(0);
    expect(await entries('consent.rolled')).toBe(0);
  });
});
