/**
 * The refresh grace window (issue #17, "Concurrent clients without false alarms";
 * grants/refresh-grace.ts): a rotated refresh token presented again by the same client within
 * the environment's window gets a successor of its own instead of revoking the grant; after the
 * window, with the window off, past the cap, or for a revoked grant, a reuse is what it always
 * was. The server's clock is the test's (`now`): the window is crossed by moving it, not by
 * sleeping. Real SQLite and PostgreSQL; the two-process run is refresh-grace-processes.test.ts.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRACE_SUCCESSORS_CAP } from '../src/grants/refresh-grace.js';
import {
  DEFAULT_REFRESH_GRACE_SECONDS,
  updateEnvironmentSettings,
} from '../src/services/environments.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { withoutRefreshGrace } from './support/refresh-grace.js';
import {
  FormBrowser,
  pkce,
  startTestServer,
  type TestServer,
  type TokenReply,
} from './support/server.js';

const PASSWORD = 'correct horse battery';
const LOOPBACK = 'http://127.0.0.1/callback';
const EMAIL = 'grace@example.com';
const WINDOW_MS = DEFAULT_REFRESH_GRACE_SECONDS * 1000;

describe.each(DATABASES)('the refresh grace window on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();
  const clock = (): number => now;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock });
    await t.user(EMAIL, PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  interface Grant {
    readonly clientId: string;
    readonly refresh: string;
    readonly access: string;
  }

  /** A public client of its own (as agents and CLIs are), signed in: its first tokens. */
  async function grant(name = 'Agent'): Promise<Grant> {
    const { clientId } = await t.client({
      type: 'native',
      name,
      redirectUris: [LOOPBACK],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: LOOPBACK,
        scope: 'openid offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      EMAIL,
      PASSWORD,
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      redirect_uri: LOOPBACK,
      client_id: clientId,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    return { clientId, refresh: tokens.refresh_token ?? '', access: tokens.access_token };
  }

  const refresh = (
    clientId: string,
    token: string,
    extra: Record<string, string> = {},
  ): Promise<TokenReply> =>
    t.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: clientId,
      ...extra,
    });

  const userinfo = async (accessToken: string): Promise<number> =>
    (
      await fetch(`${t.issuer('development')}/userinfo`, {
        headers: { authorization: `Bearer ${accessToken}` },
      })
    ).status;

  const audit = (clientId: string, type: string) =>
    t.ctx.stores.audit.tail({ environment: 'development', clientId, type, limit: 1_000 });

  /** Every token of the grant is dead: its refresh tokens refused, its access tokens too. */
  async function expectRevoked(
    app: Grant,
    refreshTokens: readonly string[],
    accessTokens: readonly string[],
  ) {
    for (const token of refreshTokens)
      expect(await refresh(app.clientId, token)).toMatchObject({
        status: 400,
        error: 'invalid_grant',
      });
    for (const token of accessTokens) expect(await userinfo(token)).toBe(401);
  }

  it('ten concurrent refreshes with one token each get a valid successor of their own; the grant lives', async () => {
    const app = await grant();
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => refresh(app.clientId, app.refresh)),
    );
    expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
    const successors = replies.map((r) => r.refresh_token ?? '');
    expect(new Set(successors).size).toBe(10);
    expect(successors).not.toContain(app.refresh);
    expect(new Set(replies.map((r) => r.access_token)).size).toBe(10);
    // All in the same grant: one family, every access token carrying its grant_id.
    const grantId = decodeJwt(app.access).grant_id;
    for (const reply of replies) expect(decodeJwt(reply.access_token).grant_id).toBe(grantId);
    // Each successor works: its access token, and its refresh token, rotated once each at once.
    for (const reply of replies) expect(await userinfo(reply.access_token)).toBe(200);
    const next = await Promise.all(successors.map((token) => refresh(app.clientId, token)));
    expect(next.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
    expect(await userinfo(app.access)).toBe(200);
    // One rotation and nine grace successors from the first token, ten rotations after; no reuse.
    const refreshed = await audit(app.clientId, 'token.refreshed');
    expect(refreshed).toHaveLength(20);
    expect(refreshed.filter((e) => e.data.grace === true)).toHaveLength(9);
    expect(await audit(app.clientId, 'refresh.reused')).toEqual([]);
  });

  it('a successor still comes at the end of the window; one millisecond later the reuse revokes the grant', async () => {
    const app = await grant();
    const rotated = await refresh(app.clientId, app.refresh);
    expect(rotated.status).toBe(200);
    now += WINDOW_MS;
    const atTheEnd = await refresh(app.clientId, app.refresh);
    expect(atTheEnd.status).toBe(200);
    expect(atTheEnd.refresh_token).toBeDefined();
    now += 1;
    const late = await refresh(app.clientId, app.refresh);
    expect(late).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(late.refresh_token).toBeUndefined();
    await expectRevoked(
      app,
      [rotated.refresh_token ?? '', atTheEnd.refresh_token ?? ''],
      [app.access, rotated.access_token, atTheEnd.access_token],
    );
    expect(await audit(app.clientId, 'refresh.reused')).toHaveLength(1);
  });

  it("follows the environment's setting: a window of 2 s ends after 2 s", async () => {
    await updateEnvironmentSettings(t.ctx, 'development', { refreshGraceSeconds: 2 });
    try {
      const app = await grant();
      const rotated = await refresh(app.clientId, app.refresh);
      now += 2_000;
      expect((await refresh(app.clientId, app.refresh)).status).toBe(200);
      now += 1;
      expect((await refresh(app.clientId, app.refresh)).error).toBe('invalid_grant');
      await expectRevoked(app, [rotated.refresh_token ?? ''], [rotated.access_token]);
    } finally {
      await updateEnvironmentSettings(t.ctx, 'development', {
        refreshGraceSeconds: DEFAULT_REFRESH_GRACE_SECONDS,
      });
    }
  });

  it('with the window at 0, a reuse at once revokes the grant, as before', async () => {
    await withoutRefreshGrace(t.ctx, async () => {
      const app = await grant();
      const rotated = await refresh(app.clientId, app.refresh);
      expect(rotated.status).toBe(200);
      const reuse = await refresh(app.clientId, app.refresh);
      expect(reuse).toMatchObject({ status: 400, error: 'invalid_grant' });
      await expectRevoked(app, [rotated.refresh_token ?? ''], [app.access, rotated.access_token]);
      expect(await audit(app.clientId, 'refresh.reused')).toHaveLength(1);
    });
  });

  it('attack: another client presenting the rotated token within the window gets nothing, and ends nothing (as before)', async () => {
    const app = await grant('Rightful agent');
    const thief = await grant('Other agent');
    const rotated = await refresh(app.clientId, app.refresh);
    expect(rotated.status).toBe(200);
    const stolen = await refresh(thief.clientId, app.refresh);
    expect(stolen).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(stolen.refresh_token).toBeUndefined();
    // A client cannot end another's grant: the rightful client's tokens are untouched.
    expect(await userinfo(rotated.access_token)).toBe(200);
    expect((await refresh(app.clientId, rotated.refresh_token ?? '')).status).toBe(200);
    expect(await audit(app.clientId, 'token.refreshed')).toHaveLength(2);
    expect(await audit(thief.clientId, 'token.refreshed')).toEqual([]);
  });

  it(`attack: a rotated token gets at most ${GRACE_SUCCESSORS_CAP} successors; the next presentation revokes the grant`, async () => {
    const app = await grant();
    const rotated = await refresh(app.clientId, app.refresh);
    expect(rotated.status).toBe(200);
    const successors: TokenReply[] = [];
    for (let i = 0; i < GRACE_SUCCESSORS_CAP; i++) {
      const successor = await refresh(app.clientId, app.refresh);
      expect(successor.status, `successor ${i + 1}`).toBe(200);
      successors.push(successor);
    }
    const over = await refresh(app.clientId, app.refresh);
    expect(over).toMatchObject({ status: 400, error: 'invalid_grant' });
    await expectRevoked(
      app,
      [rotated, ...successors].map((r) => r.refresh_token ?? ''),
      [rotated, ...successors].map((r) => r.access_token),
    );
    expect(
      (await audit(app.clientId, 'token.refreshed')).filter((e) => e.data.grace === true),
    ).toHaveLength(GRACE_SUCCESSORS_CAP);
    expect(await audit(app.clientId, 'refresh.reused')).toHaveLength(1);
  });

  it(`attack: ${GRACE_SUCCESSORS_CAP + 10} presentations at once get exactly ${GRACE_SUCCESSORS_CAP + 1} token sets (the count is atomic); the rest revoke the grant`, async () => {
    const app = await grant();
    const replies = await Promise.all(
      Array.from({ length: GRACE_SUCCESSORS_CAP + 10 }, () => refresh(app.clientId, app.refresh)),
    );
    const issued = replies.filter((r) => r.status === 200);
    // One rotation and the capped successors, whichever requests they were.
    expect(issued).toHaveLength(GRACE_SUCCESSORS_CAP + 1);
    expect(replies.filter((r) => r.status !== 200).map((r) => r.error)).toEqual(
      Array.from({ length: 9 }, () => 'invalid_grant'),
    );
    await expectRevoked(
      app,
      issued.map((r) => r.refresh_token ?? ''),
      issued.map((r) => r.access_token),
    );
  });

  it('a revoked grant gets no successor within the window', async () => {
    const app = await grant();
    const rotated = await refresh(app.clientId, app.refresh);
    expect(rotated.status).toBe(200);
    const revoked = await fetch(`${t.issuer('development')}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: rotated.refresh_token ?? '', client_id: app.clientId }),
    });
    expect(revoked.status).toBe(200);
    const again = await refresh(app.clientId, app.refresh);
    expect(again).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(again.refresh_token).toBeUndefined();
    expect(
      (await audit(app.clientId, 'token.refreshed')).filter((e) => e.data.grace === true),
    ).toEqual([]);
  });

  it('within the window, a presentation asking more than the grant is a reuse, as before', async () => {
    const app = await grant();
    const rotated = await refresh(app.clientId, app.refresh);
    expect(rotated.status).toBe(200);
    const wider = await refresh(app.clientId, app.refresh, {
      scope: 'openid offline_access email',
    });
    expect(wider.error).toBe('invalid_grant');
    await expectRevoked(app, [rotated.refresh_token ?? ''], [rotated.access_token]);
  });

  it('a successor in the window may itself narrow the scope; the grant keeps its scope', async () => {
    const app = await grant();
    expect((await refresh(app.clientId, app.refresh)).status).toBe(200);
    const narrower = await refresh(app.clientId, app.refresh, { scope: 'openid' });
    expect(narrower.status).toBe(200);
    expect(decodeJwt(narrower.access_token).scope).toBe('openid');
    const after = await refresh(app.clientId, narrower.refresh_token ?? '');
    expect(after.status).toBe(200);
    expect(decodeJwt(after.access_token).scope).toBe('openid offline_access');
  });
});
