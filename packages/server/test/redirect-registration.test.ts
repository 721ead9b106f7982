/**
 * Redirect registration over time: URIs that expire stop matching at their expiry and are then
 * removed with an audit entry; refused URIs are recorded for operators, within bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { runHousekeeping } from '../src/services/housekeeping.js';
import { addRedirectUri, refusedRedirectsOf } from '../src/services/redirects.js';
import { REFUSED_REDIRECTS_PER_CLIENT } from '../src/storage/refused-redirects.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

describe.each(DATABASES)('redirect registration on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();
  let clientId: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock: () => now });
    clientId = (
      await createClient(t.ctx, {
        environment: 'staging',
        type: 'web',
        name: 'Review apps',
        redirectUris: ['https://app.staging.example.com/callback'],
      })
    ).client.clientId;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const authorize = (redirectUri: string) =>
    new FormBrowser(t.url).get(
      `/e/staging/authorize?${new URLSearchParams({
        client_id: clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }).toString()}`,
    );

  it('stops matching an expiring redirect URI at its expiry, then removes it with an audit entry', async () => {
    const review = 'https://pr-17.staging.example.com/callback';
    const { client } = await addRedirectUri(t.ctx, 'staging', clientId, review, {
      expiresIn: '1h',
    });
    expect(client.redirectUriExpiries[review]).toBe(now + 3_600_000);
    expect((await authorize(review)).status).toBe(303);
    // Housekeeping reads only the clients with an expiring URI, never every client.
    const expiring = async () =>
      (await t.ctx.stores.clients.listWithExpiringRedirectUris('staging')).map((c) => c.clientId);
    expect(await expiring()).toEqual([clientId]);

    now += 3_600_000;
    // Expired, though housekeeping has not run yet: the policy never sees it.
    const refused = await authorize(review);
    expect(refused.status).toBe(400);
    expect((await refusedRedirectsOf(t.ctx, 'staging', clientId)).map((r) => r.uri)).toContain(
      review,
    );
    expect((await authorize('https://app.staging.example.com/callback')).status).toBe(303);

    expect((await runHousekeeping(t.ctx)).redirectUrisRemoved).toBe(1);
    const after = await t.ctx.stores.clients.get('staging', clientId);
    expect(after?.redirectUris).toEqual(['https://app.staging.example.com/callback']);
    expect(after?.redirectUriExpiries).toEqual({});
    const [entry] = await t.ctx.stores.audit.tail({
      type: 'client.redirect_uri_expired',
      clientId,
    });
    expect(entry).toMatchObject({
      actor: 'system',
      data: { removed: [{ uri: review, expiredAt: now }] },
    });
    // Nothing more to do: a second run changes nothing.
    expect(await expiring()).toEqual([]);
    expect((await runHousekeeping(t.ctx)).redirectUrisRemoved).toBe(0);
  });

  it('refuses an expiry in the past or beyond a year', async () => {
    await expect(
      addRedirectUri(t.ctx, 'staging', clientId, 'https://x.staging.example.com/cb', {
        expiresIn: '400d',
      }),
    ).rejects.toMatchObject({ code: 'invalid_duration' });
    await expect(
      addRedirectUri(t.ctx, 'staging', clientId, 'https://x.staging.example.com/cb', {
        expiresIn: '0d',
      }),
    ).rejects.toMatchObject({ code: 'invalid_duration' });
    expect((await t.ctx.stores.clients.get('staging', clientId))?.redirectUris).not.toContain(
      'https://x.staging.example.com/cb',
    );
  });

  it.each(['refusedRedirects', 'refusedPostLogoutRedirects'] as const)(
    'counts refused URIs per client within a bound (%s)',
    async (name) => {
      const store = t.ctx.stores[name];
      await store.forgetClient('staging', clientId);
      for (let i = 0; i < REFUSED_REDIRECTS_PER_CLIENT; i++)
        await store.record(
          'staging',
          clientId,
          `https://spam-${i}.example.com/cb`,
          'no_match',
          now,
        );
      await store.record(
        'staging',
        clientId,
        'https://one-too-many.example.com/cb',
        'no_match',
        now,
      );
      await store.record('staging', clientId, 'https://spam-0.example.com/cb', 'no_match', now + 1);
      const listed = await store.list('staging', clientId);
      expect(listed).toHaveLength(REFUSED_REDIRECTS_PER_CLIENT);
      expect(listed.find((r) => r.redirectUri === 'https://spam-0.example.com/cb')?.count).toBe(2);
      expect(listed.some((r) => r.redirectUri.includes('one-too-many'))).toBe(false);
      await store.forgetClient('staging', clientId);
      expect(await store.list('staging', clientId)).toEqual([]);
    },
  );

  it('never records a refused URI too long to register', async () => {
    const store = t.ctx.stores.refusedRedirects;
    await store.forgetClient('staging', clientId);
    const long = `https://app.staging.example.com/${'a'.repeat(2100)}`;
    expect((await authorize(long)).status).toBe(400);
    // Under 2,048 characters but 4,000-odd bytes: PostgreSQL's key limit made this a 500.
    const wide = `https://app.staging.example.com/${'漢'.repeat(1400)}`;
    expect((await authorize(wide)).status).toBe(400);
    expect(await store.list('staging', clientId)).toEqual([]);
  });
});
