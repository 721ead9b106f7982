/**
 * Review of issue #16 part 1: a Gatehouse resource may ask for RS256 access tokens. Against
 * a real server: such a token verifies at that resource only (its audience), a resource that
 * accepts only ES256 refuses it, and tokens forged with the published RSA key (HS256 keyed with
 * it, alg none, another key under its kid) are refused however the resource is configured.
 */
import { createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { setResourceAccessTokenAlg } from '@gatehouse/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceServer, type ResourceServer } from '../src/index.js';
import { startGatehouse, type Gatehouse } from './support/gatehouse.js';

const RSA_API = 'https://rsa-api.example.test';
const EC_API = 'https://ec-api.example.test';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('RS256 access tokens at @gatehouse/resource', () => {
  let gatehouse: Gatehouse;
  const opened: ResourceServer[] = [];
  const resourceServer = (resource: string, algorithms?: string[]) => {
    const rs = createResourceServer({
      resource,
      issuer: gatehouse.issuer,
      ...(algorithms === undefined ? {} : { algorithms }),
    });
    opened.push(rs);
    return rs;
  };

  beforeAll(async () => {
    gatehouse = await startGatehouse();
    await gatehouse.register(RSA_API, ['read']);
    await gatehouse.register(EC_API, ['read']);
    const ctx = { stores: gatehouse.server.stores, clock: Date.now, actor: 'admin:test' };
    await setResourceAccessTokenAlg(ctx, 'development', RSA_API, 'RS256');
  });
  afterAll(async () => {
    await Promise.all(opened.map((rs) => rs.close()));
    await gatehouse.close();
  });

  it('verifies a resource’s RS256 token at that resource only; ES256-only resources refuse it', async () => {
    const rsaToken = await gatehouse.token(RSA_API, 'read');
    const ecToken = await gatehouse.token(EC_API, 'read');
    expect(
      JSON.parse(Buffer.from(rsaToken.split('.')[0] ?? '', 'base64url').toString()),
    ).toMatchObject({ alg: 'RS256' });
    expect((await resourceServer(RSA_API).verifyAccessToken(rsaToken)).ok).toBe(true);
    // Pinned to ES256, the same resource refuses it by its algorithm.
    const pinned = await resourceServer(RSA_API, ['ES256']).verifyAccessToken(rsaToken);
    expect(pinned).toMatchObject({ ok: false, reason: 'invalid_token' });
    // Another resource refuses it (its audience), and still takes its own ES256 tokens.
    const ec = resourceServer(EC_API);
    expect((await ec.verifyAccessToken(rsaToken)).ok).toBe(false);
    expect((await ec.verifyAccessToken(ecToken)).ok).toBe(true);
  });

  it('refuses tokens forged with the published RSA key', async () => {
    const jwks = (await (await fetch(`${gatehouse.issuer}/jwks`)).json()) as {
      keys: { kid: string; alg: string; kty: string; n: string; e: string }[];
    };
    const rsa = jwks.keys.find((k) => k.alg === 'RS256');
    const ec = jwks.keys.find((k) => k.alg === 'ES256');
    if (rsa === undefined || ec === undefined) throw new Error('the JWKS lacks a key');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: gatehouse.issuer,
      sub: 'attacker',
      aud: RSA_API,
      client_id: 'attacker',
      scope: 'read',
      iat: now,
      exp: now + 300,
      jti: 'forged',
    };
    const pem = createPublicKey({
      key: { kty: rsa.kty, n: rsa.n, e: rsa.e },
      format: 'jwk',
    }).export({
      format: 'pem',
      type: 'spki',
    });
    const forged: string[] = [];
    const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: rsa.kid })}.${b64(claims)}`;
    forged.push(`${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`);
    forged.push(`${b64({ alg: 'none', typ: 'at+jwt', kid: rsa.kid })}.${b64(claims)}.`);
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (const kid of [rsa.kid, ec.kid]) {
      const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid })}.${b64(claims)}`;
      forged.push(
        `${input}.${sign('sha256', Buffer.from(input), attacker.privateKey).toString('base64url')}`,
      );
    }
    const esInput = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: rsa.kid })}.${b64(claims)}`;
    forged.push(
      `${esInput}.${sign('sha256', Buffer.from(esInput), { key: attackerEc.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`,
    );
    const rs = resourceServer(RSA_API);
    for (const token of forged) expect((await rs.verifyAccessToken(token)).ok).toBe(false);
  });
});
