/**
 * The stores behind the account page, on SQLite and PostgreSQL: a `user_client` revocation event
 * covers the tokens of exactly one user at one client issued up to it (storage/revocation-events.ts
 * `covering`), and the account store's queries name one user only (storage/account.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores, type Stores } from '../src/storage/index.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { userClientKey, type RevocableClaims } from '../src/storage/revocation-events.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

const ENV = 'development';

describe.each(DATABASES)('account stores on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  const now = 1_900_000_000_000;

  beforeAll(async () => {
    db = await create();
    handle = await openDatabase(db.target);
    stores = createStores(handle);
    await stores.environments.create({ name: ENV, tier: 'development', createdAt: now });
    // Hooks share a loaded machine with Chromium and other suites: more than the 10 s default.
  }, 60_000);
  afterAll(async () => {
    await handle.close();
    await db.drop();
  });

  const claims = (over: Partial<RevocableClaims>): RevocableClaims => ({
    jti: 'j',
    iat: Math.floor(now / 1000),
    clientId: 'cl_app',
    userId: 'usr_ada',
    grantId: null,
    impersonationId: null,
    ...over,
  });

  it('a user_client event covers that user at that client, issued up to it, and nothing else', async () => {
    await stores.revocationEvents.append({
      environment: ENV,
      kind: 'user_client',
      key: userClientKey('usr_ada', 'cl_app'),
      issuedBefore: now,
      expiresAt: now + 660_000,
      createdAt: now,
    });
    const covered = (c: RevocableClaims) => stores.revocationEvents.covering(ENV, c, now);
    expect(await covered(claims({}))).toBe(true);
    expect(await covered(claims({ iat: Math.floor(now / 1000) - 100 }))).toBe(true);
    // A sign-in after the revocation's second: not covered.
    expect(await covered(claims({ iat: Math.floor(now / 1000) + 1 }))).toBe(false);
    expect(await covered(claims({ userId: 'usr_bob' }))).toBe(false);
    expect(await covered(claims({ clientId: 'cl_other' }))).toBe(false);
    // A client's own token (no user) is never a user_client's.
    expect(await covered(claims({ userId: null, clientId: 'usr_ada cl_app' }))).toBe(false);
    // Another environment's tokens: not covered.
    expect(await stores.revocationEvents.covering('staging', claims({}), now)).toBe(false);
    // Expired: covers nothing.
    expect(await stores.revocationEvents.covering(ENV, claims({}), now + 660_000)).toBe(false);
  });

  it('lists one user’s sessions, refresh families (device binding) and spent codes; deletes only their unspent codes, denies only their approved device codes', async () => {
    const session = (id: string, userId: string) =>
      stores.sessions.create({
        idHash: id,
        environment: ENV,
        userId,
        sid: `sid-${id}`,
        authTime: now,
        expiresAt: now + 3_600_000,
        createdAt: now,
      });
    await session('s-ada', 'usr_ada');
    await session('s-bob', 'usr_bob');
    expect((await stores.account.sessions(ENV, 'usr_ada', now)).map((s) => s.idHash)).toStrictEqual(
      ['s-ada'],
    );
    expect(await stores.account.sessions(ENV, 'usr_ada', now + 3_600_000)).toStrictEqual([]);

    const refresh = (hash: string, family: string, userId: string, dpopJkt: string | null) =>
      stores.tokens.saveRefresh({
        tokenHash: hash,
        familyId: family,
        environment: ENV,
        clientId: 'cl_app',
        userId,
        scope: ['openid', 'offline_access'],
        resource: 'https://api.example.test/',
        authTime: now,
        codeHash: null,
        expiresAt: now + 86_400_000,
        impersonationId: null,
        dpopJkt,
        createdAt: now,
      });
    await refresh('r-ada-1', 'fam-ada-1', 'usr_ada', 'thumbprint');
    await refresh('r-ada-2', 'fam-ada-2', 'usr_ada', null);
    await refresh('r-bob', 'fam-bob', 'usr_bob', null);
    const grants = await stores.account.refreshGrants(ENV, 'usr_ada', now);
    expect(grants.map((g) => [g.grantId, g.deviceBound]).sort()).toStrictEqual([
      ['fam-ada-1', true],
      ['fam-ada-2', false],
    ]);
    await stores.tokens.revokeFamily(ENV, 'fam-ada-1', now);
    expect(
      (await stores.account.refreshGrants(ENV, 'usr_ada', now)).map((g) => g.grantId),
    ).toStrictEqual(['fam-ada-2']);

    const code = (hash: string, userId: string) =>
      stores.codes.issue(
        {
          codeHash: hash,
          environment: ENV,
          clientId: 'cl_app',
          userId,
          redirectUri: 'https://app.example.test/cb',
          redirectUriSent: true,
          codeChallenge: 'x'.repeat(43),
          scope: ['openid'],
          nonce: null,
          resource: null,
          authTime: now,
          expiresAt: now + 60_000,
          impersonationId: null,
          createdAt: now,
        },
        {
          at: now,
          event: { environment: ENV, type: 'code.issued', actor: `user:${userId}`, userId },
        },
      );
    await code('c-ada', 'usr_ada');
    await code('c-bob', 'usr_bob');
    expect(await stores.account.deleteUnspentCodes(ENV, 'usr_ada', 'cl_other')).toBe(0);
    expect(await stores.account.deleteUnspentCodes(ENV, 'usr_ada', 'cl_app')).toBe(1);
    expect(await stores.codes.find(ENV, 'c-ada')).toBeUndefined();
    expect(await stores.codes.find(ENV, 'c-bob')).toBeDefined();

    const device = (hash: string, userId: string) =>
      stores.deviceCodes.create({
        deviceCodeHash: hash,
        userCode: hash
          .toUpperCase()
          .replace(/[^A-Z]/g, '')
          .padEnd(8, 'X')
          .slice(0, 8),
        environment: ENV,
        clientId: 'cl_app',
        scope: ['openid'],
        resource: null,
        status: 'approved',
        userId,
        authTime: now,
        intervalS: 5,
        lastPolledAt: null,
        expiresAt: now + 600_000,
        createdAt: now,
      });
    await device('d-ada', 'usr_ada');
    await device('d-bob', 'usr_bob');
    expect(await stores.account.denyApprovedDeviceCodes(ENV, 'usr_ada', 'cl_other')).toBe(0);
    expect(await stores.account.denyApprovedDeviceCodes(ENV, 'usr_ada', 'cl_app')).toBe(1);
    expect((await stores.deviceCodes.findByDeviceCode(ENV, 'd-ada'))?.status).toBe('denied');
    expect((await stores.deviceCodes.findByDeviceCode(ENV, 'd-bob'))?.status).toBe('approved');
  });
});
