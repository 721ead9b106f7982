/**
 * Impersonation: off by default, needs a reason and a bounded time, signs the operator's browser in
 * as the user through the normal authorization endpoint, marks every token with `act`, shows a
 * banner on every page, and ends (button or expiry) by revoking everything issued during it.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { runHousekeeping } from '../src/services/housekeeping.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const REDIRECT = 'https://support-app.example.com/callback';

describe.each(DATABASES)('impersonation on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();
  let admin: AdminSession;
  let supportId: string;
  let app: { clientId: string; clientSecret: string };
  let other: string;
  let userId: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock: () => now });
    ({ session: admin } = await operatorSession(t, 'admin@ops.example', 'admin'));
    const created = await createClient(t.ctx, {
      environment: 'staging',
      type: 'web',
      name: 'Support App',
      redirectUris: [REDIRECT],
    });
    app = { clientId: created.client.clientId, clientSecret: created.clientSecret ?? '' };
    other = (
      await createClient(t.ctx, {
        environment: 'staging',
        type: 'web',
        name: 'Other App',
        redirectUris: ['https://other.example.com/callback'],
      })
    ).client.clientId;
    userId = await t.user('dana@example.com', 'dana password 123', 'staging');
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /** A support operator's browser: the console session and the hosted pages share its cookies. */
  async function supportBrowser(email: string) {
    const browser = new FormBrowser(t.url);
    const { session, id } = await operatorSession(t, email, 'support', browser.jar);
    supportId = id;
    return { browser, session };
  }

  const authorizeQuery = (clientId: string) => {
    const { verifier, challenge } = pkce();
    return {
      verifier,
      query: new URLSearchParams({
        client_id: clientId,
        redirect_uri: clientId === app.clientId ? REDIRECT : 'https://other.example.com/callback',
        response_type: 'code',
        scope: 'openid email offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 'st',
        nonce: 'n',
      }).toString(),
    };
  };

  /** Authorize → consent page (with the banner) → allow → code → tokens. */
  async function signInAsUser(browser: FormBrowser) {
    const { verifier, query } = authorizeQuery(app.clientId);
    const { last, location: early } = await browser.follow(
      await browser.get(`/e/staging/authorize?${query}`),
    );
    expect(early).toBeUndefined();
    const consent = await last.text();
    expect(consent).toContain('name="decision"');
    expect(consent).not.toContain('name="password"');
    const { location } = await browser.follow(
      await browser.post('/e/staging/consent', {
        ...FormBrowser.fields(consent),
        decision: 'allow',
      }),
    );
    const code = new URL(location ?? '').searchParams.get('code') ?? '';
    const tokens = await t.tokenRequest(
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      },
      'staging',
    );
    expect(tokens.status).toBe(200);
    return { consent, tokens };
  }

  const introspect = async (token: string) =>
    (await (
      await fetch(`${t.issuer('staging')}/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token,
          client_id: app.clientId,
          client_secret: app.clientSecret,
        }),
      })
    ).json()) as { active: boolean; act?: { sub: string; email: string } };

  const refresh = (refreshToken: string) =>
    t.tokenRequest(
      {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      },
      'staging',
    );

  it('is off by default, and refuses a missing reason or a duration over 60 minutes', async () => {
    const { session } = await supportBrowser('early@ops.example');
    const off = await session.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: app.clientId,
      reason: 'ticket 42',
    });
    expect(off.status).toBe(400);
    expect(off.body.error).toBe('impersonation_disabled');
    expect(
      (await admin.call('PATCH', '/environments/staging', { impersonationEnabled: true })).status,
    ).toBe(200);
    const blank = await session.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: app.clientId,
      reason: '   ',
    });
    expect(blank.body.error).toBe('reason_required');
    const long = await session.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: app.clientId,
      reason: 'ticket 42',
      minutes: 61,
    });
    expect(long.status).toBe(400);
    expect(
      (await session.call('GET', '/environments/staging/impersonations')).body.impersonations,
    ).toEqual([]);
  });

  it('never impersonates an operator, even through an end-user account with their email', async () => {
    const { session } = await supportBrowser('curious@ops.example');
    const operatorsAccount = await t.user('admin@ops.example', 'admin as a user 1', 'staging');
    const refused = await session.call('POST', '/environments/staging/impersonations', {
      userId: operatorsAccount,
      clientId: app.clientId,
      reason: 'just looking',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('operator_user');
  });

  it('signs the operator in as the user, with a banner, act claims, and nothing of the user changed', async () => {
    const { browser, session } = await supportBrowser('helper@ops.example');
    const passwordBefore = (await t.ctx.stores.users.get('staging', userId))?.passwordHash;
    const started = await session.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: app.clientId,
      reason: 'ticket 4711: cannot see invoices',
    });
    expect(started.status).toBe(201);
    const impersonation = started.body.impersonation as { id: string; expiresAt: number };
    expect(impersonation.expiresAt).toBe(now + 15 * 60_000);

    const { consent, tokens } = await signInAsUser(browser);
    expect(consent).toContain(
      'Signed in as <strong>dana@example.com</strong> on behalf of operator',
    );
    expect(consent).toContain('helper@ops.example');
    expect(consent).toContain('/e/staging/impersonation/end');

    const access = decodeJwt(tokens.access_token);
    expect(access.sub).toBe(userId);
    expect(access.act).toEqual({ sub: supportId, email: 'helper@ops.example' });
    // What ending the impersonation revokes, wherever the token is checked (issue #15).
    expect(access.impersonation_id).toBe(impersonation.id);
    expect(decodeJwt(tokens.id_token ?? '').act).toEqual({
      sub: supportId,
      email: 'helper@ops.example',
    });
    // The user did not authenticate: amr says impersonation, and there is no user session (sid).
    expect(decodeJwt(tokens.id_token ?? '')).toMatchObject({ amr: ['impersonation'] });
    expect(decodeJwt(tokens.id_token ?? '')).not.toHaveProperty('sid');
    expect(access.exp).toBeLessThanOrEqual(Math.floor(impersonation.expiresAt / 1000));
    expect((await introspect(tokens.access_token)).act).toEqual({
      sub: supportId,
      email: 'helper@ops.example',
    });
    expect((await introspect(tokens.refresh_token ?? '')).act?.sub).toBe(supportId);

    // The operator's decision is not the user's consent; the user's password is untouched.
    expect(await t.ctx.stores.consents.get('staging', userId, app.clientId)).toBeUndefined();
    expect((await t.ctx.stores.users.get('staging', userId))?.passwordHash).toBe(passwordBefore);

    // Another application is not part of this impersonation.
    const { query } = authorizeQuery(other);
    const elsewhere = await browser.follow(await browser.get(`/e/staging/authorize?${query}`));
    expect(elsewhere.location).toBeUndefined();
    const page = await elsewhere.last.text();
    expect(elsewhere.last.status).toBe(400);
    expect(page).toContain('impersonating a user for another application');
    expect(page).toContain('id="impersonation-banner"');

    // Ending it revokes every token issued during it.
    const ended = await session.call(
      'POST',
      `/environments/staging/impersonations/${impersonation.id}/end`,
    );
    expect(ended.status).toBe(200);
    expect(ended.body.impersonation).toMatchObject({ active: false, endReason: 'ended' });
    expect((await introspect(tokens.access_token)).active).toBe(false);
    expect((await introspect(tokens.refresh_token ?? '')).active).toBe(false);
    const events = await t.ctx.stores.revocationEvents.after('staging', 0, 1000);
    expect(
      events.filter((e) => e.kind === 'impersonation' && e.key === impersonation.id),
    ).toHaveLength(1);
    expect((await refresh(tokens.refresh_token ?? '')).error).toBe('invalid_grant');
    const userinfo = await fetch(`${t.issuer('staging')}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(userinfo.status).toBe(401);

    // Without the impersonation the browser is nobody: the login page, no banner.
    const after = await browser.follow(
      await browser.get(`/e/staging/authorize?${authorizeQuery(app.clientId).query}`),
    );
    const login = await after.last.text();
    expect(login).toContain('name="password"');
    expect(login).not.toContain('impersonation-banner');

    const audit = await admin.call('GET', `/audit?type=impersonation.*&userId=${userId}`);
    const entries = audit.body.entries as {
      type: string;
      actor: string;
      clientId: string;
      data: Record<string, unknown>;
    }[];
    const types = entries.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'impersonation.started',
        'impersonation.token_issued',
        'impersonation.ended',
      ]),
    );
    for (const entry of entries.filter((e) => e.data.impersonationId === impersonation.id)) {
      expect(entry.clientId).toBe(app.clientId);
      expect(entry.data.reason).toBe('ticket 4711: cannot see invoices');
      expect(entry.actor).toBe(`operator:${supportId}`);
    }
  });

  it('ends at its expiry: tokens stop with it, and housekeeping records the end', async () => {
    const { browser, session } = await supportBrowser('brief@ops.example');
    const started = await session.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: app.clientId,
      reason: 'quick check',
      minutes: 1,
    });
    const id = (started.body.impersonation as { id: string }).id;
    const { tokens } = await signInAsUser(browser);
    expect((await introspect(tokens.access_token)).active).toBe(true);
    now += 61_000;
    expect((await introspect(tokens.access_token)).active).toBe(false);
    expect((await refresh(tokens.refresh_token ?? '')).error).toBe('invalid_grant');
    await runHousekeeping(t.ctx);
    const list = await session.call('GET', '/environments/staging/impersonations');
    const ended = (
      list.body.impersonations as { id: string; endReason: string; active: boolean }[]
    ).find((i) => i.id === id);
    expect(ended).toMatchObject({ active: false, endReason: 'expired' });
    const audit = await admin.call('GET', '/audit?type=impersonation.ended');
    const entry = (audit.body.entries as { actor: string; data: Record<string, unknown> }[]).find(
      (e) => e.data.impersonationId === id,
    );
    expect(entry).toMatchObject({
      actor: 'system',
      data: { endReason: 'expired', reason: 'quick check' },
    });
  });

  it('ends from the banner’s button on any Gatehouse page', async () => {
    const { browser, session } = await supportBrowser('banner@ops.example');
    const started = await session.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: app.clientId,
      reason: 'banner check',
    });
    const id = (started.body.impersonation as { id: string }).id;
    const { query } = authorizeQuery(app.clientId);
    const { last } = await browser.follow(await browser.get(`/e/staging/authorize?${query}`));
    const page = await last.text();
    const banner = page.slice(page.indexOf('impersonation-banner'));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(banner)?.[1] ?? '';
    const ended = await browser.post('/e/staging/impersonation/end', { _csrf: csrf });
    expect(ended.status).toBe(200);
    expect(await ended.text()).toContain('every token issued during it is revoked');
    const list = await session.call('GET', '/environments/staging/impersonations');
    expect(
      (list.body.impersonations as { id: string; active: boolean }[]).find((i) => i.id === id),
    ).toMatchObject({ active: false });
  });

  // Regressions from the adversarial review of the admin console (issue #5).
  it('ends running impersonations, and their tokens, when impersonation is turned off', async () => {
    const { browser, session } = await supportBrowser('switch-off@ops.example');
    await session.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: app.clientId,
      reason: 'switch-off check',
    });
    const { tokens } = await signInAsUser(browser);
    expect((await introspect(tokens.access_token)).active).toBe(true);
    expect(
      (await admin.call('PATCH', '/environments/staging', { impersonationEnabled: false })).status,
    ).toBe(200);
    expect((await introspect(tokens.access_token)).active).toBe(false);
    expect((await refresh(tokens.refresh_token ?? '')).error).toBe('invalid_grant');
    const list = await session.call('GET', '/environments/staging/impersonations');
    expect((list.body.impersonations as { active: boolean }[]).some((i) => i.active)).toBe(false);
    // No new sign-in either: the browser is nobody again.
    const { last } = await browser.follow(
      await browser.get(`/e/staging/authorize?${authorizeQuery(app.clientId).query}`),
    );
    expect(await last.text()).toContain('name="password"');
    await admin.call('PATCH', '/environments/staging', { impersonationEnabled: true });
  });

  it('does not let another operator signing in on the same browser inherit an impersonation', async () => {
    const { browser, session } = await supportBrowser('first@ops.example');
    await session.call('POST', '/environments/staging/impersonations', {
      userId,
      clientId: app.clientId,
      reason: 'handover check',
    });
    await operatorSession(t, 'second@ops.example', 'viewer', browser.jar);
    const { last } = await browser.follow(
      await browser.get(`/e/staging/authorize?${authorizeQuery(app.clientId).query}`),
    );
    const page = await last.text();
    expect(page).toContain('name="password"');
    expect(page).not.toContain('impersonation-banner');
  });

  it('shows an email with $ patterns in the banner as text', async () => {
    const oddId = await t.user("x$'@example.com", 'odd user password 1', 'staging');
    const { browser, session } = await supportBrowser('dollar@ops.example');
    await session.call('POST', '/environments/staging/impersonations', {
      userId: oddId,
      clientId: app.clientId,
      reason: 'dollar check',
    });
    const { last } = await browser.follow(
      await browser.get(`/e/staging/authorize?${authorizeQuery(app.clientId).query}`),
    );
    const page = await last.text();
    expect(page).toContain('Signed in as <strong>x$&#39;@example.com</strong>');
    expect(page.match(/<main>/g)).toHaveLength(1);
  });

  // Issue #13 item 7: any support operator could end anyone's impersonation.
  it('lets only its own operator or an admin end an impersonation', async () => {
    await admin.call('PATCH', '/environments/staging', { impersonationEnabled: true });
    const start = async (session: AdminSession) => {
      const started = await session.call('POST', '/environments/staging/impersonations', {
        userId,
        clientId: app.clientId,
        reason: 'ownership check',
      });
      expect(started.status).toBe(201);
      return (started.body.impersonation as { id: string }).id;
    };
    const active = async (id: string) =>
      (
        (await admin.call('GET', '/environments/staging/impersonations')).body.impersonations as {
          id: string;
          active: boolean;
        }[]
      ).find((i) => i.id === id)?.active;
    const { session: owner } = await supportBrowser('owner@ops.example');
    const { session: colleague } = await supportBrowser('colleague@ops.example');

    const first = await start(owner);
    const refused = await colleague.call(
      'POST',
      `/environments/staging/impersonations/${first}/end`,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('forbidden');
    expect(typeof refused.body.message).toBe('string');
    expect(await active(first)).toBe(true);
    const ownEnd = await owner.call('POST', `/environments/staging/impersonations/${first}/end`);
    expect(ownEnd.status).toBe(200);
    expect(await active(first)).toBe(false);

    const second = await start(owner);
    const byAdmin = await admin.call('POST', `/environments/staging/impersonations/${second}/end`);
    expect(byAdmin.status).toBe(200);
    expect(await active(second)).toBe(false);
  });
});
