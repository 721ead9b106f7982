/**
 * RFC 9449 §10: `dpop_jkt` at the authorization endpoint binds the code to a DPoP key, and §10.1:
 * a DPoP proof on the pushed authorization request does the same. Redeeming a bound code with a
 * proof of another key, or with none, is refused (invalid_grant) without spending it. On SQLite
 * and PostgreSQL: the binding is a column of the code, checked in the spending statement.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import {
  DpopKey,
  dpopTokenRequest,
  postWithDpop,
  serverNonce,
  type DpopReply,
} from './support/dpop.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const ENV = 'development';

describe.each(DATABASES)('dpop_jkt and PAR bind the code on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let tokenUrl: string;
  let parUrl: string;
  let native: { clientId: string };
  const loopback = 'http://127.0.0.1/callback';

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    tokenUrl = `${t.issuer(ENV)}/token`;
    parUrl = `${t.issuer(ENV)}/par`;
    native = await t.client({ type: 'native', name: 'Bound CLI', redirectUris: [loopback] });
    await t.user('alice@example.com', PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const request = (challenge: string, extra: Record<string, string> = {}) => ({
    client_id: native.clientId,
    redirect_uri: loopback,
    response_type: 'code',
    scope: 'openid offline_access',
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });

  async function authorize(query: Record<string, string>): Promise<URL> {
    return new URL(await new FormBrowser(t.url).authorize(query, 'alice@example.com', PASSWORD));
  }

  async function boundCode(extra: Record<string, string>) {
    const { verifier, challenge } = pkce();
    const url = await authorize(request(challenge, extra));
    return { code: url.searchParams.get('code') ?? '', verifier };
  }

  const redeemForm = (code: string, verifier: string) => ({
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: loopback,
    client_id: native.clientId,
  });

  function expectInvalidGrant(reply: DpopReply) {
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('invalid_grant');
    expect(String(reply.body.error_description)).toMatch(/bound to a DPoP key/);
  }

  it('a code bound by dpop_jkt is refused with another key or none, unspent, and redeemed with its key', async () => {
    const key = await DpopKey.generate();
    const thief = await DpopKey.generate();
    const { code, verifier } = await boundCode({ dpop_jkt: key.jkt });
    expectInvalidGrant(await dpopTokenRequest(tokenUrl, thief, redeemForm(code, verifier)));
    expectInvalidGrant(await postWithDpop(tokenUrl, redeemForm(code, verifier), undefined));
    // Neither attempt spent it (RFC 6749 §10.5: a wrong request must not burn the code).
    const reply = await dpopTokenRequest(tokenUrl, key, redeemForm(code, verifier));
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(reply.body.access_token)).cnf).toEqual({ jkt: key.jkt });
  });

  it('an unbound code is redeemed with a proof of any key', async () => {
    const { code, verifier } = await boundCode({});
    const reply = await dpopTokenRequest(
      tokenUrl,
      await DpopKey.generate(),
      redeemForm(code, verifier),
    );
    expect(reply.status).toBe(200);
  });

  it('refuses a dpop_jkt that is no thumbprint, back to the client as invalid_request', async () => {
    const { challenge } = pkce();
    const url = await authorize(request(challenge, { dpop_jkt: 'not-a-thumbprint' }));
    expect(url.searchParams.get('error')).toBe('invalid_request');
    expect(url.searchParams.get('code')).toBeNull();
  });

  describe('PAR (RFC 9449 §10.1)', () => {
    async function push(
      key: DpopKey | undefined,
      extra: Record<string, string> = {},
    ): Promise<{ reply: DpopReply; verifier: string }> {
      const { verifier, challenge } = pkce();
      const form = request(challenge, extra);
      if (key === undefined)
        return { reply: await postWithDpop(parUrl, form, undefined), verifier };
      const nonce = await serverNonce(parUrl, key, form);
      const reply = await postWithDpop(parUrl, form, await key.proof('POST', parUrl, { nonce }));
      return { reply, verifier };
    }

    async function codeFromPush(reply: DpopReply): Promise<string> {
      expect(reply.status).toBe(201);
      const url = await authorize({
        client_id: native.clientId,
        request_uri: String(reply.body.request_uri),
      });
      return url.searchParams.get('code') ?? '';
    }

    it('a proof on the push binds the code to its key', async () => {
      const key = await DpopKey.generate();
      const { reply, verifier } = await push(key);
      expect(reply.headers.get('dpop-nonce')).not.toBeNull();
      const code = await codeFromPush(reply);
      expectInvalidGrant(
        await dpopTokenRequest(tokenUrl, await DpopKey.generate(), redeemForm(code, verifier)),
      );
      const redeemed = await dpopTokenRequest(tokenUrl, key, redeemForm(code, verifier));
      expect(redeemed.status).toBe(200);
      expect(decodeJwt(String(redeemed.body.access_token)).cnf).toEqual({ jkt: key.jkt });
    });

    it('a dpop_jkt pushed without a proof binds the code as well', async () => {
      const key = await DpopKey.generate();
      const { reply, verifier } = await push(undefined, { dpop_jkt: key.jkt });
      const code = await codeFromPush(reply);
      expectInvalidGrant(await postWithDpop(tokenUrl, redeemForm(code, verifier), undefined));
      expect((await dpopTokenRequest(tokenUrl, key, redeemForm(code, verifier))).status).toBe(200);
    });

    it('refuses a push whose dpop_jkt names another key than its proof', async () => {
      const key = await DpopKey.generate();
      const other = await DpopKey.generate();
      const { reply } = await push(key, { dpop_jkt: other.jkt });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('invalid_dpop_proof');
      expect(reply.body.request_uri).toBeUndefined();
    });

    it('refuses a push with an invalid proof (made for the token endpoint)', async () => {
      const key = await DpopKey.generate();
      const { challenge } = pkce();
      const form = request(challenge);
      const nonce = await serverNonce(parUrl, key, form);
      const reply = await postWithDpop(parUrl, form, await key.proof('POST', tokenUrl, { nonce }));
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('invalid_dpop_proof');
    });
  });
});
