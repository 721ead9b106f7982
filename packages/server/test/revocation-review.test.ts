/**
 * Issue #15 security review: attacks on revocation events that the first round of tests did not
 * perform. Each test obtains real tokens over HTTP and attacks the running server.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../src/crypto/random.js';
import { deleteClient } from '../src/services/clients.js';
import { REVOCATION_EVENT_TTL_MS } from '../src/services/revocation.js';
import { deleteUser, setUserDisabled } from '../src/services/users.js';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores } from '../src/storage/index.js';
import { Signer } from '../src/tokens/signer.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { withoutRefreshGrace } from './support/refresh-grace.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'revocation review pass phrase';
const CALLBACK = 'https://app.example/callback';

interface Confidential {
  readonly clientId: string;
  readonly clientSecret: string;
}

describe.each(DATABASES)('revocation events under attack, on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  let users = 0;
  async function party(): Promise<{ email: string; app: Confidential }> {
    const email = `attacker${++users}@example.com`;
    await t.user(email, PASSWORD);
    const app = (await t.client({
      type: 'web',
      name: `App ${users}`,
      redirectUris: [CALLBACK],
      skipConsent: true,
    })) as Confidential;
    return { email, app };
  }

  async function authorize(app: Confidential, email: string) {
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: app.clientId,
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'openid offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      email,
      PASSWORD,
    );
    return { code: new URL(location).searchParams.get('code') ?? '', verifier };
  }

  const redeem = (app: Confidential, code: { code: string; verifier: string }) =>
    t.tokenRequest({
      grant_type: 'authorization_code',
      code: code.code,
      code_verifier: code.verifier,
      redirect_uri: CALLBACK,
      client_id: app.clientId,
      client_secret: app.clientSecret,
    });

  const refresh = (app: Confidential, token: string) =>
    t.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: app.clientId,
      client_secret: app.clientSecret,
    });

  async function eventsFor(key: string) {
    const events = await t.ctx.stores.revocationEvents.after('development', 0, 10_000);
    return events.filter((e) => e.key === key);
  }

  // Every event goes to every resource server of the environment, which keeps it in memory
  // until it expires: a client must not be able to append one per request with one token.
  it('replaying a rotated refresh token again and again appends one event for its grant', async () => {
    // With the grace window off, so that each replay is a reuse (refresh-grace.test.ts has the window).
    await withoutRefreshGrace(t.ctx, async () => {
      const { email, app } = await party();
      const first = await redeem(app, await authorize(app, email));
      expect((await refresh(app, first.refresh_token ?? '')).status).toBe(200);
      for (let i = 0; i < 5; i++)
        expect((await refresh(app, first.refresh_token ?? '')).error).toBe('invalid_grant');
      const grantId = String(decodeJwt(first.access_token).grant_id);
      expect(await eventsFor(grantId)).toHaveLength(1);
    });
  });

  // A token request checked just before a deletion can be signed a second after it: a resource
  // server matching `iat <= issued_before` would accept that token for its whole lifetime unless
  // the event reaches past the deletion. A deleted user or client never comes back, so it may.
  it('a deleted user or client is covered a minute past the deletion; a disabled user is not', async () => {
    const { email, app } = await party();
    const userId = String(
      decodeJwt((await redeem(app, await authorize(app, email))).access_token).sub,
    );
    const late = (event: { issuedBefore: number; createdAt: number } | undefined) =>
      event === undefined ? undefined : event.issuedBefore - event.createdAt;

    await setUserDisabled(t.ctx, 'development', userId, true);
    expect((await eventsFor(userId)).map(late)).toEqual([0]);
    await setUserDisabled(t.ctx, 'development', userId, false);

    await deleteUser(t.ctx, 'development', userId);
    expect((await eventsFor(userId)).map(late)).toEqual([0, 60_000]);
    await deleteClient(t.ctx, 'development', app.clientId);
    expect((await eventsFor(app.clientId)).map(late)).toEqual([60_000]);
  });

  // Each access-token revocation is an event every resource server reads and keeps until it
  // expires: a client minting and revoking its own tokens in a loop must hit a bound.
  it('holds a client that revokes access tokens in a loop to a bound, with 503 and Retry-After', async () => {
    const app = (await t.client({
      type: 'web',
      name: 'Revoker',
      redirectUris: [],
      grantTypes: ['client_credentials'],
    })) as Confidential;
    const credentials = { client_id: app.clientId, client_secret: app.clientSecret };
    const mint = async () =>
      (await t.tokenRequest({ grant_type: 'client_credentials', ...credentials })).access_token;
    const revoke = (token: string) =>
      fetch(`${t.url}/e/development/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, ...credentials }),
      });
    // The bound is a thousand for as long as an event is kept; use all but one of them up.
    const key = `revoke:development:${app.clientId}`;
    for (let i = 0; i < 999; i++)
      await t.ctx.stores.attempts.reserve(key, Date.now(), REVOCATION_EVENT_TTL_MS);
    const before = (await t.ctx.stores.revocationEvents.after('development', 0, 10_000)).length;

    const last = await mint();
    expect((await revoke(last)).status).toBe(200);
    const refused = await mint();
    const answer = await revoke(refused);
    expect(answer.status).toBe(503);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await answer.json()) as { error: string }).error).toBe('temporarily_unavailable');
    // One event for the revocation allowed, none for the refused one; that token still stands.
    const after = await t.ctx.stores.revocationEvents.after('development', 0, 10_000);
    expect(after.length).toBe(before + 1);
    expect(after.map((e) => e.key)).not.toContain(String(decodeJwt(refused).jti));
    const introspected = await fetch(`${t.url}/e/development/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refused, ...credentials }),
    });
    expect(((await introspected.json()) as { active: boolean }).active).toBe(true);
  });

  it('replaying a spent code again and again appends one event for its grant', async () => {
    const { email, app } = await party();
    const code = await authorize(app, email);
    const first = await redeem(app, code);
    expect(first.status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await redeem(app, code)).error).toBe('invalid_grant');
    const grantId = String(decodeJwt(first.access_token).grant_id);
    expect(await eventsFor(grantId)).toHaveLength(1);
  });

  /**
   * A token as the server signed it before migration 0012: no grant_id claim, and a row naming
   * its family and code. The grant it belongs to is revoked after the upgrade.
   */
  async function legacyToken(app: Confidential, email: string) {
    const code = await authorize(app, email);
    const tokens = await redeem(app, code);
    const { grant_id: grantId, ...claims } = decodeJwt(tokens.access_token);
    const jti = `legacy-${String(grantId)}`;
    const signer = new Signer(t.ctx.stores.keys, () => Date.now());
    const token = await signer.sign('development', 'at+jwt', { ...claims, jti });
    const handle = await openDatabase(db.target);
    try {
      await handle.db
        .insertInto('access_tokens')
        .values({
          jti,
          environment: 'development',
          client_id: app.clientId,
          user_id: String(claims.sub),
          family_id: String(grantId),
          code_hash: sha256(code.code),
          expires_at: Number(claims.exp) * 1000,
          revoked_at: null,
          impersonation_id: null,
          created_at: Number(claims.iat) * 1000,
        })
        .execute();
      // A code spent before the upgrade recorded no grant.
      await handle.db
        .updateTable('authorization_codes')
        .set({ grant_id: null })
        .where('code_hash', '=', sha256(code.code))
        .execute();
    } finally {
      await handle.close();
    }
    return { token, code, refreshToken: tokens.refresh_token ?? '' };
  }

  async function introspect(app: Confidential, token: string) {
    const response = await fetch(`${t.issuer('development')}/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }),
    });
    return ((await response.json()) as { active: boolean }).active;
  }

  it('a token from before the upgrade (no grant_id) dies with its refresh family', async () => {
    const { email, app } = await party();
    const legacy = await legacyToken(app, email);
    expect(await introspect(app, legacy.token)).toBe(true);
    const revoke = await fetch(`${t.issuer('development')}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: legacy.refreshToken,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      }),
    });
    expect(revoke.status).toBe(200);
    expect(await introspect(app, legacy.token)).toBe(false);
  });

  it('a token from before the upgrade (no grant_id) dies when its code is replayed', async () => {
    const { email, app } = await party();
    const legacy = await legacyToken(app, email);
    expect(await introspect(app, legacy.token)).toBe(true);
    expect((await redeem(app, legacy.code)).error).toBe('invalid_grant');
    expect(await introspect(app, legacy.token)).toBe(false);
  });

  // A reader that polls while several connections append must never step over an event that
  // commits late with a lower seq (the feed's cursor only moves forward).
  it('a reader polling during concurrent appends from several connections misses no event', async () => {
    const handles = await Promise.all([1, 2, 3, 4, 5].map(() => openDatabase(db.target)));
    try {
      const [readerHandle, ...writers] = handles as [DatabaseHandle, ...DatabaseHandle[]];
      const reader = createStores(readerHandle).revocationEvents;
      const start = (await reader.after('development', 0, 10_000)).at(-1)?.seq ?? 0;
      const now = Date.now();
      const appending = { done: false };
      const seen: number[] = [];
      const poll = (async () => {
        let cursor = start;
        for (;;) {
          const finished = appending.done;
          const page = await reader.after('development', cursor, 10_000);
          for (const e of page) seen.push(e.seq);
          cursor = page.at(-1)?.seq ?? cursor;
          if (finished) return;
          // Let the appenders' I/O in: a SQLite read resolves without ever yielding to it.
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const appended = (
        await Promise.all(
          writers.map(async (handle, w) => {
            const events = createStores(handle).revocationEvents;
            const seqs: number[] = [];
            for (let i = 0; i < 40; i++) {
              const event = await events.append({
                environment: 'development',
                kind: 'token',
                key: `race-${w}-${i}`,
                issuedBefore: now,
                expiresAt: now + 660_000,
                createdAt: now,
              });
              seqs.push(event.seq);
            }
            return seqs;
          }),
        )
      ).flat();
      appending.done = true;
      await poll;
      expect(seen.filter((seq) => appended.includes(seq)).sort((a, b) => a - b)).toEqual(
        [...appended].sort((a, b) => a - b),
      );
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });
});
