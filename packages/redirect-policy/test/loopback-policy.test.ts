import { describe, expect, it } from 'vitest';
import {
  LintCode,
  LOOPBACK_HOSTS,
  MatchCode,
  ValidationCode,
  lintRedirectUris,
  matchRedirectUri,
  validateRedirectUri,
  type LoopbackHost,
  type PolicyContext,
} from '../src/index.js';

// Issue #18: an environment may allow only some of the loopback hosts; typically an operator
// refuses `localhost` in production (RFC 8252 §8.3: NOT RECOMMENDED, the name can resolve elsewhere).
const noLocalhost: readonly LoopbackHost[] = ['127.0.0.1', '[::1]'];
const production = (loopbackHosts?: readonly LoopbackHost[]): PolicyContext => ({
  environment: 'production',
  clientType: 'native',
  ...(loopbackHosts === undefined ? {} : { loopbackHosts }),
});

describe('validateRedirectUri with a loopback policy', () => {
  it('accepts all three hosts by default, as before the policy existed', () => {
    for (const host of LOOPBACK_HOSTS)
      expect(validateRedirectUri(`http://${host}/callback`, production())).toEqual({
        ok: true,
        kind: 'loopback',
      });
  });

  it('refuses localhost when the environment allows only the IP literals, citing RFC 8252 §8.3', () => {
    const result = validateRedirectUri('http://localhost/callback', production(noLocalhost));
    expect(result).toMatchObject({
      ok: false,
      code: ValidationCode.LoopbackHostNotAllowed,
      suggestion: 'http://127.0.0.1/callback',
    });
    expect(!result.ok && result.message).toMatch(/production environment does not allow/);
    expect(!result.ok && result.message).toMatch(/RFC 8252 §8\.3/);
    expect(!result.ok && result.message).toMatch(/use 127\.0\.0\.1/);
  });

  it('keeps the port, path and query in the suggestion, and refuses https on localhost too', () => {
    expect(
      validateRedirectUri('http://localhost:8080/cb?x=1', production(noLocalhost)),
    ).toMatchObject({
      code: 'loopback_host_not_allowed',
      suggestion: 'http://127.0.0.1:8080/cb?x=1',
    });
    expect(
      validateRedirectUri('https://localhost/cb', {
        ...production(noLocalhost),
        environment: 'development',
        clientType: 'web',
      }),
    ).toMatchObject({ code: 'loopback_host_not_allowed', suggestion: 'https://127.0.0.1/cb' });
  });

  it('suggests the next allowed host when 127.0.0.1 is refused as well', () => {
    const result = validateRedirectUri('http://localhost/cb', production(['[::1]']));
    expect(result).toMatchObject({
      code: 'loopback_host_not_allowed',
      suggestion: 'http://[::1]/cb',
    });
    expect(validateRedirectUri('http://127.0.0.1/cb', production(['[::1]']))).toMatchObject({
      code: 'loopback_host_not_allowed',
      suggestion: 'http://[::1]/cb',
    });
  });

  it('accepts the allowed hosts, and the web-client rule still comes first', () => {
    expect(validateRedirectUri('http://[::1]/cb', production(noLocalhost)).ok).toBe(true);
    expect(
      validateRedirectUri('http://localhost/cb', { ...production(noLocalhost), clientType: 'web' }),
    ).toMatchObject({ code: ValidationCode.LoopbackForWebClient });
  });

  it('leaves non-loopback URIs alone', () => {
    expect(validateRedirectUri('https://app.example.com/cb', production(noLocalhost)).ok).toBe(
      true,
    );
    expect(validateRedirectUri('com.example.app:/cb', production(noLocalhost)).ok).toBe(true);
  });

  it('treats an empty or unknown host list as a programming error', () => {
    expect(() => validateRedirectUri('http://127.0.0.1/', production([]))).toThrow(TypeError);
    expect(() =>
      validateRedirectUri('http://127.0.0.1/', production(['127.0.0.2' as LoopbackHost])),
    ).toThrow(/non-empty list of 127\.0\.0\.1, \[::1\], localhost/);
  });
});

describe('matchRedirectUri with a loopback policy', () => {
  const registered = ['http://localhost/callback', 'http://127.0.0.1/other'];
  const options = {
    environment: 'production',
    clientType: 'native',
    loopbackHosts: noLocalhost,
  } as const;

  it('no longer matches a localhost registration made before the policy', () => {
    expect(matchRedirectUri('http://localhost:5000/callback', registered).ok).toBe(true);
    const result = matchRedirectUri('http://localhost:5000/callback', registered, options);
    expect(result).toMatchObject({
      ok: false,
      code: MatchCode.LoopbackHostNotAllowed,
      closest: 'http://localhost/callback',
    });
    expect(!result.ok && result.message).toMatch(/RFC 8252 §8\.3/);
    expect(!result.ok && result.message).toMatch(
      /registration http:\/\/localhost\/callback .* refused now/,
    );
  });

  it('refuses a disallowed host even without a registration it would match, and never echoes the request', () => {
    const result = matchRedirectUri('http://localhost:5000/evil<script>', registered, options);
    expect(result).toMatchObject({ ok: false, code: MatchCode.LoopbackHostNotAllowed });
    expect(result).not.toHaveProperty('closest');
    expect(!result.ok && result.message).not.toContain('<script>');
  });

  it('is not fooled by a host that merely starts with localhost', () => {
    const result = matchRedirectUri('http://localhost.evil.example/callback', registered, options);
    expect(result).toMatchObject({ ok: false, code: MatchCode.RedirectUriMismatch });
  });

  it('still matches the allowed hosts with any port', () => {
    expect(matchRedirectUri('http://127.0.0.1:5000/other', registered, options)).toEqual({
      ok: true,
      registered: 'http://127.0.0.1/other',
      via: 'loopback-port',
    });
  });

  it('explains a request on 127.0.0.1 against a stale localhost registration', () => {
    const result = matchRedirectUri(
      'http://127.0.0.1:5000/callback',
      ['http://localhost/callback'],
      options,
    );
    expect(result).toMatchObject({
      ok: false,
      code: MatchCode.RedirectUriMismatch,
      diff: { kind: 'loopback-host' },
    });
    expect(!result.ok && result.diff?.description).toMatch(
      /localhost is no longer allowed in this environment, so register the 127\.0\.0\.1 form/,
    );
  });

  it('refuses a host left out of a list that repeats another', () => {
    const result = matchRedirectUri('http://[::1]:5000/cb', ['http://[::1]/cb'], {
      loopbackHosts: ['localhost', 'localhost', '127.0.0.1'],
    });
    expect(result).toMatchObject({ ok: false, code: MatchCode.LoopbackHostNotAllowed });
  });

  it('throws for a malformed host list', () => {
    expect(() => matchRedirectUri('http://127.0.0.1/', registered, { loopbackHosts: [] })).toThrow(
      TypeError,
    );
  });
});

describe('lintRedirectUris with a loopback policy', () => {
  it('leaves a refused localhost to validation, and warns about it where it is allowed', () => {
    const uris = ['http://localhost/cb'];
    expect(lintRedirectUris(uris, production(noLocalhost))).toEqual([]);
    expect(lintRedirectUris(uris, production()).map((w) => w.code)).toContain(
      LintCode.LocalhostLoopback,
    );
  });
});
