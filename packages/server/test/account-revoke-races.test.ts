/**
 * Revoking a client on the account page while the client is using its grant, on SQLite and
 * PostgreSQL (services/account.ts revokeClientAccess): the two moments a grant was invisible to
 * the revocation and survived it.
 * - A refresh in flight: its token is rotated, its successor not stored yet. The family had no
 *   usable token to list, so it was not revoked, and the successor stored a moment later lived on
 *   (and, for a client without a stored consent, the revocation found nothing and ended nothing).
 * - A code redeemed between the revocation reading the grants and deleting the unspent codes: its
 *   grant was read too early, and the refresh token stored from it lived on.
 * - A device code spent by a poll whose tokens are stored a moment later: its grant was recorded
 *   nowhere the revocation could read.
 * In both, the refresh token stored afterwards must be dead, and the access token signed
 * afterwards (its grant_id is the family) refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeClientAccess } from '../src/services/account.js';
import type { ServiceContext } from '../src/services/context.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import type { RefreshToken } from '../src/storage/tokens.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

const ENV = 'development';
const CLIENT = 'cl_app';
const ADA = 'usr_ada';

describe.each(DATABASES)('revoking a client racing its own use, on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  const now = 1_900_000_000_000;
  const ctx = (over: Partial<Stores> = {}): ServiceContext => ({
    stores: { ...stores, ...over },
    clock: () => now,
    actor: `user:${ADA}`,
  });

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

  const refresh = (tokenHash: string, familyId: string): RefreshToken => ({
    tokenHash,
    familyId,
    environment: ENV,
    clientId: CLIENT,
    userId: ADA,
    scope: ['openid', 'offline_access'],
    resource: null,
    authTime: now,
    codeHash: null,
    expiresAt: now + 86_400_000,
    impersonationId: null,
    dpopJkt: null,
    createdAt: now,
  });

  /** What the client got after the revocation is dead: its refresh token and its access token. */
  async function deadAfterwards(successor: RefreshToken): Promise<void> {
    await stores.tokens.saveRefresh(successor);
    expect(
      await stores.tokens.findActiveRefresh(ENV, successor.tokenHash, now + 1),
    ).toBeUndefined();
    expect(
      await stores.tokens.rotateRefreshOf(ENV, successor.tokenHash, { clientId: CLIENT }, now + 1),
    ).toBeUndefined();
    // Its access token, signed a second after the revocation by the request already under way.
    expect(
      await stores.revocationEvents.covering(
        ENV,
        {
          jti: `at-${successor.tokenHash}`,
          iat: Math.floor(now / 1000) + 1,
          clientId: CLIENT,
          userId: ADA,
          grantId: successor.familyId,
          impersonationId: null,
        },
        now + 1_000,
      ),
    ).toBe(true);
  }

  it('a refresh in flight (token rotated, successor not yet stored): the family is revoked, the successor dead', async () => {
    // A first-party client that skips consent: the grant is all the user has given it.
    await stores.tokens.saveRefresh(refresh('r1', 'fam-rotating'));
    expect((await stores.tokens.rotateRefresh(ENV, 'r1', now)).status).toBe('rotated');
    const revoked = await revokeClientAccess(ctx(), ENV, ADA, CLIENT);
    expect(revoked).toMatchObject({ grants: 1 });
    await deadAfterwards(refresh('r2', 'fam-rotating'));
    // Nothing is left: a second revocation finds nothing, and writes no event.
    expect(await revokeClientAccess(ctx(), ENV, ADA, CLIENT)).toBeUndefined();
  });

  it('a code redeemed while the revocation runs, just before the unspent codes go: its grant is revoked', async () => {
    await stores.consents.grant(
      {
        environment: ENV,
        userId: ADA,
        clientId: CLIENT,
        scopes: ['openid', 'offline_access'],
        at: now,
      },
      {
        at: now,
        event: { environment: ENV, type: 'consent.granted', actor: `user:${ADA}`, userId: ADA },
      },
    );
    await stores.codes.issue(
      {
        codeHash: 'c-racing',
        environment: ENV,
        clientId: CLIENT,
        userId: ADA,
        redirectUri: 'https://app.example.test/cb',
        redirectUriSent: true,
        codeChallenge: 'x'.repeat(43),
        scope: ['openid', 'offline_access'],
        nonce: null,
        resource: null,
        authTime: now,
        expiresAt: now + 60_000,
        impersonationId: null,
        createdAt: now,
      },
      {
        at: now,
        event: { environment: ENV, type: 'code.issued', actor: `user:${ADA}`, userId: ADA },
      },
    );
    // The client's token request spends the code at the last moment it still can.
    const account = {
      ...stores.account,
      async deleteUnspentCodes(environment: string, userId: string, clientId: string) {
        expect((await stores.codes.consume(ENV, 'c-racing', 'grant-racing', now)).status).toBe(
          'consumed',
        );
        return stores.account.deleteUnspentCodes(environment, userId, clientId);
      },
    };
    const revoked = await revokeClientAccess(ctx({ account }), ENV, ADA, CLIENT);
    expect(revoked).toMatchObject({ consent: true, grants: 1 });
    await deadAfterwards({ ...refresh('r-from-code', 'grant-racing'), codeHash: 'c-racing' });
  });

  it('a device’s poll that spent its approved code, its tokens not yet stored: its grant is revoked', async () => {
    await stores.deviceCodes.create({
      deviceCodeHash: 'd-racing',
      userCode: 'RACINGXX',
      environment: ENV,
      clientId: CLIENT,
      scope: ['openid', 'offline_access'],
      resource: null,
      status: 'approved',
      userId: ADA,
      authTime: now,
      intervalS: 5,
      lastPolledAt: null,
      expiresAt: now + 600_000,
      createdAt: now,
    });
    // The poll (grants/device-code.ts) spends the code, then signs and stores its tokens.
    expect(await stores.deviceCodes.consume(ENV, 'd-racing', now, 'grant-device')).toBe(true);
    const revoked = await revokeClientAccess(ctx(), ENV, ADA, CLIENT);
    expect(revoked).toMatchObject({ grants: 1 });
    await deadAfterwards(refresh('r-from-device', 'grant-device'));
    expect(await revokeClientAccess(ctx(), ENV, ADA, CLIENT)).toBeUndefined();
  });
});
