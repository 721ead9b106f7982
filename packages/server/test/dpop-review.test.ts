/**
 * DPoP proofs at the token endpoint, attacked where a security review found the checks wanting
 * (issue #17 review). On SQLite and PostgreSQL: the jti of a proof is stored, and the two
 * databases must answer alike.
 * - A proof's `iat` is a NumericDate, which may be fractional (RFC 7519 §2): accepted, its jti
 *   remembered, never a server error (PostgreSQL refused a fractional expiry in an integer column).
 * - An RSA key with the public exponent 1 "signs" by leaving the message as it is: anyone who
 *   has seen the key's jwk (it rides in every proof) can make proofs for it, so a token bound to
 *   it is bound to nothing (RFC 9449 §11.1). Such keys, and other weak exponents, are refused.
 */
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { DpopKey, postWithDpop, serverNonce } from './support/dpop.js';
import { startTestServer, type TestServer } from './support/server.js';

const ENV = 'development';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An RS256 "proof" for an RSA key whose public exponent is 1: its signature is the EMSA-PKCS1-v1_5
 * encoding of the signing input itself (s^1 mod n = s), made without any private key.
 */
function forgedWithExponentOne(claims: Record<string, unknown>): string {
  const { n } = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
    format: 'jwk',
  }) as JWK;
  const input = `${b64({ alg: 'RS256', typ: 'dpop+jwt', jwk: { kty: 'RSA', n, e: 'AQ' } })}.${b64(claims)}`;
  const digestInfo = Buffer.concat([
    Buffer.from('3031300d060960864801650304020105000420', 'hex'),
    createHash('sha256').update(input).digest(),
  ]);
  const encoded = Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.alloc(256 - 3 - digestInfo.length, 0xff),
    Buffer.from([0]),
    digestInfo,
  ]);
  return `${input}.${encoded.toString('base64url')}`;
}

describe.each(DATABASES)('DPoP proofs, review attacks, on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let tokenUrl: string;
  let web: { clientId: string; clientSecret: string };
  let key: DpopKey;
  let nonce: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    tokenUrl = `${t.issuer(ENV)}/token`;
    const created = await t.client({
      type: 'web',
      name: 'Review Web',
      redirectUris: ['https://review.example.com/cb'],
      grantTypes: ['client_credentials'],
      scopes: ['reports:read'],
    });
    web = { clientId: created.clientId, clientSecret: created.clientSecret ?? '' };
    key = await DpopKey.generate();
    nonce = await serverNonce(tokenUrl, key, clientCredentials());
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  function clientCredentials() {
    return {
      grant_type: 'client_credentials',
      scope: 'reports:read',
      client_id: web.clientId,
      client_secret: web.clientSecret,
    };
  }
  const send = (proof: string) => postWithDpop(tokenUrl, clientCredentials(), proof);

  it('takes a proof whose iat is fractional, and refuses its replay (no server error)', async () => {
    const iat = Math.floor(Date.now() / 1000) + 0.1234567;
    const proof = await key.proof('POST', tokenUrl, { nonce, claims: { iat } });
    const first = await send(proof);
    expect(first.status).toBe(200);
    expect(first.body.token_type).toBe('DPoP');
    const replay = await send(proof);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_dpop_proof');
  });

  it('refuses a proof of an RSA key with the public exponent 1 (forgeable by anyone)', async () => {
    const reply = await send(
      forgedWithExponentOne({
        htm: 'POST',
        htu: tokenUrl,
        iat: Math.floor(Date.now() / 1000),
        jti: randomUUID(),
        nonce,
      }),
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('invalid_dpop_proof');
    expect(String(reply.body.error_description)).toMatch(/exponent/);
    expect(reply.body.access_token).toBeUndefined();
  });

  it('still takes an ordinary RSA key (exponent 65537)', async () => {
    const rsa = await DpopKey.generate('RS256');
    const rsaNonce = await serverNonce(tokenUrl, rsa, clientCredentials());
    const reply = await send(await rsa.proof('POST', tokenUrl, { nonce: rsaNonce }));
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe('DPoP');
  });
});
