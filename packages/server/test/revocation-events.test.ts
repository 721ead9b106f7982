/**
 * The revocation-event store (storage/revocation-events.ts) and migration 0012, on SQLite and a
 * real PostgreSQL server.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import type { NewRevocationEvent, RevocableClaims } from '../src/storage/revocation-events.js';
import type { Database } from '../src/storage/schema.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

describe.each(DATABASES)('revocation events on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  const now = 1_800_000_000_000;
  const event = (changes: Partial<NewRevocationEvent> = {}): NewRevocationEvent => ({
    environment: 'development',
    kind: 'token',
    key: 'jti-1',
    issuedBefore: now,
    expiresAt: now + 660_000,
    createdAt: now,
    ...changes,
  });
  const claims = (changes: Partial<RevocableClaims> = {}): RevocableClaims => ({
    jti: 'some-jti',
    iat: now / 1000 - 10,
    clientId: 'some-client',
    userId: 'some-user',
    grantId: 'some-grant',
    impersonationId: null,
    ...changes,
  });

  beforeAll(async () => {
    throwaway = await create();
    handle = await openDatabase(throwaway.target);
    stores = createStores(handle);
    await stores.environments.create({ name: 'development', tier: 'development', createdAt: now });
    await stores.environments.create({ name: 'production', tier: 'production', createdAt: now });
  });
  afterAll(async () => {
    await handle.close();
    await throwaway.drop();
  });

  it('numbers events in order and pages through one environment from a cursor', async () => {
    const first = await stores.revocationEvents.append(event({ key: 'page-1' }));
    await stores.revocationEvents.append(event({ key: 'other-env', environment: 'production' }));
    const second = await stores.revocationEvents.append(event({ key: 'page-2', kind: 'grant' }));
    const third = await stores.revocationEvents.append(event({ key: 'page-3', kind: 'user' }));
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(third.seq).toBeGreaterThan(second.seq);
    const page = await stores.revocationEvents.after('development', first.seq - 1, 2);
    expect(page).toEqual([first, second]);
    expect(page[1]).toEqual({ ...event({ key: 'page-2', kind: 'grant' }), seq: second.seq });
    expect(await stores.revocationEvents.after('development', second.seq, 10)).toEqual([third]);
    expect(await stores.revocationEvents.after('development', third.seq, 10)).toEqual([]);
    const elsewhere = await stores.revocationEvents.after('production', 0, 10);
    expect(elsewhere.map((e) => e.key)).toEqual(['other-env']);
  });

  it('gives concurrent appends distinct seqs, every one of them readable after the last', async () => {
    const start = (await stores.revocationEvents.after('development', 0, 10_000)).at(-1)?.seq ?? 0;
    const appended = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        stores.revocationEvents.append(event({ key: `concurrent-${i}` })),
      ),
    );
    const seqs = appended.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(30);
    const read = await stores.revocationEvents.after('development', start, 10_000);
    expect(read.map((e) => e.seq)).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('covers a token by each of its claims, issued at or before the event, until the event expires', async () => {
    const at = now + 3_600_000;
    const iat = at / 1000 - 5;
    const covering = (c: Partial<RevocableClaims>, time = at) =>
      stores.revocationEvents.covering('development', claims({ iat, ...c }), time);
    expect(await covering({})).toBe(false);
    for (const [k, claim] of [
      ['token', { jti: 'jti-covered' }],
      ['grant', { grantId: 'grant-covered' }],
      ['user', { userId: 'user-covered' }],
      ['client', { clientId: 'client-covered' }],
      ['impersonation', { impersonationId: 'imp-covered' }],
    ] as const) {
      const key = Object.values(claim)[0] as string;
      await stores.revocationEvents.append(
        event({ kind: k, key, issuedBefore: at, createdAt: at, expiresAt: at + 660_000 }),
      );
      expect(await covering(claim), k).toBe(true);
      // Another environment's event covers nothing here.
      expect(
        await stores.revocationEvents.covering('production', claims({ iat, ...claim }), at),
      ).toBe(false);
    }
    // A claim of the wrong kind does not match: a user event keyed like a jti is not a token event.
    expect(await covering({ jti: 'user-covered' })).toBe(false);
    // Issued in the event's second counts as before it (fail safe); a second later does not.
    expect(await covering({ grantId: 'grant-covered', iat: at / 1000 })).toBe(true);
    expect(await covering({ grantId: 'grant-covered', iat: at / 1000 + 1 })).toBe(false);
    // A token event names one token: it covers it whatever its iat, so a token signed by a
    // process whose clock runs ahead of the revoking process's is still revoked.
    expect(await covering({ jti: 'jti-covered', iat: at / 1000 + 120 })).toBe(true);
    // An expired event covers nothing (and housekeeping removes it).
    expect(await covering({ jti: 'jti-covered' }, at + 660_000)).toBe(false);
    const removed = await stores.expired.removeExpired(at + 660_000);
    expect(removed.revocation_events).toBeGreaterThanOrEqual(5);
    expect(await covering({ jti: 'jti-covered' })).toBe(false);
  });

  it('migration 0012 turns every revoked, unexpired access-token row into a token event', async () => {
    const fresh = await create();
    try {
      const old = await openDatabase(fresh.target);
      const db = old.db;
      await createStores(old).environments.create({
        name: 'development',
        tier: 'development',
        createdAt: now,
      });
      await undoMigration0012(db);
      const wall = Date.now();
      const row = (jti: string, changes: Record<string, unknown> = {}) => ({
        jti,
        environment: 'development',
        client_id: 'c',
        user_id: 'u',
        family_id: null,
        code_hash: null,
        expires_at: wall + 300_000,
        revoked_at: null,
        impersonation_id: null,
        created_at: wall - 300_000,
        ...changes,
      });
      await db
        .insertInto('access_tokens')
        .values([
          row('revoked', { revoked_at: wall - 1000 }),
          row('revoked-expired', { revoked_at: wall - 1000, expires_at: wall - 1 }),
          row('live'),
          // Stored after its family (or code, or impersonation) was revoked: revoked by that.
          row('family-revoked', { family_id: 'f-revoked' }),
          row('code-revoked', { code_hash: 'c-revoked' }),
          row('impersonation-ended', { impersonation_id: 'i-ended' }),
          row('family-live', { family_id: 'f-live' }),
        ])
        .execute();
      await db
        .insertInto('revocations')
        .values([
          { kind: 'family', key: 'f-revoked', environment: 'development', revoked_at: wall },
          { kind: 'code', key: 'c-revoked', environment: 'development', revoked_at: wall },
          { kind: 'impersonation', key: 'i-ended', environment: 'development', revoked_at: wall },
        ])
        .execute();
      await old.close();

      const migrated = await openDatabase(fresh.target);
      try {
        const events = await createStores(migrated).revocationEvents.after('development', 0, 100);
        expect(events.map((e) => [e.kind, e.key]).sort()).toEqual(
          [
            ['token', 'code-revoked'],
            ['token', 'family-revoked'],
            ['token', 'impersonation-ended'],
            ['token', 'revoked'],
          ].sort(),
        );
        for (const e of events) {
          // Kept until a minute past the token's expiry; covers it (issued before the migration).
          expect(e.expiresAt).toBe(wall + 300_000 + 60_000);
          expect(e.issuedBefore).toBeGreaterThanOrEqual(wall);
        }
        const covered = (jti: string) =>
          createStores(migrated).revocationEvents.covering(
            'development',
            claims({ jti, iat: Math.floor((wall - 300_000) / 1000) }),
            Date.now(),
          );
        expect(await covered('revoked')).toBe(true);
        expect(await covered('live')).toBe(false);
        expect(await covered('family-live')).toBe(false);
      } finally {
        await migrated.close();
      }
    } finally {
      await fresh.drop();
    }
  });
});

/**
 * Puts a database back as it was before migration 0012, so opening it runs 0012 again (and the
 * migrations after it, which come out first).
 */
async function undoMigration0012(db: Kysely<Database>): Promise<void> {
  await undoMigration0013(db);
  await sql`drop table revocation_events`.execute(db);
  await sql`drop index authorization_codes_grant`.execute(db);
  await sql`alter table authorization_codes drop column grant_id`.execute(db);
  await sql`alter table resources drop column client_id`.execute(db);
  await sql`delete from gatehouse_migrations where name = '0012-revocation-events'`.execute(db);
}

/** Removes what migration 0013 (issue #16) added: additive only, so dropping it is exact. */
async function undoMigration0013(db: Kysely<Database>): Promise<void> {
  await undoMigration0014(db);
  for (const table of [
    'session_clients',
    'logout_deliveries',
    'client_assertion_jtis',
    'pushed_authorization_requests',
  ])
    await sql`drop table ${sql.table(table)}`.execute(db);
  await sql`drop index sessions_sid`.execute(db);
  const columns: [string, string[]][] = [
    [
      'clients',
      [
        'id_token_signed_response_alg',
        'backchannel_logout_uri',
        'jwks',
        'jwks_uri',
        'token_endpoint_auth_method',
        'post_logout_redirect_uris',
        'require_par',
        'pkce_exempt_with_nonce',
      ],
    ],
    ['resources', ['access_token_alg']],
    ['environments', ['require_par']],
    ['users', ['email_verified']],
    ['sessions', ['sid']],
    ['authorization_codes', ['session_claims']],
    ['refresh_tokens', ['session_claims']],
    ['device_codes', ['session_claims']],
  ];
  for (const [table, names] of columns)
    for (const name of names)
      await sql`alter table ${sql.table(table)} drop column ${sql.ref(name)}`.execute(db);
  await sql`delete from gatehouse_migrations where name = '0013-oidc-completeness'`.execute(db);
}

/**
 * Removes what migration 0014 (issue #17) added: additive only, so dropping it is exact. A new
 * column, table or index in 0014 must be dropped here too.
 */
async function undoMigration0014(db: Kysely<Database>): Promise<void> {
  await undoMigration0015(db);
  await sql`drop table dpop_proof_jtis`.execute(db);
  for (const index of [
    'sessions_user',
    'refresh_tokens_user',
    'authorization_codes_user',
    'audit_log_client_user',
  ])
    await sql`drop index ${sql.ref(index)}`.execute(db);
  const columns: [string, string[]][] = [
    ['clients', ['require_dpop']],
    ['environments', ['require_dpop', 'refresh_grace_seconds']],
    ['authorization_codes', ['dpop_jkt']],
    ['refresh_tokens', ['dpop_jkt', 'grace_successors']],
    ['device_codes', ['grant_id']],
  ];
  for (const [table, names] of columns)
    for (const name of names)
      await sql`alter table ${sql.table(table)} drop column ${sql.ref(name)}`.execute(db);
  await sql`delete from gatehouse_migrations where name = '0014-device-bound-tokens'`.execute(db);
}

/**
 * Removes what migration 0015 (issue #18) added: additive only, so dropping it is exact. A new
 * column, table or index in 0015 must be dropped here too.
 */
async function undoMigration0015(db: Kysely<Database>): Promise<void> {
  await undoMigration0016(db);
  await sql`drop table redirect_registrations`.execute(db);
  await sql`alter table environments drop column loopback_hosts`.execute(db);
  await sql`delete from gatehouse_migrations where name = '0015-redirect-governance'`.execute(db);
}

/**
 * Removes what migration 0016 (issue #18) added: one table and its index. A new column, table or
 * index in 0016 must be dropped here too.
 */
async function undoMigration0016(db: Kysely<Database>): Promise<void> {
  await sql`drop table refused_post_logout_redirects`.execute(db);
  await sql`delete from gatehouse_migrations where name = '0016-post-logout-near-misses'`.execute(
    db,
  );
}
