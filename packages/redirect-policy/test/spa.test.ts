import { describe, expect, it } from 'vitest';
import {
  LintCode,
  ValidationCode,
  lintRedirectUris,
  matchRedirectUri,
  validateRedirectUri,
  type PolicyContext,
  type ValidationResult,
} from '../src/index.js';

// Issue #16: a single-page app (`spa`) is a public client in a browser. Its redirect URIs are
// also the exact origins granted CORS at the token, revocation and userinfo endpoints, so nothing
// about them may vary at request time: exact https URIs, no wildcard, no private-use scheme, and
// loopback only in development, then matched with its exact port.

const spa = (environment = 'production'): PolicyContext => ({ environment, clientType: 'spa' });

function refusedWith(result: ValidationResult): string {
  return result.ok ? `accepted as ${result.kind}` : result.code;
}

describe('spa registration', () => {
  it('accepts exact https redirect URIs in every environment', () => {
    for (const environment of ['development', 'staging', 'production', 'qa-eu']) {
      expect(validateRedirectUri('https://app.example.com/callback', spa(environment))).toEqual({
        ok: true,
        kind: 'https',
      });
    }
  });

  it('refuses a wildcard in every environment, even where a web client may have one', () => {
    const uri = 'https://*.preview.example.com/callback';
    expect(validateRedirectUri(uri, { environment: 'staging', clientType: 'web' }).ok).toBe(true);
    for (const environment of ['development', 'staging', 'production']) {
      const result = validateRedirectUri(uri, spa(environment));
      expect(refusedWith(result)).toBe(ValidationCode.WildcardForSpaClient);
      expect(result.ok ? '' : result.message).toMatch(/single-page app.*origin/i);
    }
  });

  it('refuses private-use schemes, naming the single-page app', () => {
    const result = validateRedirectUri('com.example.app:/callback', spa('development'));
    expect(refusedWith(result)).toBe(ValidationCode.PrivateUseSchemeForWebClient);
    expect(result.ok ? '' : result.message).toContain('single-page app client');
  });

  it('accepts http loopback with its port in development only', () => {
    expect(validateRedirectUri('http://127.0.0.1:5173/callback', spa('development'))).toEqual({
      ok: true,
      kind: 'loopback',
    });
    for (const environment of ['staging', 'production', 'qa-eu']) {
      const result = validateRedirectUri('http://127.0.0.1:5173/callback', spa(environment));
      expect(refusedWith(result)).toBe(ValidationCode.LoopbackForWebClient);
      expect(result.ok ? '' : result.message).toMatch(/^Single-page app clients/);
    }
  });

  it('refuses plain http off loopback, suggesting the https form', () => {
    const result = validateRedirectUri('http://app.example.com/callback', spa());
    expect(result).toMatchObject({
      ok: false,
      code: ValidationCode.HttpNotLoopback,
      suggestion: 'https://app.example.com/callback',
    });
  });

  it('keeps every general rule (fragment, response parameter, forbidden scheme)', () => {
    expect(refusedWith(validateRedirectUri('https://app.example.com/cb#x', spa()))).toBe(
      ValidationCode.Fragment,
    );
    expect(refusedWith(validateRedirectUri('https://app.example.com/cb?code=1', spa()))).toBe(
      ValidationCode.ResponseParameterInQuery,
    );
    expect(refusedWith(validateRedirectUri('javascript:alert(1)//', spa()))).toBe(
      ValidationCode.ForbiddenScheme,
    );
  });
});

describe('spa matching: exact only', () => {
  const options = { environment: 'development', clientType: 'spa' } as const;

  it('matches the registered string exactly', () => {
    expect(
      matchRedirectUri(
        'http://127.0.0.1:5173/callback',
        ['http://127.0.0.1:5173/callback'],
        options,
      ),
    ).toEqual({ ok: true, registered: 'http://127.0.0.1:5173/callback', via: 'exact' });
  });

  it('attack: another loopback port is another origin and never matches', () => {
    // For a native client any port matches (RFC 8252 §7.3); a page on another port of the same
    // machine is another origin, which would receive the code and be granted CORS.
    const registered = ['http://127.0.0.1:5173/callback'];
    expect(
      matchRedirectUri('http://127.0.0.1:8080/callback', registered, {
        environment: 'development',
        clientType: 'native',
      }).ok,
    ).toBe(true);
    const result = matchRedirectUri('http://127.0.0.1:8080/callback', registered, options);
    expect(result).toMatchObject({
      ok: false,
      code: 'redirect_uri_mismatch',
      closest: 'http://127.0.0.1:5173/callback',
      diff: { component: 'port', kind: 'port', expected: 'http://127.0.0.1:5173/callback' },
    });
    expect(result.ok ? '' : result.message).toContain('single-page app');
    // A registration without a port is port 80, and nothing else.
    expect(matchRedirectUri('http://127.0.0.1:8080/cb', ['http://127.0.0.1/cb'], options).ok).toBe(
      false,
    );
  });

  it('attack: a wildcard that reached a spa client by any route never matches', () => {
    const result = matchRedirectUri(
      'https://evil.preview.example.com/callback',
      ['https://*.preview.example.com/callback'],
      { environment: 'development', clientType: 'spa' },
    );
    expect(result).toMatchObject({
      ok: false,
      diff: { kind: 'wildcard-disabled' },
    });
    expect(result.ok ? '' : result.message).toContain('never honoured for a single-page app');
  });

  it('throws a TypeError for an unknown client type', () => {
    expect(() =>
      matchRedirectUri('https://a.example/cb', ['https://a.example/cb'], {
        clientType: 'browser' as never,
      }),
    ).toThrow(TypeError);
  });
});

describe('spa lint', () => {
  it('treats loopback URIs on different ports as different, and warns of nothing about the port', () => {
    const warnings = lintRedirectUris(
      ['http://127.0.0.1:5173/callback', 'http://127.0.0.1:4173/callback'],
      spa('development'),
    );
    expect(warnings.map((w) => w.code)).toEqual([
      LintCode.LoopbackForWebClient,
      LintCode.LoopbackForWebClient,
    ]);
    expect(warnings[0]?.message).toContain('single-page app client');
  });

  it('does not push a spa from localhost to 127.0.0.1: each is the origin its dev server uses', () => {
    const codes = lintRedirectUris(['http://localhost:5173/callback'], spa('development')).map(
      (w) => w.code,
    );
    expect(codes).toEqual([LintCode.LoopbackForWebClient]);
    expect(
      lintRedirectUris(['http://localhost/callback'], {
        environment: 'development',
        clientType: 'native',
      }).map((w) => w.code),
    ).toContain(LintCode.LocalhostLoopback);
  });

  it('still reports exact duplicates', () => {
    const warnings = lintRedirectUris(
      ['https://app.example.com/cb', 'https://app.example.com/cb'],
      spa(),
    );
    expect(warnings.map((w) => w.code)).toEqual([LintCode.Duplicate]);
  });
});
