/**
 * A single-page app's refresh tokens (issue #16, part 4): rotated, a reused one revokes the grant,
 * and the grant ends 24 hours after the user signed in however often it is refreshed
 * (grants/spa-refresh.ts). A web client's, under the same clock, keep the general lifetimes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPA_REFRESH_ABSOLUTE_TTL_S } from '../src/grants/spa-refresh.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { DEFAULT_REFRESH_GRACE_SECONDS } from '../src/services/environments.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'a long enough password';
const HOUR = 3600 * 1000;

describe('spa refresh tokens', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();
  const clock = (): number => now;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { clock });
    await t.user('carol@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function signIn(
    type: 'spa' | 'web',
  ): Promise<{ clientId: string; secret?: string; refresh: string }> {
    const redirectUri = `https://${type}.example.com/callback`;
    const created = await t.client({
      type,
      name: `${type} app`,
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        response_type: 'code',
        client_id: created.clientId,
        redirect_uri: redirectUri,
        scope: 'openid offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        nonce: 'n',
      },
      'carol@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: created.clientId,
      ...(created.clientSecret === undefined ? {} : { client_secret: created.clientSecret }),
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    expect(tokens.refresh_token).toBeDefined();
    return {
      clientId: created.clientId,
      ...(created.clientSecret === undefined ? {} : { secret: created.clientSecret }),
      refresh: tokens.refresh_token ?? '',
    };
  }

  function refresh(
    app: { clientId: string; secret?: string },
    token: string,
  ): ReturnType<TestServer['tokenRequest']> {
    return t.tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: app.clientId,
      ...(app.secret === undefined ? {} : { client_secret: app.secret }),
    });
  }

  it('is 24 hours after sign-in, documented as such', () => {
    expect(SPA_REFRESH_ABSOLUTE_TTL_S).toBe(24 * 3600);
  });

  it('rotates, and a reused refresh token revokes the grant (attack: a stolen token replayed)', async () => {
    now = Date.now();
    const app = await signIn('spa');
    const first = await refresh(app, app.refresh);
    expect(first.status).toBe(200);
    expect(first.refresh_token).toBeDefined();
    expect(first.refresh_token).not.toBe(app.refresh);
    // The thief replays the old one after the grace window (within it, the same client would get
    // a successor: refresh-grace.test.ts): refused, and the legitimate app's new one dies with it.
    now += (DEFAULT_REFRESH_GRACE_SECONDS + 1) * 1000;
    const replay = await refresh(app, app.refresh);
    expect(replay).toMatchObject({ status: 400, error: 'invalid_grant' });
    const afterReplay = await refresh(app, first.refresh_token ?? '');
    expect(afterReplay).toMatchObject({ status: 400, error: 'invalid_grant' });
  });

  it('attack: a spa grant refreshed all day still ends 24 hours after sign-in; a web grant goes on', async () => {
    now = Date.now();
    const spa = await signIn('spa');
    const web = await signIn('web');
    let spaToken = spa.refresh;
    let webToken = web.refresh;
    // Refreshed every 6 hours: each rotation is within the idle lifetime, none extends the grant.
    for (let hours = 6; hours <= 18; hours += 6) {
      now += 6 * HOUR;
      const spaNext = await refresh(spa, spaToken);
      expect(spaNext.status, `spa at ${hours} h`).toBe(200);
      spaToken = spaNext.refresh_token ?? '';
      const webNext = await refresh(web, webToken);
      expect(webNext.status).toBe(200);
      webToken = webNext.refresh_token ?? '';
    }
    now += 6 * HOUR + 1000; // 24 h and a second after the sign-in
    const spaLate = await refresh(spa, spaToken);
    expect(spaLate).toMatchObject({ status: 400, error: 'invalid_grant' });
    const webLate = await refresh(web, webToken);
    expect(webLate.status).toBe(200);
  });
});
