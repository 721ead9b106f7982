/**
 * The admin API's users and email_verified (issue #16 part 2): set on creation, changed with
 * PATCH by an admin only, audited; refused input changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash } from '@node-rs/argon2';
import { decodeJwt } from 'jose';
import { importUsers, parseUserImport } from '../src/services/user-import.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

describe('admin API: email_verified', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let admin: AdminSession;
  let viewer: AdminSession;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    admin = (await operatorSession(t, 'admin@example.com', 'admin')).session;
    viewer = (await operatorSession(t, 'viewer@example.com', 'viewer')).session;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('creates a verified user, lists the flag, and changes it with PATCH', async () => {
    const created = await admin.call('POST', '/environments/development/users', {
      email: 'ann@example.com',
      password: 'a fine password',
      emailVerified: true,
    });
    expect(created.status).toBe(201);
    const user = created.body.user as { id: string; emailVerified: boolean };
    expect(user.emailVerified).toBe(true);

    const plain = await admin.call('POST', '/environments/development/users', {
      email: 'bob@example.com',
      password: 'a fine password',
    });
    expect((plain.body.user as { emailVerified: boolean }).emailVerified).toBe(false);

    const patched = await admin.call('PATCH', `/environments/development/users/${user.id}`, {
      emailVerified: false,
    });
    expect(patched.status).toBe(200);
    expect(patched.body.user).toMatchObject({ id: user.id, emailVerified: false });
    const listed = await admin.call('GET', '/environments/development/users');
    expect(listed.body.users).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: user.id, emailVerified: false })]),
    );
    const [entry] = await t.ctx.stores.audit.tail({ type: 'user.email_unverified' });
    expect(entry).toMatchObject({
      userId: user.id,
      actor: expect.stringContaining('operator:') as unknown,
    });
  });

  it('refuses a viewer, a flag that is not a boolean (400) and an unknown user (404), changing nothing; never changes the email', async () => {
    const created = await admin.call('POST', '/environments/development/users', {
      email: 'cy@example.com',
      password: 'a fine password',
    });
    const id = (created.body.user as { id: string }).id;
    const path = `/environments/development/users/${id}`;
    expect((await viewer.call('PATCH', path, { emailVerified: true })).status).toBe(403);
    expect((await admin.call('PATCH', path, { emailVerified: 'yes' })).status).toBe(400);
    expect(
      (await admin.call('PATCH', '/environments/development/users/nobody', { emailVerified: true }))
        .status,
    ).toBe(404);
    expect(await t.ctx.stores.users.get('development', id)).toMatchObject({
      email: 'cy@example.com',
      emailVerified: false,
    });
    // Only the flag can be changed this way: another field is not applied (the admin API drops
    // members its schema does not name), so the email stays.
    await admin.call('PATCH', path, { emailVerified: true, email: 'x@evil.example' });
    expect(await t.ctx.stores.users.get('development', id)).toMatchObject({
      email: 'cy@example.com',
      emailVerified: true,
    });
  });

  it('an imported user signs in with the password behind its argon2 hash; the ID token says email_verified', async () => {
    const users = parseUserImport(
      JSON.stringify({
        email: 'imported@example.com',
        email_verified: true,
        password_hash: await hash('imported pass phrase'),
      }),
    );
    expect(await importUsers(t.ctx, 'development', users)).toEqual({
      created: 1,
      updated: 0,
      unchanged: 0,
    });
    const redirect = 'https://rp.example.com/cb';
    const rp = await t.client({
      type: 'web',
      name: 'RP',
      redirectUris: [redirect],
      skipConsent: true,
    });
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        response_type: 'code',
        client_id: rp.clientId,
        redirect_uri: redirect,
        scope: 'openid email',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'imported@example.com',
      'imported pass phrase',
    );
    const tokens = await t.tokenRequest({
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      code_verifier: verifier,
      redirect_uri: redirect,
      client_id: rp.clientId,
      client_secret: rp.clientSecret ?? '',
    });
    expect(decodeJwt(tokens.id_token ?? '')).toMatchObject({
      email: 'imported@example.com',
      email_verified: true,
    });
  });
});
