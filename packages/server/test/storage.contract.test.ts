/**
 * One contract for every store, run against SQLite and a real PostgreSQL server (DESIGN §2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import type { AuthorizationCode } from '../src/storage/codes.js';
import type { RefreshToken } from '../src/storage/tokens.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

describe.each(DATABASES)('storage contract on $kind', ({ create }) => {
  let throwaway: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  const now = 1_800_000_000_000;

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

  it('migrates idempotently: opening the same database again changes nothing', async () => {
    const again = await openDatabase(throwaway.target);
    expect((await createStores(again).environments.list()).map((e) => e.name)).toEqual([
      'development',
      'production',
    ]);
    await again.close();
  });

  it('migrates once when several processes open a fresh database at the same time', async () => {
    const fresh = await create();
    try {
      const handles = await Promise.all([
        openDatabase(fresh.target),
        openDatabase(fresh.target),
        openDatabase(fresh.target),
      ]);
      const rows = await handles[0].db.selectFrom('environments').selectAll().execute();
      expect(rows).toEqual([]);
      await Promise.all(handles.map((h) => h.close()));
    } finally {
      await fresh.drop();
    }
  });

  it('keeps a parked authorization request, adds facts to it while it waits, and not after it expired', async () => {
    const pending = {
      clientId: 'ghc_development_parked',
      redirectUri: 'http://127.0.0.1/callback',
      scope: ['openid'],
      state: 's',
      codeChallenge: 'c'.repeat(43),
      nonce: null,
      prompt: [],
      maxAge: null,
      loginHint: null,
      resource: null,
    };
    const requests = stores.authorizationRequests;
    await requests.save('development', 'parked-1', pending, now + 600_000, now);
    await requests.update('development', 'parked-1', now + 1, { signedInAt: now + 1 });
    expect(await requests.find('development', 'parked-1', now + 2)).toEqual({
      ...pending,
      signedInAt: now + 1,
    });
    // Another environment's request of the same id is untouched; an expired one is not revived.
    await requests.update('production', 'parked-1', now + 1, { signedInAt: 0 });
    await requests.update('development', 'parked-1', now + 600_000, { signedInAt: 0 });
    expect(await requests.find('development', 'parked-1', now + 2)).toMatchObject({
      signedInAt: now + 1,
    });
    await requests.delete('development', 'parked-1');
    expect(await requests.find('development', 'parked-1', now + 2)).toBeUndefined();
  });

  it('refuses a second environment of the same name', async () => {
    expect(
      await stores.environments.create({ name: 'development', tier: 'production', createdAt: now }),
    ).toBe(false);
    expect((await stores.environments.get('development'))?.tier).toBe('development');
  });

  it('keeps clients per environment and updates them', async () => {
    await stores.clients.create({
      clientId: 'ghc_development_c1',
      environment: 'development',
      name: 'CLI',
      type: 'native',
      secretHash: null,
      redirectUris: ['http://127.0.0.1/callback'],
      grantTypes: ['authorization_code', 'refresh_token'],
      skipConsent: false,
      redirectUriExpiries: { 'http://127.0.0.1/callback': now + 60_000 },
      managedBy: 'cli',
      promotedFrom: null,
      kind: 'registered',
      metadata: {},
      registrationTokenHash: null,
      fetchedAt: null,
      allowedResources: null,
      exchangeAudiences: ['https://api.example.com/'],
      scopes: ['reports:read'],
      createdAt: now,
      updatedAt: now,
    });
    expect(await stores.clients.get('production', 'ghc_development_c1')).toBeUndefined();
    // Counted and found by the database, per environment (housekeeping and the first start never
    // load every client).
    expect(await stores.clients.count('development')).toBe(1);
    expect(await stores.clients.count('production')).toBe(0);
    expect(
      (await stores.clients.listWithExpiringRedirectUris('development')).map((c) => c.clientId),
    ).toEqual(['ghc_development_c1']);
    expect(await stores.clients.get('development', 'ghc_development_c1')).toMatchObject({
      redirectUriExpiries: { 'http://127.0.0.1/callback': now + 60_000 },
      managedBy: 'cli',
      promotedFrom: null,
      kind: 'registered',
      allowedResources: null,
      exchangeAudiences: ['https://api.example.com/'],
      scopes: ['reports:read'],
    });
    const updated = await stores.clients.update(
      'development',
      'ghc_development_c1',
      { redirectUris: ['http://[::1]/cb'] },
      now + 1,
    );
    expect(updated).toMatchObject({
      redirectUris: ['http://[::1]/cb'],
      name: 'CLI',
      updatedAt: now + 1,
    });
    expect(
      await stores.clients.update('production', 'ghc_development_c1', { name: 'x' }, now),
    ).toBeUndefined();
    expect(await stores.clients.delete('development', 'ghc_development_c1')).toBe(true);
    expect(await stores.clients.delete('development', 'ghc_development_c1')).toBe(false);
  });

  it('keeps one account per email and environment, case-insensitively', async () => {
    const user = {
      id: 'u1',
      environment: 'development',
      email: 'Ada@Example.com',
      name: 'Ada',
      passwordHash: null,
      disabled: false,
      createdAt: now,
      updatedAt: now,
    };
    expect(await stores.users.create(user)).toBe(true);
    expect(await stores.users.create({ ...user, id: 'u2', email: 'ada@example.COM' })).toBe(false);
    expect(await stores.users.create({ ...user, id: 'u3', environment: 'production' })).toBe(true);
    expect((await stores.users.findByEmail('development', ' ADA@example.com'))?.id).toBe('u1');
    expect(await stores.users.count('development')).toBe(1);
    expect(await stores.users.count('staging')).toBe(0);
  });

  const code = (hash: string): AuthorizationCode => ({
    codeHash: hash,
    environment: 'development',
    clientId: 'c',
    userId: 'u1',
    redirectUri: 'http://127.0.0.1/cb',
    redirectUriSent: false,
    codeChallenge: 'x',
    scope: ['openid'],
    nonce: null,
    resource: null,
    authTime: now,
    expiresAt: now + 60_000,
    impersonationId: null,
    grantId: null,
    createdAt: now,
  });

  /** Stores a code the way the authorize endpoint does: with its audit entry. */
  const issue = (stored: AuthorizationCode) =>
    stores.codes.issue(stored, {
      at: now,
      event: {
        environment: stored.environment,
        type: 'code.issued',
        actor: `user:${stored.userId}`,
        clientId: stored.clientId,
        userId: stored.userId,
      },
    });

  it('consumes a code once, reports a replay, and refuses an expired one', async () => {
    await issue(code('k1'));
    expect((await stores.codes.consume('development', 'k1', 'g1', now + 1)).status).toBe(
      'consumed',
    );
    // A replay names the grant the code was spent on, so that grant can be revoked.
    expect(await stores.codes.consume('development', 'k1', 'g-replay', now + 2)).toEqual({
      status: 'replayed',
      grantId: 'g1',
    });
    expect(await stores.codes.grantClient('development', 'g1')).toBe('c');
    expect(await stores.codes.grantClient('production', 'g1')).toBeUndefined();
    expect((await stores.codes.consume('production', 'k1', 'g', now + 2)).status).toBe('unknown');
    await issue(code('k2'));
    expect((await stores.codes.consume('development', 'k2', 'g', now + 60_001)).status).toBe(
      'unknown',
    );
  });

  it('redeems a code in one step only when everything presented matches, and only once', async () => {
    await issue({ ...code('r1'), resource: 'https://api.example' });
    const presented = { clientId: 'c', codeChallenge: 'x' };
    // Each mismatch leaves the code unspent.
    for (const wrong of [
      { ...presented, clientId: 'other' },
      { ...presented, codeChallenge: 'y' },
      { ...presented, redirectUri: 'http://127.0.0.1/other' },
      { ...presented, resource: 'https://elsewhere.example' },
    ])
      expect(await stores.codes.redeem('development', 'r1', wrong, 'g', now + 1)).toBeUndefined();
    expect(
      await stores.codes.redeem('development', 'r1', presented, 'g', now + 60_000),
    ).toBeUndefined();
    expect(await stores.codes.redeem('production', 'r1', presented, 'g', now + 1)).toBeUndefined();
    const redeemed = await stores.codes.redeem(
      'development',
      'r1',
      { ...presented, redirectUri: 'http://127.0.0.1/cb', resource: 'https://api.example' },
      'g-r1',
      now + 1,
    );
    expect(redeemed).toMatchObject({
      codeHash: 'r1',
      userId: 'u1',
      resource: 'https://api.example',
      grantId: 'g-r1',
    });
    expect(await stores.codes.redeem('development', 'r1', presented, 'g', now + 2)).toBeUndefined();
    expect((await stores.codes.consume('development', 'r1', 'g', now + 2)).status).toBe('replayed');
    await issue(code('race-redeem'));
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        stores.codes.redeem('development', 'race-redeem', presented, 'g', now + 5),
      ),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('lets exactly one of 50 concurrent redemptions of a code succeed', async () => {
    await issue(code('race'));
    const results = await Promise.all(
      Array.from({ length: 50 }, () => stores.codes.consume('development', 'race', 'g', now + 5)),
    );
    expect(results.filter((r) => r.status === 'consumed')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'replayed')).toHaveLength(49);
  });

  const refresh = (hash: string, family: string): RefreshToken => ({
    tokenHash: hash,
    familyId: family,
    environment: 'development',
    clientId: 'c',
    userId: 'u1',
    scope: ['openid', 'offline_access'],
    resource: null,
    authTime: now,
    codeHash: 'k1',
    expiresAt: now + 86_400_000,
    impersonationId: null,
    createdAt: now,
  });

  it('rotates a refresh token once and revokes the family on reuse', async () => {
    // The family's access tokens have no rows: a `grant` revocation event revokes them
    // (revocation-events.test.ts, revocation-attacks.test.ts).
    await stores.tokens.saveRefresh(refresh('r1', 'f1'));
    expect((await stores.tokens.rotateRefresh('development', 'r1', now + 1)).status).toBe(
      'rotated',
    );
    await stores.tokens.saveRefresh(refresh('r2', 'f1'));
    const reuse = await stores.tokens.rotateRefresh('development', 'r1', now + 2);
    expect(reuse.status).toBe('reused');
    await stores.tokens.revokeFamily('development', 'f1', now + 2);
    expect(await stores.tokens.findActiveRefresh('development', 'r2', now + 3)).toBeUndefined();
    // One stored after the revocation (a concurrent rotation) is dead too.
    await stores.tokens.saveRefresh(refresh('r3', 'f1'));
    expect(await stores.tokens.findActiveRefresh('development', 'r3', now + 3)).toBeUndefined();
  });

  it('rotates in one step only a usable token of the presenting client and resource', async () => {
    await stores.tokens.saveRefresh({ ...refresh('ro1', 'fo1'), resource: 'https://api.example' });
    for (const wrong of [
      { clientId: 'other' },
      { clientId: 'c', resource: 'https://else.example' },
    ])
      expect(
        await stores.tokens.rotateRefreshOf('development', 'ro1', wrong, now + 1),
      ).toBeUndefined();
    expect(
      await stores.tokens.rotateRefreshOf(
        'development',
        'ro1',
        { clientId: 'c' },
        now + 86_400_000,
      ),
    ).toBeUndefined();
    // Nothing was spent by the refusals.
    expect(await stores.tokens.findActiveRefresh('development', 'ro1', now + 1)).toBeDefined();
    const rotated = await stores.tokens.rotateRefreshOf(
      'development',
      'ro1',
      { clientId: 'c', resource: 'https://api.example' },
      now + 1,
    );
    expect(rotated).toMatchObject({ tokenHash: 'ro1', familyId: 'fo1' });
    expect(
      await stores.tokens.rotateRefreshOf('development', 'ro1', { clientId: 'c' }, now + 2),
    ).toBeUndefined();
    expect((await stores.tokens.rotateRefresh('development', 'ro1', now + 2)).status).toBe(
      'reused',
    );
    await stores.tokens.saveRefresh(refresh('ro-race', 'fo-race'));
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        stores.tokens.rotateRefreshOf('development', 'ro-race', { clientId: 'c' }, now + 5),
      ),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('lets exactly one of 20 concurrent rotations of a refresh token succeed', async () => {
    await stores.tokens.saveRefresh(refresh('race-r', 'f-race'));
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        stores.tokens.rotateRefresh('development', 'race-r', now + 5),
      ),
    );
    expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
  });

  it('revokes every refresh token issued from a replayed code, stored before or after', async () => {
    await stores.tokens.saveRefresh({ ...refresh('r9', 'f9'), codeHash: 'code-9' });
    await stores.tokens.revokeIssuedFromCode('development', 'code-9', now + 1);
    expect(await stores.tokens.findActiveRefresh('development', 'r9', now + 2)).toBeUndefined();
    await stores.tokens.saveRefresh({ ...refresh('r10', 'f10'), codeHash: 'code-9' });
    expect(await stores.tokens.findActiveRefresh('development', 'r10', now + 2)).toBeUndefined();
  });

  it('chains audit entries, even when appended concurrently, and detects tampering', async () => {
    // The codes issued above were each recorded by an entry.
    const { count: before } = await stores.audit.verify();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stores.audit.append(
          { environment: 'development', type: 'test.event', actor: 'system', data: { i } },
          now + i,
        ),
      ),
    );
    const verified = await stores.audit.verify();
    expect(verified).toMatchObject({ ok: true, count: before + 20 });
    expect(
      (await stores.audit.tail({ environment: 'development', limit: 5 })).map((e) => e.seq),
    ).toEqual([16, 17, 18, 19, 20].map((seq) => before + seq));

    await handle.db
      .updateTable('audit_log')
      .set({ data: '{"i":999}' })
      .where('seq', '=', before + 7)
      .execute();
    expect(await stores.audit.verify()).toMatchObject({
      ok: false,
      seq: before + 7,
      count: before + 6,
    });
  });

  it('refuses to write a secret into the audit log', async () => {
    await expect(
      stores.audit.append(
        { environment: null, type: 'x', actor: 'system', data: { client_secret: 'x' } },
        now,
      ),
    ).rejects.toThrow(TypeError);
  });

  it('ends an impersonation exactly once among concurrent callers', async () => {
    await stores.impersonations.create({
      id: 'imp_1',
      environment: 'development',
      operatorId: 'op_1',
      userId: 'u1',
      clientId: 'c',
      reason: 'ticket',
      cookieHash: 'h1',
      startedAt: now,
      expiresAt: now + 60_000,
      endedAt: null,
      endReason: null,
    });
    expect(await stores.impersonations.findByCookie('production', 'h1')).toBeUndefined();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        stores.impersonations.end('development', 'imp_1', 'ended', now + 1),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.impersonations.get('development', 'imp_1')).toMatchObject({
      endedAt: now + 1,
      endReason: 'ended',
    });
    expect(await stores.impersonations.listExpiredUnended(now + 120_000)).toEqual([]);
  });

  it('keeps operator emails unique whatever their case, and their sessions until expiry', async () => {
    const operator = {
      id: 'op_a',
      email: 'Ops@Example.com',
      role: 'admin' as const,
      passwordHash: 'x',
      disabled: false,
      createdAt: now,
      updatedAt: now,
    };
    expect(await stores.operators.create(operator)).toBe(true);
    expect(
      await stores.operators.create({ ...operator, id: 'op_b', email: 'ops@example.COM' }),
    ).toBe(false);
    expect((await stores.operators.findByEmail('OPS@example.com'))?.id).toBe('op_a');
    await stores.operators.createSession({
      idHash: 's1',
      operatorId: 'op_a',
      csrfToken: 't',
      expiresAt: now + 1000,
      createdAt: now,
    });
    expect(await stores.operators.findSession('s1', now + 999)).toBeDefined();
    expect(await stores.operators.findSession('s1', now + 1000)).toBeUndefined();
  });

  it('housekeeping removes what has expired, in batches, and keeps what still matters', async () => {
    // Far after every other test's rows, so this test's sweep removes theirs too: it runs last.
    const base = now + 10 * 86_400_000;
    const hour = 3_600_000;
    // Rows written before access tokens stopped having rows (issue #15): purged as they expire.
    const access = (jti: string, expiresAt: number) =>
      handle.db
        .insertInto('access_tokens')
        .values({
          jti,
          environment: 'development',
          client_id: 'c',
          user_id: 'u1',
          family_id: null,
          code_hash: null,
          expires_at: expiresAt,
          revoked_at: null,
          impersonation_id: null,
          created_at: base - hour,
        })
        .execute();
    const findAccess = (jti: string) =>
      handle.db.selectFrom('access_tokens').select('jti').where('jti', '=', jti).executeTakeFirst();
    await access('hk-a-expired', base - 1);
    await access('hk-a-live', base + 1000);
    const token = (hash: string, family: string, expiresAt: number): RefreshToken => ({
      ...refresh(hash, family),
      codeHash: null,
      expiresAt,
    });
    // A family still alive: its rotated token (itself past its own expiry) must stay.
    await stores.tokens.saveRefresh(token('hk-r-rotated', 'hk-f-live', base - 1));
    expect(
      (await stores.tokens.rotateRefresh('development', 'hk-r-rotated', base - 2 * hour)).status,
    ).toBe('rotated');
    await stores.tokens.saveRefresh(token('hk-r-newest', 'hk-f-live', base + 86_400_000));
    // A family that expired, and one that was revoked before its expiry.
    await stores.tokens.saveRefresh(token('hk-r-dead-1', 'hk-f-dead', base - 2));
    expect(
      (await stores.tokens.rotateRefresh('development', 'hk-r-dead-1', base - hour)).status,
    ).toBe('rotated');
    await stores.tokens.saveRefresh(token('hk-r-dead-2', 'hk-f-dead', base - 1));
    await stores.tokens.saveRefresh(token('hk-r-revoked', 'hk-f-revoked', base + 86_400_000));
    await stores.tokens.revokeFamily('development', 'hk-f-revoked', base - hour);
    // Codes: never redeemed and expired; redeemed and expired within the hour; and long ago.
    await issue({ ...code('hk-c-unused'), expiresAt: base - 1 });
    await issue({ ...code('hk-c-recent'), expiresAt: base - 1 });
    await stores.codes.consume('development', 'hk-c-recent', 'g', base - 2);
    await issue({ ...code('hk-c-old'), expiresAt: base - hour - 1 });
    await stores.codes.consume('development', 'hk-c-old', 'g', base - hour - 2);
    await issue({ ...code('hk-c-live'), expiresAt: base + 60_000 });
    const session = (idHash: string, expiresAt: number) =>
      stores.sessions.create({
        idHash,
        environment: 'development',
        userId: 'u1',
        sid: null,
        authTime: base - hour,
        expiresAt,
        createdAt: base - hour,
      });
    await session('hk-s-expired', base - 1);
    await session('hk-s-live', base + hour);
    await stores.refusedRedirects.record(
      'development',
      'hk-client',
      'https://old.example/cb',
      'x',
      base - 31 * 86_400_000,
    );
    await stores.refusedRedirects.record(
      'development',
      'hk-client',
      'https://recent.example/cb',
      'x',
      base - 86_400_000,
    );

    const removed = await stores.expired.sweep(base, { batch: 2 });
    expect(removed).toBeDefined();

    expect(await findAccess('hk-a-expired')).toBeUndefined();
    expect(await findAccess('hk-a-live')).toBeDefined();
    // Replay detection still works in the live family: the rotated token is reuse, not unknown.
    expect(await stores.tokens.findActiveRefresh('development', 'hk-r-newest', base)).toBeDefined();
    expect((await stores.tokens.rotateRefresh('development', 'hk-r-rotated', base)).status).toBe(
      'reused',
    );
    for (const gone of ['hk-r-dead-1', 'hk-r-dead-2', 'hk-r-revoked'])
      expect((await stores.tokens.rotateRefresh('development', gone, base)).status).toBe('unknown');
    expect(await stores.tokens.familyClient('development', 'hk-f-dead')).toBeUndefined();
    expect(await stores.tokens.familyClient('development', 'hk-f-revoked')).toBeUndefined();
    expect(await stores.codes.find('development', 'hk-c-unused')).toBeUndefined();
    expect(await stores.codes.find('development', 'hk-c-old')).toBeUndefined();
    expect(await stores.codes.find('development', 'hk-c-recent')).toBeDefined();
    expect(await stores.codes.find('development', 'hk-c-live')).toBeDefined();
    expect(await stores.sessions.find('development', 'hk-s-expired', base - 2)).toBeUndefined();
    expect(await stores.sessions.find('development', 'hk-s-live', base)).toBeDefined();
    expect(
      (await stores.refusedRedirects.list('development', 'hk-client')).map((r) => r.redirectUri),
    ).toEqual(['https://recent.example/cb']);

    // One batch removes at most its limit.
    for (let i = 0; i < 5; i++) await access(`hk-batch-${i}`, base + 10);
    expect(await stores.expired.deleteExpired('access_tokens', base + 11, 2)).toBe(2);
    expect(await stores.expired.deleteExpired('access_tokens', base + 11, 10)).toBe(3);
    // A live family's rows are kept until the family ends; then every row goes.
    await stores.expired.sweep(base + 2 * 86_400_000);
    expect(await stores.tokens.familyClient('development', 'hk-f-live')).toBeUndefined();
  });

  it('lists the clients of one type per environment (the spa clients CORS reads)', async () => {
    const client = (clientId: string, environment: string, type: 'spa' | 'web') => ({
      clientId,
      environment,
      name: clientId,
      type,
      secretHash: null,
      redirectUris: [`https://${clientId}.example.com/callback`],
      grantTypes: ['authorization_code' as const],
      skipConsent: false,
      redirectUriExpiries: {},
      managedBy: null,
      promotedFrom: null,
      kind: 'registered' as const,
      metadata: {},
      registrationTokenHash: null,
      fetchedAt: null,
      allowedResources: null,
      exchangeAudiences: null,
      scopes: [],
      createdAt: now,
      updatedAt: now,
    });
    await stores.clients.create(client('lot-spa-a', 'development', 'spa'));
    await stores.clients.create(client('lot-spa-b', 'development', 'spa'));
    await stores.clients.create(client('lot-web', 'development', 'web'));
    await stores.clients.create(client('lot-spa-p', 'production', 'spa'));
    const ids = async (environment: string) =>
      (await stores.clients.listOfType(environment, 'spa')).map((c) => c.clientId).sort();
    expect(await ids('development')).toEqual(['lot-spa-a', 'lot-spa-b']);
    expect(await ids('production')).toEqual(['lot-spa-p']);
    const listed = await stores.clients.listOfType('development', 'spa');
    expect(listed.find((c) => c.clientId === 'lot-spa-a')).toMatchObject({
      type: 'spa',
      redirectUris: ['https://lot-spa-a.example.com/callback'],
    });
  });

  it('lets one process at a time do housekeeping (PostgreSQL: the others skip the run)', async () => {
    if (handle.kind !== 'postgres') {
      expect(await stores.expired.exclusively(() => Promise.resolve('ran'))).toBe('ran');
      return;
    }
    // Another process's connection holds the lock while this one tries.
    const other = await openDatabase(throwaway.target);
    try {
      const otherStores = createStores(other);
      let inside: string | undefined;
      const held = otherStores.expired.exclusively(async () => {
        inside = await stores.expired.exclusively(() => Promise.resolve('ran'));
        expect(await stores.expired.sweep(now)).toBeUndefined();
        return 'held';
      });
      expect(await held).toBe('held');
      expect(inside).toBeUndefined();
      // Released afterwards.
      expect(await stores.expired.exclusively(() => Promise.resolve('ran'))).toBe('ran');
    } finally {
      await other.close();
    }
  });
});
