/**
 * The hand-written ES256 signer and verifier (src/tokens/jws.ts): what it signs, jose (the
 * reference implementation) accepts; what it verifies, it refuses when anything is off.
 */
import { createHmac, generateKeyPairSync, sign as signWith, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { compactVerify, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { signES256, verifyES256, type VerifyOptions } from '../src/tokens/jws.js';

const ISSUER = 'https://id.example.com/e/development';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const NOW_S = NOW / 1000;

function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const { privateKey, publicKey } = keyPair();
const other = keyPair();
const options: VerifyOptions = {
  keys: new Map([['k1', publicKey]]),
  issuer: ISSUER,
  typ: 'at+jwt',
  now: NOW,
};
const claims = {
  iss: ISSUER,
  sub: 'user-1',
  aud: 'https://api.example.com',
  iat: NOW_S,
  exp: NOW_S + 600,
};

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The order of P-256's base point: (r, s) and (r, n - s) are both valid signatures. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function sOf(token: string): bigint {
  const signature = Buffer.from(token.split('.')[2] ?? '', 'base64url');
  return BigInt(`0x${signature.subarray(32).toString('hex')}`);
}

/** The same token with s replaced by n - s: the other valid signature of the same bytes. */
function flipS(token: string): string {
  const [h = '', p = '', sig = ''] = token.split('.');
  const signature = Buffer.from(sig, 'base64url');
  const flipped = P256_N - sOf(token);
  const s = Buffer.from(flipped.toString(16).padStart(64, '0'), 'hex');
  return `${h}.${p}.${Buffer.concat([signature.subarray(0, 32), s]).toString('base64url')}`;
}

/** The token with its signature in low-S form, as Gatehouse signs (s <= n/2). */
function lowS(token: string): string {
  return sOf(token) > P256_N / 2n ? flipS(token) : token;
}

/** A token with the given header and payload, signed correctly by `key` (low-S). */
function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key = privateKey,
) {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = signWith('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return lowS(`${input}.${signature.toString('base64url')}`);
}

describe('signES256', () => {
  it('writes a compact JWS that jose verifies, with the header asked for', async () => {
    const token = signES256(privateKey, { kid: 'k1', typ: 'at+jwt' }, claims);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' });
    const { payload } = await jwtVerify(token, publicKey, {
      issuer: ISSUER,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(NOW),
    });
    expect(payload).toEqual(claims);
  });

  it('round-trips any claims through jose and through its own verifier', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc
            .string({ minLength: 1, maxLength: 12 })
            .filter((k) => !['iss', 'exp', 'nbf', 'iat'].includes(k)),
          fc.oneof(
            fc.string(),
            fc.integer(),
            fc.boolean(),
            fc.array(fc.string(), { maxLength: 3 }),
          ),
          { maxKeys: 6 },
        ),
        fc.constantFrom('at+jwt', 'JWT'),
        async (extra, typ) => {
          const payload = { ...extra, iss: ISSUER, exp: NOW_S + 60 };
          const token = signES256(privateKey, { kid: 'k1', typ }, payload);
          const verified = await compactVerify(token, publicKey, { algorithms: ['ES256'] });
          expect(JSON.parse(Buffer.from(verified.payload).toString('utf8'))).toEqual(payload);
          expect(verifyES256(token, { ...options, typ })).toEqual(payload);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('verifyES256', () => {
  const good = () => signES256(privateKey, { kid: 'k1', typ: 'at+jwt' }, claims);

  it('accepts a good token, including one jose signed, and compares typ as RFC 8725 says', async () => {
    expect(verifyES256(good(), options)).toEqual(claims);
    const byJose = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'application/AT+JWT', kid: 'k1' })
      .sign(privateKey);
    expect(verifyES256(lowS(byJose), options)).toEqual(claims);
  });

  // Issue #13 item 7: (r, s) and (r, n - s) both verify under plain ECDSA, so every token had a
  // second valid spelling. Gatehouse signs with s <= n/2 and refuses the other.
  it('signs every token low-S and refuses the high-S twin of a token it issued', async () => {
    for (let i = 0; i < 64; i++) {
      const token = signES256(privateKey, { kid: 'k1', typ: 'at+jwt' }, { ...claims, jti: `${i}` });
      expect(sOf(token) <= P256_N / 2n).toBe(true);
      const twin = flipS(token);
      // The twin is a mathematically valid ECDSA signature: jose (WebCrypto) accepts it.
      await expect(
        compactVerify(twin, publicKey, { algorithms: ['ES256'] }),
      ).resolves.toBeDefined();
      expect(verifyES256(token, options)).toEqual({ ...claims, jti: `${i}` });
      expect(verifyES256(twin, options)).toBeUndefined();
    }
  });

  // Review of issue #13: 64 signature bytes take 86 base64url characters, whose last carries 4
  // bits no decoder reads, so 16 spellings of one token decoded to the same signature.
  it('accepts only the one spelling of a signature, not one whose ignored trailing bits differ', () => {
    const token = good();
    const signature = token.split('.')[2] ?? '';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const characters = Array.from({ length: alphabet.length }, (_, i) => alphabet.charAt(i));
    const accepted = characters.filter(
      (last) => verifyES256(`${token.slice(0, -1)}${last}`, options) !== undefined,
    );
    expect(accepted).toEqual([signature.slice(-1)]);
  });

  it('refuses a signature whose r or s is zero or not below the order', () => {
    const [h = '', p = ''] = good().split('.');
    const zero = Buffer.alloc(32);
    const order = Buffer.from(P256_N.toString(16), 'hex');
    const real = Buffer.from(good().split('.')[2] ?? '', 'base64url');
    for (const [r, s] of [
      [zero, real.subarray(32)],
      [real.subarray(0, 32), zero],
      [order, real.subarray(32)],
    ] as const)
      expect(
        verifyES256(`${h}.${p}.${Buffer.concat([r, s]).toString('base64url')}`, options),
      ).toBeUndefined();
  });

  it('refuses alg none, HS256 keyed with the public key, and any algorithm but ES256', () => {
    const payload = b64(claims);
    const none = `${b64({ alg: 'none', typ: 'at+jwt', kid: 'k1' })}.${payload}.`;
    expect(verifyES256(none, options)).toBeUndefined();
    // The classic confusion: an HMAC whose secret is the public key, which anyone has.
    const pem = publicKey.export({ format: 'pem', type: 'spki' });
    const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })}.${payload}`;
    const hs = `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`;
    expect(verifyES256(hs, options)).toBeUndefined();
    expect(
      verifyES256(forge({ alg: 'ES384', typ: 'at+jwt', kid: 'k1' }, claims), options),
    ).toBeUndefined();
  });

  it('refuses a signature by another key, an unknown kid, and a missing kid', () => {
    expect(
      verifyES256(signES256(other.privateKey, { kid: 'k1', typ: 'at+jwt' }, claims), options),
    ).toBeUndefined();
    expect(
      verifyES256(signES256(privateKey, { kid: 'k2', typ: 'at+jwt' }, claims), options),
    ).toBeUndefined();
    expect(verifyES256(forge({ alg: 'ES256', typ: 'at+jwt' }, claims), options)).toBeUndefined();
  });

  it('refuses the wrong typ, a crit or b64 header, and a DER-encoded signature', () => {
    expect(verifyES256(good(), { ...options, typ: 'JWT' })).toBeUndefined();
    expect(verifyES256(forge({ alg: 'ES256', kid: 'k1' }, claims), options)).toBeUndefined();
    expect(
      verifyES256(
        forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', crit: ['exp'], exp: 1 }, claims),
        options,
      ),
    ).toBeUndefined();
    expect(
      verifyES256(
        forge({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', b64: false, crit: ['b64'] }, claims),
        options,
      ),
    ).toBeUndefined();
    const input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })}.${b64(claims)}`;
    const der = signWith('sha256', Buffer.from(input), privateKey).toString('base64url');
    expect(verifyES256(`${input}.${der}`, options)).toBeUndefined();
  });

  it('refuses the wrong issuer, an expired or not-yet-valid token, and one without exp', () => {
    const header = { alg: 'ES256', typ: 'at+jwt', kid: 'k1' };
    expect(
      verifyES256(forge(header, { ...claims, iss: 'https://evil.example' }), options),
    ).toBeUndefined();
    expect(verifyES256(forge(header, { ...claims, exp: NOW_S }), options)).toBeUndefined();
    expect(verifyES256(forge(header, { ...claims, exp: NOW_S + 1 }), options)).toEqual({
      ...claims,
      exp: NOW_S + 1,
    });
    expect(verifyES256(forge(header, { ...claims, nbf: NOW_S + 1 }), options)).toBeUndefined();
    expect(
      verifyES256(forge(header, { ...claims, exp: `${NOW_S + 600}` }), options),
    ).toBeUndefined();
    expect(verifyES256(forge(header, { ...claims, iat: 'yesterday' }), options)).toBeUndefined();
    const withoutExp: Record<string, unknown> = { ...claims };
    delete withoutExp.exp;
    expect(verifyES256(forge(header, withoutExp), options)).toBeUndefined();
  });

  it('refuses malformed tokens: wrong part counts, non-JSON, arrays, padding', () => {
    const token = good();
    const [h = '', p = '', s = ''] = token.split('.');
    for (const bad of [
      '',
      'a.b',
      `${token}.x`,
      `${h}.${p}`,
      `${h}.${b64([1, 2])}.${s}`,
      `${Buffer.from('not json').toString('base64url')}.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h}=.${p}.${s}`,
    ])
      expect(verifyES256(bad, options)).toBeUndefined();
  });

  it('refuses every token with one character changed', () => {
    const token = good();
    fc.assert(
      fc.property(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(
          ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'.split(''),
        ),
        (index, char) => {
          fc.pre(token[index] !== char);
          const changed = token.slice(0, index) + char + token.slice(index + 1);
          // A change to the last character can leave the decoded bytes as they were (its low
          // bits are padding in base64url); anything else must fail.
          const result = verifyES256(changed, options);
          if (result !== undefined)
            expect(Buffer.from(changed.split('.')[2] ?? '', 'base64url')).toEqual(
              Buffer.from(token.split('.')[2] ?? '', 'base64url'),
            );
        },
      ),
      { numRuns: 500 },
    );
  });
});
