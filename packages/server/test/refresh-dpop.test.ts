/**
 * DPoP-bound refresh tokens (RFC 9449 §5): a public client's refresh token issued with a proof is
 * bound to the proof's key, and a rotation needs a proof of that key; the successor keeps the
 * binding. A copy of the token without the key is useless, and (a decision, grants/refresh-token.ts)
 * presenting it, even as a reuse of a rotated token, neither rotates, gets a grace successor, nor
 * revokes the grant: otherwise anyone holding an old copy could end the user's grant at will. A
 * reuse with the key is a reuse: after the grace window it revokes the grant. SQLite and
 * PostgreSQL, with the test's clock.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../src/crypto/random.js';
import { DEFAULT_REFRESH_GRACE_SECONDS } from '../src/services/environments.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { DpopKey, postWithDpop, type DpopReply } from './support/dpop.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const PASSWORD = 'correct horse battery';
const ENV = 'development';
const LOOPBACK = 'http://127.0.0.1/callback';
const EMAIL = 'bound@example.com';
const PAST_THE_WINDOW_MS = (DEFAULT_REFRESH_GRACE_SECONDS + 1) * 1000;

describe.each(DATABASES)('DPoP-bound refresh tokens on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let tokenUrl: string;
  let now = Date.now();
  const clock = (): number => now;
  /** The last nonce the server handed out (RFC 9449 §8), as a client keeps it. */
  let nonce: string | undefined;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock });
    tokenUrl = `${t.issuer(ENV)}/token`;
    await t.user(EMAIL, PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /** A token request with a proof of `key` (none: without a proof), retried once for a nonce. */
  async function send(form: Record<string, string>, key: DpopKey | undefined): Promise<DpopReply> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const proof =
        key === undefined
          ? undefined
          : await key.proof('POST', tokenUrl, {
              at: now,
              ...(nonce === undefined ? {} : { nonce }),
            });
      const reply = await postWithDpop(tokenUrl, form, proof);
      nonce = reply.headers.get('dpop-nonce') ?? nonce;
      if (reply.body.error !== 'use_dpop_nonce') return reply;
    }
    throw new Error('the server kept asking for a nonce');
  }

  interface Grant {
    readonly clientId: string;
    readonly refresh: string;
    readonly access: string;
  }

  /** A public client of its own, signed in, its code redeemed with a proof of `key` (or none). */
  async function grant(key: DpopKey | undefined): Promise<Grant> {
    const { clientId } = await t.client({
      type: 'native',
      name: 'Agent',
      redirectUris: [LOOPBACK],
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
    const reply = await send(
      {
        grant_type: 'authorization_code',
        code: new URL(location).searchParams.get('code') ?? '',
        redirect_uri: LOOPBACK,
        client_id: clientId,
        code_verifier: verifier,
      },
      key,
    );
    expect(reply.status).toBe(200);
    return {
      clientId,
      refresh: String(reply.body.refresh_token),
      access: String(reply.body.access_token),
    };
  }

  const refresh = (app: Grant, token: string, key: DpopKey | undefined) =>
    send({ grant_type: 'refresh_token', refresh_token: token, client_id: app.clientId }, key);

  /** The key a stored refresh token is bound to (null: none); undefined when it is not usable. */
  async function boundTo(token: string): Promise<string | null | undefined> {
    const stored = await t.ctx.stores.tokens.findActiveRefresh(ENV, sha256(token), now);
    return stored === undefined ? undefined : (stored.dpopJkt ?? null);
  }

  const audit = (clientId: string, type: string) =>
    t.ctx.stores.audit.tail({ environment: ENV, clientId, type, limit: 1_000 });

  function expectRefused(reply: DpopReply) {
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('invalid_grant');
    expect(reply.body.access_token).toBeUndefined();
    expect(reply.body.refresh_token).toBeUndefined();
  }

  it('rotates with a proof of its key; the successor is bound to it, its access token too', async () => {
    const key = await DpopKey.generate();
    const app = await grant(key);
    expect(await boundTo(app.refresh)).toBe(key.jkt);
    const rotated = await refresh(app, app.refresh, key);
    expect(rotated.status).toBe(200);
    expect(rotated.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(rotated.body.access_token)).cnf).toEqual({ jkt: key.jkt });
    const successor = String(rotated.body.refresh_token);
    expect(await boundTo(successor)).toBe(key.jkt);
    // The binding holds on the successor: without a proof, refused (and not spent).
    expectRefused(await refresh(app, successor, undefined));
    expect((await refresh(app, successor, key)).status).toBe(200);
  });

  it('attack: a copied refresh token without the key is refused, with no proof or another key, and not spent', async () => {
    const key = await DpopKey.generate();
    const thiefKey = await DpopKey.generate();
    const app = await grant(key);
    const withoutProof = await refresh(app, app.refresh, undefined);
    expectRefused(withoutProof);
    expect(String(withoutProof.body.error_description)).toMatch(/DPoP/);
    expectRefused(await refresh(app, app.refresh, thiefKey));
    // Nothing was spent: the rightful client rotates it.
    expect(await boundTo(app.refresh)).toBe(key.jkt);
    expect((await refresh(app, app.refresh, key)).status).toBe(200);
    expect(await audit(app.clientId, 'refresh.reused')).toEqual([]);
  });

  it('attack: a rotated bound token presented without the key gets no successor and revokes nothing, in the window or after', async () => {
    const key = await DpopKey.generate();
    const thiefKey = await DpopKey.generate();
    const app = await grant(key);
    const rotated = await refresh(app, app.refresh, key);
    expect(rotated.status).toBe(200);
    let current = String(rotated.body.refresh_token);
    for (const when of ['in the window', 'after it']) {
      if (when === 'after it') now += PAST_THE_WINDOW_MS;
      expectRefused(await refresh(app, app.refresh, undefined));
      expectRefused(await refresh(app, app.refresh, thiefKey));
      // The grant lives: its current token is usable, and rotates with the key.
      expect(await boundTo(current), when).toBe(key.jkt);
      const next = await refresh(app, current, key);
      expect(next.status, when).toBe(200);
      current = String(next.body.refresh_token);
    }
    expect(await audit(app.clientId, 'refresh.reused')).toEqual([]);
    expect(
      (await audit(app.clientId, 'token.refreshed')).filter((e) => e.data.grace === true),
    ).toEqual([]);
  });

  it('ten concurrent refreshes with the key each get a successor of their own, each bound to it', async () => {
    const key = await DpopKey.generate();
    const thiefKey = await DpopKey.generate();
    const app = await grant(key);
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => refresh(app, app.refresh, key)),
    );
    expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
    const successors = replies.map((r) => String(r.body.refresh_token));
    expect(new Set(successors).size).toBe(10);
    for (const reply of replies) {
      expect(reply.body.token_type).toBe('DPoP');
      expect(decodeJwt(String(reply.body.access_token)).cnf).toEqual({ jkt: key.jkt });
    }
    for (const successor of successors) expect(await boundTo(successor)).toBe(key.jkt);
    // Another key gets nothing from a successor, and spends nothing; the key rotates each.
    expectRefused(await refresh(app, successors[0] ?? '', thiefKey));
    const next = await Promise.all(successors.map((s) => refresh(app, s, key)));
    expect(next.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
    expect(
      (await audit(app.clientId, 'token.refreshed')).filter((e) => e.data.grace === true),
    ).toHaveLength(9);
  });

  it('in the window, a proof of another key gets no successor while the key gets one', async () => {
    const key = await DpopKey.generate();
    const thiefKey = await DpopKey.generate();
    const app = await grant(key);
    expect((await refresh(app, app.refresh, key)).status).toBe(200);
    expectRefused(await refresh(app, app.refresh, thiefKey));
    const graced = await refresh(app, app.refresh, key);
    expect(graced.status).toBe(200);
    expect(await boundTo(String(graced.body.refresh_token))).toBe(key.jkt);
  });

  it('a reuse with the key after the window revokes the grant, as any reuse', async () => {
    const key = await DpopKey.generate();
    const app = await grant(key);
    const rotated = await refresh(app, app.refresh, key);
    expect(rotated.status).toBe(200);
    now += PAST_THE_WINDOW_MS;
    expectRefused(await refresh(app, app.refresh, key));
    expectRefused(await refresh(app, String(rotated.body.refresh_token), key));
    expect(await audit(app.clientId, 'refresh.reused')).toHaveLength(1);
  });

  it("an unbound public client's token rotated with a proof: the successor is bound from then on", async () => {
    const key = await DpopKey.generate();
    const app = await grant(undefined);
    expect(await boundTo(app.refresh)).toBeNull();
    const rotated = await refresh(app, app.refresh, key);
    expect(rotated.status).toBe(200);
    const successor = String(rotated.body.refresh_token);
    expect(await boundTo(successor)).toBe(key.jkt);
    expectRefused(await refresh(app, successor, undefined));
    // Unbound and rotated without a proof, it stays a bearer token, as before.
    const bearer = await grant(undefined);
    const plain = await refresh(bearer, bearer.refresh, undefined);
    expect(plain.status).toBe(200);
    expect(plain.body.token_type).toBe('Bearer');
    expect(await boundTo(String(plain.body.refresh_token))).toBeNull();
  });
});
