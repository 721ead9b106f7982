/**
 * A DPoP-bound access token at userinfo (RFC 9449 §7): accepted only as `Authorization: DPoP`
 * with a proof of its key for this request (`htm`, `htu`, `ath`), refused as a bearer token
 * (§7.2: a copied token without the key is useless), with `WWW-Authenticate: DPoP` challenges
 * naming the algorithms. Introspection reports `cnf` and `token_type: DPoP` (§6.2); revocation
 * takes a bound token without a proof. On SQLite and PostgreSQL: the proof's jti is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { DpopKey, dpopTokenRequest, postWithDpop } from './support/dpop.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const ENV = 'development';

describe.each(DATABASES)(
  'DPoP at userinfo, introspection and revocation on $kind',
  ({ create }) => {
    let db: ThrowawayDatabase;
    let t: TestServer;
    let userinfoUrl: string;
    let native: { clientId: string };
    let web: { clientId: string; clientSecret: string };
    const loopback = 'http://127.0.0.1/callback';

    beforeAll(async () => {
      db = await create();
      t = await startTestServer(db);
      userinfoUrl = `${t.issuer(ENV)}/userinfo`;
      native = await t.client({ type: 'native', name: 'Bound CLI', redirectUris: [loopback] });
      const created = await t.client({
        type: 'web',
        name: 'Introspector',
        redirectUris: ['https://app.example.com/cb'],
        grantTypes: ['client_credentials'],
      });
      web = { clientId: created.clientId, clientSecret: created.clientSecret ?? '' };
      await t.user('alice@example.com', PASSWORD);
    });
    afterAll(async () => {
      await t.close();
      await db.drop();
    });

    /** A public client's tokens from the code flow, bound to `key`. */
    async function boundTokens(key: DpopKey): Promise<{ access: string; refresh: string }> {
      const { verifier, challenge } = pkce();
      const location = await new FormBrowser(t.url).authorize(
        {
          client_id: native.clientId,
          redirect_uri: loopback,
          response_type: 'code',
          scope: 'openid email offline_access',
          state: 'st',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        'alice@example.com',
        PASSWORD,
      );
      const reply = await dpopTokenRequest(`${t.issuer(ENV)}/token`, key, {
        grant_type: 'authorization_code',
        code: new URL(location).searchParams.get('code') ?? '',
        code_verifier: verifier,
        redirect_uri: loopback,
        client_id: native.clientId,
      });
      expect(reply.body.token_type).toBe('DPoP');
      return { access: String(reply.body.access_token), refresh: String(reply.body.refresh_token) };
    }

    async function userinfo(authorization: string, dpop?: string, method = 'GET') {
      const response = await fetch(userinfoUrl, {
        method,
        headers: { authorization, ...(dpop === undefined ? {} : { dpop }) },
      });
      return {
        status: response.status,
        challenge: response.headers.get('www-authenticate') ?? '',
        body: (await response.json()) as Record<string, unknown>,
      };
    }

    let key: DpopKey;
    let access: string;
    beforeAll(async () => {
      key = await DpopKey.generate();
      ({ access } = await boundTokens(key));
    });

    it('answers a bound token with the DPoP scheme and a proof of its key (GET and POST)', async () => {
      const got = await userinfo(
        `DPoP ${access}`,
        await key.proof('GET', userinfoUrl, { accessToken: access }),
      );
      expect(got.status).toBe(200);
      expect(got.body.email).toBe('alice@example.com');
      const posted = await userinfo(
        `DPoP ${access}`,
        await key.proof('POST', userinfoUrl, { accessToken: access }),
        'POST',
      );
      expect(posted.status).toBe(200);
    });

    it('refuses a bound token presented as Bearer, with a DPoP challenge', async () => {
      const reply = await userinfo(`Bearer ${access}`);
      expect(reply.status).toBe(401);
      expect(reply.body.error).toBe('invalid_token');
      expect(reply.challenge).toMatch(/^DPoP realm="[^"]+", error="invalid_token", /);
      expect(reply.challenge).toContain('algs="ES256 RS256 PS256 EdDSA Ed25519"');
    });

    it('refuses a proof signed by another key than the token is bound to', async () => {
      const thief = await DpopKey.generate();
      const reply = await userinfo(
        `DPoP ${access}`,
        await thief.proof('GET', userinfoUrl, { accessToken: access }),
      );
      expect(reply.status).toBe(401);
      expect(reply.body.error).toBe('invalid_dpop_proof');
      expect(String(reply.body.error_description)).toMatch(/not made with the key/);
      expect(reply.challenge).toMatch(/^DPoP /);
    });

    it('refuses a proof without ath, with the ath of another token, or for another request', async () => {
      const other = await boundTokens(key);
      for (const proof of [
        await key.proof('GET', userinfoUrl),
        await key.proof('GET', userinfoUrl, { accessToken: other.access }),
        await key.proof('POST', userinfoUrl, { accessToken: access }),
        await key.proof('GET', `${t.issuer(ENV)}/token`, { accessToken: access }),
        await key.proof('GET', userinfoUrl, { accessToken: access, at: Date.now() - 300_000 }),
      ]) {
        const reply = await userinfo(`DPoP ${access}`, proof);
        expect(reply.status).toBe(401);
        expect(reply.body.error).toBe('invalid_dpop_proof');
      }
    });

    it('refuses a replayed proof, and the DPoP scheme without a proof', async () => {
      const proof = await key.proof('GET', userinfoUrl, { accessToken: access });
      expect((await userinfo(`DPoP ${access}`, proof)).status).toBe(200);
      const replayed = await userinfo(`DPoP ${access}`, proof);
      expect(replayed.status).toBe(401);
      expect(String(replayed.body.error_description)).toMatch(/used before/);
      const none = await userinfo(`DPoP ${access}`);
      expect(none.status).toBe(401);
      expect(none.body.error).toBe('invalid_dpop_proof');
    });

    it('refuses an unbound token under the DPoP scheme', async () => {
      const { verifier, challenge } = pkce();
      const location = await new FormBrowser(t.url).authorize(
        {
          client_id: native.clientId,
          redirect_uri: loopback,
          response_type: 'code',
          scope: 'openid email',
          state: 'st',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        'alice@example.com',
        PASSWORD,
      );
      const reply = await postWithDpop(
        `${t.issuer(ENV)}/token`,
        {
          grant_type: 'authorization_code',
          code: new URL(location).searchParams.get('code') ?? '',
          code_verifier: verifier,
          redirect_uri: loopback,
          client_id: native.clientId,
        },
        undefined,
      );
      const bearer = String(reply.body.access_token);
      expect((await userinfo(`Bearer ${bearer}`)).status).toBe(200);
      const asDpop = await userinfo(
        `DPoP ${bearer}`,
        await key.proof('GET', userinfoUrl, { accessToken: bearer }),
      );
      expect(asDpop.status).toBe(401);
      expect(asDpop.body.error).toBe('invalid_token');
    });

    it('introspection reports cnf and token_type DPoP for a bound access token', async () => {
      const introspect = async (token: string) =>
        (
          await postWithDpop(
            `${t.issuer(ENV)}/introspect`,
            { token, client_id: web.clientId, client_secret: web.clientSecret },
            undefined,
          )
        ).body;
      // A client learns only of its own tokens: the web client's own bound token.
      const own = await dpopTokenRequest(`${t.issuer(ENV)}/token`, key, {
        grant_type: 'client_credentials',
        client_id: web.clientId,
        client_secret: web.clientSecret,
      });
      expect(await introspect(String(own.body.access_token))).toMatchObject({
        active: true,
        token_type: 'DPoP',
        cnf: { jkt: key.jkt },
      });
    });

    it('revokes a bound token without a proof (revoking is only ever a loss for the holder)', async () => {
      const tokens = await boundTokens(key);
      const revoked = await postWithDpop(
        `${t.issuer(ENV)}/revoke`,
        { token: tokens.access, client_id: native.clientId },
        undefined,
      );
      expect(revoked.status).toBe(200);
      const reply = await userinfo(
        `DPoP ${tokens.access}`,
        await key.proof('GET', userinfoUrl, { accessToken: tokens.access }),
      );
      expect(reply.status).toBe(401);
      expect(reply.body.error).toBe('invalid_token');
    });
  },
);
