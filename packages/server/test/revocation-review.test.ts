/**
 * Issue #15 security review: attacks on revocation events that the first round of tests did not
 * perform. Each test obtains real tokens over HTTP and attacks the running server.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
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
    const { email, app } = await party();
    const first = await redeem(app, await authorize(app, email));
    expect((await refresh(app, first.refresh_token ?? '')).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await refresh(app, first.refresh_token ?? '')).error).toBe('invalid_grant');
    const grantId = String(decodeJwt(first.access_token).grant_id);
    expect(await eventsFor(grantId)).toHaveLength(1);
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
});
