/**
 * Issue #15: an access token has no row, so every way of revoking one must still stop it. Each
 * case obtains real tokens through the real endpoints, revokes them the way an incident would,
 * then presents them again: introspection by their client says `active: false`, userinfo refuses,
 * and the revocation is an event that resource servers following the feed will see.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteClient } from '../src/services/clients.js';
import { registerResource } from '../src/services/resources.js';
import { deleteUser, setUserDisabled } from '../src/services/users.js';
import type { RevocationKind } from '../src/storage/revocation-events.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { withoutRefreshGrace } from './support/refresh-grace.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'revocation pass phrase';
const CALLBACK = 'https://app.example/callback';
const API = 'https://api.example.com/';
const OTHER_API = 'https://other-api.example.com/';

interface Confidential {
  readonly clientId: string;
  readonly clientSecret: string;
}

interface Tokens {
  readonly access_token: string;
  readonly refresh_token?: string;
}

describe.each(DATABASES)(
  'revoked access tokens stay revoked without rows, on $kind',
  ({ create }) => {
    let db: ThrowawayDatabase;
    let t: TestServer;
    /** The client linked to the API: it introspects tokens for the API's audience. */
    let apiClient: Confidential;
    let otherApiClient: Confidential;

    beforeAll(async () => {
      db = await create();
      t = await startTestServer(db);
      apiClient = (await t.client({ type: 'web', name: 'API', redirectUris: [] })) as Confidential;
      otherApiClient = (await t.client({
        type: 'web',
        name: 'Other API',
        redirectUris: [],
      })) as Confidential;
      await registerResource(t.ctx, 'development', {
        uri: API,
        name: 'API',
        scopes: ['notes:read'],
        clientId: apiClient.clientId,
      });
      await registerResource(t.ctx, 'development', {
        uri: OTHER_API,
        name: 'Other API',
        scopes: ['notes:read'],
        clientId: otherApiClient.clientId,
      });
    });
    afterAll(async () => {
      await t.close();
      await db.drop();
    });

    let users = 0;
    /** A user of their own and a confidential app of its own, so one case cannot mask another. */
    async function party(): Promise<{ email: string; userId: string; app: Confidential }> {
      const email = `user${++users}@example.com`;
      const userId = await t.user(email, PASSWORD);
      const app = (await t.client({
        type: 'web',
        name: `App ${users}`,
        redirectUris: [CALLBACK],
        skipConsent: true,
      })) as Confidential;
      return { email, userId, app };
    }

    /** Signs in through /authorize and returns the code and its verifier. */
    async function authorize(
      app: Confidential,
      email: string,
      scope: string,
      resource?: string,
    ): Promise<{ code: string; verifier: string }> {
      const { verifier, challenge } = pkce();
      const location = await new FormBrowser(t.url).authorize(
        {
          client_id: app.clientId,
          response_type: 'code',
          redirect_uri: CALLBACK,
          scope,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          ...(resource === undefined ? {} : { resource }),
        },
        email,
        PASSWORD,
      );
      return { code: new URL(location).searchParams.get('code') ?? '', verifier };
    }

    async function redeem(
      app: Confidential,
      code: { code: string; verifier: string },
      resource?: string,
    ) {
      return t.tokenRequest({
        grant_type: 'authorization_code',
        code: code.code,
        code_verifier: code.verifier,
        redirect_uri: CALLBACK,
        client_id: app.clientId,
        client_secret: app.clientSecret,
        ...(resource === undefined ? {} : { resource }),
      });
    }

    async function tokensFor(
      app: Confidential,
      email: string,
      scope = 'openid offline_access',
      resource?: string,
    ): Promise<Tokens> {
      const reply = await redeem(app, await authorize(app, email, scope, resource), resource);
      expect(reply.status).toBe(200);
      return reply;
    }

    async function post(
      path: string,
      caller: Confidential,
      form: Record<string, string>,
    ): Promise<Response> {
      return fetch(`${t.issuer('development')}/${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${caller.clientId}:${caller.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams(form),
      });
    }

    async function introspect(
      caller: Confidential,
      token: string,
    ): Promise<Record<string, unknown>> {
      const response = await post('introspect', caller, { token });
      expect(response.status).toBe(200);
      return (await response.json()) as Record<string, unknown>;
    }

    async function userinfoStatus(token: string): Promise<number> {
      const response = await fetch(`${t.issuer('development')}/userinfo`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return response.status;
    }

    /** The event a revocation left for resource servers: the newest of its kind and key. */
    async function eventFor(kind: RevocationKind, key: string) {
      const events = await t.ctx.stores.revocationEvents.after('development', 0, 10_000);
      return events.filter((e) => e.kind === kind && e.key === key).at(-1);
    }

    /** What every case ends with: in force before, refused everywhere after. */
    async function expectActive(app: Confidential, access: string) {
      expect((await introspect(app, access)).active).toBe(true);
      expect(await userinfoStatus(access)).toBe(200);
    }
    async function expectRevoked(app: Confidential, access: string) {
      expect(await introspect(app, access)).toEqual({ active: false });
      expect(await userinfoStatus(access)).toBe(401);
    }

    it('carries grant_id on every token of a user grant, the refresh family when there is one', async () => {
      const { email, app } = await party();
      const withRefresh = decodeJwt((await tokensFor(app, email)).access_token);
      expect(typeof withRefresh.grant_id).toBe('string');
      const without = await tokensFor(app, email, 'openid');
      expect(without.refresh_token).toBeUndefined();
      const grantId = decodeJwt(without.access_token).grant_id;
      expect(typeof grantId).toBe('string');
      expect(grantId).not.toBe(withRefresh.grant_id);
      expect(decodeJwt(without.access_token).impersonation_id).toBeUndefined();
    });

    it('revoking an access token (RFC 7009) revokes it alone', async () => {
      const { email, app } = await party();
      const tokens = await tokensFor(app, email);
      const sibling = await tokensFor(app, email);
      await expectActive(app, tokens.access_token);
      expect((await post('revoke', app, { token: tokens.access_token })).status).toBe(200);
      await expectRevoked(app, tokens.access_token);
      expect(await eventFor('token', decodeJwt(tokens.access_token).jti ?? '')).toBeDefined();
      // Its refresh token and another grant's token are untouched.
      expect((await introspect(app, tokens.refresh_token ?? '')).active).toBe(true);
      await expectActive(app, sibling.access_token);
    });

    it('another client cannot revoke a token, nor learn about it by introspection', async () => {
      const { email, app } = await party();
      const { app: stranger } = await party();
      const tokens = await tokensFor(app, email);
      const refused = await post('revoke', stranger, { token: tokens.access_token });
      expect(refused.status).toBe(400);
      expect(await introspect(stranger, tokens.access_token)).toEqual({ active: false });
      await expectActive(app, tokens.access_token);
    });

    it('revoking a refresh token revokes the access tokens of its grant', async () => {
      const { email, app } = await party();
      const tokens = await tokensFor(app, email);
      await expectActive(app, tokens.access_token);
      expect((await post('revoke', app, { token: tokens.refresh_token ?? '' })).status).toBe(200);
      await expectRevoked(app, tokens.access_token);
      expect(
        await eventFor('grant', String(decodeJwt(tokens.access_token).grant_id)),
      ).toBeDefined();
    });

    it('a reused refresh token revokes every access token of its grant, old and new', async () => {
      // With the grace window off: within it the same client's second use gets a successor
      // (refresh-grace.test.ts); after it, or without it, a reuse revokes the grant.
      await withoutRefreshGrace(t.ctx, async () => {
        const { email, app } = await party();
        const first = await tokensFor(app, email);
        const refreshed = await t.tokenRequest({
          grant_type: 'refresh_token',
          refresh_token: first.refresh_token ?? '',
          client_id: app.clientId,
          client_secret: app.clientSecret,
        });
        expect(refreshed.status).toBe(200);
        expect(decodeJwt(refreshed.access_token).grant_id).toBe(
          decodeJwt(first.access_token).grant_id,
        );
        await expectActive(app, refreshed.access_token);
        // The attacker (or the victim) presents the rotated token again.
        const reuse = await t.tokenRequest({
          grant_type: 'refresh_token',
          refresh_token: first.refresh_token ?? '',
          client_id: app.clientId,
          client_secret: app.clientSecret,
        });
        expect(reuse.error).toBe('invalid_grant');
        await expectRevoked(app, first.access_token);
        await expectRevoked(app, refreshed.access_token);
      });
    });

    for (const scope of ['openid offline_access', 'openid'])
      it(`a replayed code revokes the access token issued from it (scope ${scope})`, async () => {
        const { email, app } = await party();
        const code = await authorize(app, email, scope);
        const first = await redeem(app, code);
        expect(first.status).toBe(200);
        await expectActive(app, first.access_token);
        const replay = await redeem(app, code);
        expect(replay.error).toBe('invalid_grant');
        await expectRevoked(app, first.access_token);
        const grantId = String(decodeJwt(first.access_token).grant_id);
        expect(await eventFor('grant', grantId)).toBeDefined();
        if (first.refresh_token !== undefined)
          expect((await introspect(app, first.refresh_token)).active).toBe(false);
      });

    it('disabling a user revokes their access tokens, and the event outlives enabling them again', async () => {
      const { email, userId, app } = await party();
      const tokens = await tokensFor(app, email);
      await expectActive(app, tokens.access_token);
      await setUserDisabled(t.ctx, 'development', userId, true);
      await expectRevoked(app, tokens.access_token);
      expect(await eventFor('user', userId)).toBeDefined();
      // Enabled again, the tokens issued before stay revoked (at resource servers, by the event).
      await setUserDisabled(t.ctx, 'development', userId, false);
      await expectRevoked(app, tokens.access_token);
    });

    it('deleting a user revokes their access tokens', async () => {
      const { email, userId, app } = await party();
      const tokens = await tokensFor(app, email);
      await expectActive(app, tokens.access_token);
      await deleteUser(t.ctx, 'development', userId);
      await expectRevoked(app, tokens.access_token);
      expect(await eventFor('user', userId)).toBeDefined();
    });

    it('deleting a client revokes the access tokens issued to it', async () => {
      const { email, app } = await party();
      const tokens = await tokensFor(app, email);
      const forApi = await tokensFor(app, email, 'openid notes:read', API);
      await expectActive(app, tokens.access_token);
      expect((await introspect(apiClient, forApi.access_token)).active).toBe(true);
      await deleteClient(t.ctx, 'development', app.clientId);
      // The client cannot ask any more; the API's client asks for its audience, and userinfo refuses.
      expect(await introspect(apiClient, forApi.access_token)).toEqual({ active: false });
      expect(await userinfoStatus(tokens.access_token)).toBe(401);
      expect(await eventFor('client', app.clientId)).toBeDefined();
    });

    it("a resource's client introspects tokens for its audience (RFC 7662 §2.1), and no others", async () => {
      const { email, app } = await party();
      const forApi = await tokensFor(app, email, 'openid offline_access notes:read', API);
      const forOther = await tokensFor(app, email, 'openid notes:read', OTHER_API);
      const forUserinfo = await tokensFor(app, email);
      const answer = await introspect(apiClient, forApi.access_token);
      expect(answer).toMatchObject({
        active: true,
        token_type: 'Bearer',
        aud: API,
        client_id: app.clientId,
        scope: 'openid offline_access notes:read',
      });
      // Another resource's token, a token for the issuer, a refresh token: not the API's business.
      expect(await introspect(apiClient, forOther.access_token)).toEqual({ active: false });
      expect(await introspect(apiClient, forUserinfo.access_token)).toEqual({ active: false });
      expect(await introspect(apiClient, forApi.refresh_token ?? '')).toEqual({ active: false });
      expect((await introspect(otherApiClient, forOther.access_token)).active).toBe(true);
      // Unlinked, the API's client learns nothing more.
      await t.ctx.stores.resources.setClientId('development', API, null);
      try {
        expect(await introspect(apiClient, forApi.access_token)).toEqual({ active: false });
      } finally {
        await t.ctx.stores.resources.setClientId('development', API, apiClient.clientId);
      }
      // Revoked by its client, the API hears so too.
      expect((await post('revoke', app, { token: forApi.access_token })).status).toBe(200);
      expect(await introspect(apiClient, forApi.access_token)).toEqual({ active: false });
    });

    it('records in the audit log the jti of every access token of a user grant', async () => {
      const { email, app } = await party();
      const tokens = await tokensFor(app, email);
      const refreshed = await t.tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token ?? '',
        client_id: app.clientId,
        client_secret: app.clientSecret,
      });
      const entries = await t.ctx.stores.audit.tail({ clientId: app.clientId, limit: 20 });
      for (const [type, token] of [
        ['code.redeemed', tokens.access_token],
        ['token.refreshed', refreshed.access_token],
      ] as const) {
        const { jti, grant_id: grantId } = decodeJwt(token);
        const entry = entries.find((e) => e.type === type && e.data.jti === jti);
        expect(entry, type).toBeDefined();
        expect(entry?.data).toMatchObject(
          type === 'code.redeemed' ? { grantId } : { familyId: grantId },
        );
      }
    });
  },
);
