/**
 * RFC 6750 §2.1: the token comes in `Authorization: Bearer <b64token>`, and nowhere else here.
 * RFC 9110 §11.1: the scheme is case-insensitive. §2 of RFC 6750: one method per request.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorizationHeaders, extractBearerToken } from '../src/index.js';

const b64token = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,40}=*$/);
const caseOf = (word: string) =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((upper) =>
    Array.from(word)
      .map((c, i) => (upper[i] === true ? c.toUpperCase() : c))
      .join(''),
  );

describe('extractBearerToken', () => {
  it('reads the token of a Bearer header, whatever the case of the scheme', () => {
    fc.assert(
      fc.property(
        b64token,
        caseOf('bearer'),
        fc.integer({ min: 1, max: 3 }),
        (token, scheme, n) => {
          expect(
            extractBearerToken({ authorization: [`${scheme}${' '.repeat(n)}${token}`] }),
          ).toStrictEqual({ ok: true, token });
        },
      ),
    );
  });

  it.each([
    [[], 'missing'],
    [['Basic dXNlcjpwYXNz'], 'missing'],
    [['DPoP abc'], 'missing'],
    [['Bearer'], 'invalid_request'],
    [['Bearer '], 'invalid_request'],
    [['Bearer a b'], 'invalid_request'],
    [['Bearer a,b'], 'invalid_request'],
    [['Bearer a, Bearer b'], 'invalid_request'],
    [['Bearer ="x"'], 'invalid_request'],
    [['Bearer a', 'Bearer a'], 'invalid_request'],
    [['Bearer a', 'Basic b'], 'invalid_request'],
    [[''], 'invalid_request'],
  ])('%j → %s', (authorization, reason) => {
    const result = extractBearerToken({ authorization });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe(reason);
  });

  it('refuses a token in the query, with or without a header', () => {
    fc.assert(
      fc.property(b64token, fc.boolean(), fc.constantFrom('', 'x=1&'), (token, header, before) => {
        const result = extractBearerToken({
          authorization: header ? [`Bearer ${token}`] : [],
          url: `/mcp?${before}access_token=${token}`,
        });
        expect(result).toStrictEqual({
          ok: false,
          reason: 'invalid_request',
          description: 'send the access token in the Authorization header, not in the URL',
        });
      }),
    );
  });

  it('refuses a token in a parsed body; any other body is ignored', () => {
    expect(
      extractBearerToken({ authorization: ['Bearer abc'], body: { access_token: 'abc' } }),
    ).toMatchObject({ ok: false, reason: 'invalid_request' });
    expect(
      extractBearerToken({ authorization: ['Bearer abc'], body: { jsonrpc: '2.0' } }),
    ).toStrictEqual({ ok: true, token: 'abc' });
    expect(
      extractBearerToken({ authorization: ['Bearer abc'], body: 'access_token=x' }),
    ).toStrictEqual({ ok: true, token: 'abc' });
    expect(
      extractBearerToken({ authorization: ['Bearer abc'], url: '/mcp?q=access_token' }),
    ).toStrictEqual({ ok: true, token: 'abc' });
  });
});

describe('authorizationHeaders', () => {
  it('keeps every Authorization line of raw headers, which req.headers would collapse', () => {
    expect(
      authorizationHeaders(['Host', 'x', 'authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer b']),
    ).toStrictEqual(['Bearer a', 'Bearer b']);
    expect(authorizationHeaders(['Host', 'x'])).toStrictEqual([]);
  });
});
