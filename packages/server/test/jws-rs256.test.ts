/**
 * RS256 in the hand-written JWS module (src/tokens/jws.ts): what it signs, jose (the reference)
 * accepts; each key verifies only its own algorithm, so no token can pass by naming another.
 */
import { createHmac, generateKeyPairSync, sign as signWith } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, privateKeyObject } from '../src/crypto/signing-keys.js';
import {
  signES256,
  signRS256,
  signRS256Off,
  verifyJws,
  type VerificationKey,
} from '../src/tokens/jws.js';

const ISSUER = 'https://id.example.com/e/development';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const NOW_S = NOW / 1000;
const claims = { iss: ISSUER, sub: 'user-1', aud: 'client-1', iat: NOW_S, exp: NOW_S + 600 };
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keys = new Map<string, VerificationKey>([
  ['rsa', { key: rsa.publicKey, alg: 'RS256' }],
  ['ec', { key: ec.publicKey, alg: 'ES256' }],
]);
const options = { keys, issuer: ISSUER, typ: 'JWT', now: NOW };

describe('RS256', () => {
  it('signs what jose verifies, with the kid and typ in the header', async () => {
    const token = signRS256(rsa.privateKey, { kid: 'rsa', typ: 'JWT' }, claims);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'rsa' });
    const { payload } = await jwtVerify(token, rsa.publicKey, {
      algorithms: ['RS256'],
      issuer: ISSUER,
      currentDate: new Date(NOW),
    });
    expect(payload).toEqual(claims);
    expect(verifyJws(token, options)).toEqual(claims);
  });

  it('signs in the thread pool the very token it signs inline (PKCS#1 v1.5 is deterministic)', async () => {
    const header = { kid: 'rsa', typ: 'JWT' };
    const pooled = await signRS256Off(rsa.privateKey, header, claims);
    expect(pooled).toBe(signRS256(rsa.privateKey, header, claims));
    expect(verifyJws(pooled, options)).toEqual(claims);
  });

  it('generates RSA 2048 keys as JWKs that jose imports and that sign', async () => {
    const key = await generateSigningKey('RS256');
    const publicJwk = JSON.parse(key.publicJwk) as Record<string, unknown>;
    expect(publicJwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: key.kid });
    // Nothing private in the published half.
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
      expect(publicJwk).not.toHaveProperty(member);
    expect(Buffer.from(publicJwk.n as string, 'base64url').length).toBe(256);
    const token = signRS256(privateKeyObject(key.privateJwk), { kid: key.kid, typ: 'JWT' }, claims);
    await expect(compactVerify(token, await importJWK(publicJwk, 'RS256'))).resolves.toBeDefined();
  });

  it('refuses a token whose alg is not its key’s: ES256 named on an RSA kid, RS256 on an EC kid, HS256 keyed with the public key, none', () => {
    // An ES256 signature presented under the RSA key's kid, and the other way round.
    expect(
      verifyJws(signES256(ec.privateKey, { kid: 'rsa', typ: 'JWT' }, claims), options),
    ).toBeUndefined();
    expect(
      verifyJws(signRS256(rsa.privateKey, { kid: 'ec', typ: 'JWT' }, claims), options),
    ).toBeUndefined();
    // The RSA signature is right, but the header says PS256 or RS512: refused.
    for (const alg of ['PS256', 'RS512']) {
      const input = `${b64({ alg, typ: 'JWT', kid: 'rsa' })}.${b64(claims)}`;
      const signature = signWith('sha256', Buffer.from(input), rsa.privateKey).toString(
        'base64url',
      );
      expect(verifyJws(`${input}.${signature}`, options)).toBeUndefined();
    }
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' });
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'rsa' })}.${b64(claims)}`;
    const hs = `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`;
    expect(verifyJws(hs, options)).toBeUndefined();
    expect(
      verifyJws(`${b64({ alg: 'none', typ: 'JWT', kid: 'rsa' })}.${b64(claims)}.`, options),
    ).toBeUndefined();
  });

  it('refuses another RSA key’s signature, a truncated or re-spelled signature, and tampered claims', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(
      verifyJws(signRS256(other.privateKey, { kid: 'rsa', typ: 'JWT' }, claims), options),
    ).toBeUndefined();
    const token = signRS256(rsa.privateKey, { kid: 'rsa', typ: 'JWT' }, claims);
    const [h = '', p = '', s = ''] = token.split('.');
    expect(verifyJws(`${h}.${p}.${s.slice(0, -4)}`, options)).toBeUndefined();
    // A leading zero byte makes another string of the same number: one spelling only.
    const padded = Buffer.concat([Buffer.alloc(1), Buffer.from(s, 'base64url')]).toString(
      'base64url',
    );
    expect(verifyJws(`${h}.${p}.${padded}`, options)).toBeUndefined();
    expect(verifyJws(`${h}.${b64({ ...claims, sub: 'admin' })}.${s}`, options)).toBeUndefined();
  });

  it('refuses an expired token unless told to accept one (an id_token_hint)', () => {
    const expired = signRS256(
      rsa.privateKey,
      { kid: 'rsa', typ: 'JWT' },
      { ...claims, exp: NOW_S - 1 },
    );
    expect(verifyJws(expired, options)).toBeUndefined();
    expect(verifyJws(expired, { ...options, acceptExpired: true })).toMatchObject({
      sub: 'user-1',
    });
  });
});
