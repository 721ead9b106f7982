/**
 * Regressions for the findings of an adversarial review of this library: each case was once
 * accepted or explained wrongly.
 */
import { describe, expect, it } from 'vitest';
import {
  ValidationCode,
  matchRedirectUri,
  validateRedirectUri,
  type PolicyContext,
} from '../src/index.js';

const stagingWeb: PolicyContext = { environment: 'staging', clientType: 'web' };
const prodNative: PolicyContext = { environment: 'production', clientType: 'native' };

describe('validation', () => {
  // Browsers resolve every name below localhost to the loopback interface.
  it.each([
    'https://*.app.localhost/cb',
    'https://*.app.localhost./cb',
    'https://*.a.b.localhost/cb',
  ])('refuses the wildcard below localhost %j', (uri) => {
    for (const context of [
      stagingWeb,
      { environment: 'development', clientType: 'native' } as const,
    ]) {
      expect(validateRedirectUri(uri, context)).toMatchObject({
        ok: false,
        code: ValidationCode.NonstandardLoopback,
      });
    }
  });

  // RFC 8252 §7.1: "a URI scheme based on a domain name under their control, expressed in reverse order".
  it.each([
    'com.:/cb',
    'x.:/cb',
    'a..b:/cb',

    'x-apple.systempreferences:com.apple.preference.security',
    'com.example-:/cb',
  ])('refuses %j as not reverse-DNS', (uri) => {
    expect(validateRedirectUri(uri, prodNative)).toMatchObject({
      ok: false,
      code: ValidationCode.PrivateUseSchemeNotReverseDns,
    });
  });
  it.each(['com.example.app:/cb', 'io.github.octocat.tool:/cb', 'uk.co.example.app:/cb'])(
    'accepts the reverse-DNS scheme %j',
    (uri) => {
      expect(validateRedirectUri(uri, prodNative)).toEqual({
        ok: true,
        kind: 'private-use-scheme',
      });
    },
  );

  it.each<[string, PolicyContext]>([
    ['https://app.example.com/cb?code=1#', prodNative],
    ['http://localhost/cb#', stagingWeb],
    ['http://example.com/cb?state=x', prodNative],
    ['http://example.com/a%2Fb', prodNative],
    ['http://example.com:443/cb', prodNative],
  ])('offers no fix for %j that would itself be refused', (uri, context) => {
    const result = validateRedirectUri(uri, context);
    expect(result.ok).toBe(false);
    if (!result.ok && result.suggestion !== undefined)
      expect(validateRedirectUri(result.suggestion, context).ok).toBe(true);
  });
});

describe('explanations', () => {
  it('never repeats the request in its message, even the label put in place of a wildcard', () => {
    const hostile = 'https://<img src=x onerror=alert(1)>.preview.example.com/cb';
    const result = matchRedirectUri(hostile, ['https://*.preview.example.com/cb']);
    expect(result).toMatchObject({ ok: false, diff: { kind: 'wildcard-label' } });
    if (!result.ok) expect(result.message).not.toContain('<img');
    const scheme = matchRedirectUri('JAVASCRIPTXX-pwned.by.attacker:x', [
      'https://app.example.com/cb',
    ]);
    if (!scheme.ok) expect(scheme.message.toLowerCase()).not.toContain('pwned');
  });

  it.each([
    ['https://evil.com\\@app.example.com/cb', 'https://app.example.com/cb'],
    ['https://app.example.com@evil.com/cb', 'https://app.example.com/cb'],
  ])('says %j goes to a different host, as a browser would read it', (requested, registered) => {
    expect(matchRedirectUri(requested, [registered])).toMatchObject({
      ok: false,
      diff: { kind: 'host' },
    });
  });

  it('names the registered wildcard, not a host made up from the request', () => {
    const result = matchRedirectUri('https://evilpreview.example.com/cb', [
      'https://*.preview.example.com/cb',
    ]);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toContain('*.preview.example.com is registered');
      expect(result.message).not.toContain('evilpreview.preview');
    }
  });

  it('puts an authority-versus-path difference in the host, not the scheme', () => {
    expect(matchRedirectUri('com.example.app://cb', ['com.example.app:/cb'])).toMatchObject({
      ok: false,
      diff: {
        component: 'host',
        index: 17,
        description: 'has an authority (//host) where the registered URI has none',
      },
    });
  });

  it.each([
    ['https://app.example.com/cb%3Fx=1', 'https://app.example.com/cb?x=1'],
    ['https://app.example.com/a%2Fb', 'https://app.example.com/a/b'],
  ])('does not call %j the same URL as %j', (requested, registered) => {
    const result = matchRedirectUri(requested, [registered]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.diff?.kind).not.toBe('encoding');
  });

  it('still calls an encoded unreserved character the same URL', () => {
    expect(
      matchRedirectUri('https://app.example.com/%63b', ['https://app.example.com/cb']),
    ).toMatchObject({
      ok: false,
      diff: { kind: 'encoding' },
    });
  });

  it('explains a mismatch against a very long registration list without overflowing the stack', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => `https://app-${i}.example.com/cb`);
    expect(matchRedirectUri('x', many)).toMatchObject({ ok: false, code: 'redirect_uri_mismatch' });
  });
});
