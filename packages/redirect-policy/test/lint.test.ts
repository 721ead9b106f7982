import { describe, expect, it } from 'vitest';
import { LintCode, lintRedirectUris, type LintWarning, type PolicyContext } from '../src/index.js';

const nativeProd: PolicyContext = { environment: 'production', clientType: 'native' };
const webDev: PolicyContext = { environment: 'development', clientType: 'web' };
const webStaging: PolicyContext = { environment: 'staging', clientType: 'web' };

function codes(warnings: LintWarning[]): string[] {
  return warnings.map((w) => w.code);
}

describe('lintRedirectUris', () => {
  it('is silent on a clean set', () => {
    expect(
      lintRedirectUris(
        ['https://app.example.com/callback', 'http://127.0.0.1/callback', 'com.example.app:/cb'],
        nativeProd,
      ),
    ).toEqual([]);
  });

  // RFC 8252 §8.3: "While redirect URIs using localhost (i.e., "http://localhost:{port}/{path}")
  // function similarly to loopback IP redirects ... the use of localhost is NOT RECOMMENDED."
  it('prefers 127.0.0.1 over localhost', () => {
    const [warning] = lintRedirectUris(['http://localhost/callback'], nativeProd);
    expect(warning).toMatchObject({
      code: LintCode.LocalhostLoopback,
      uris: ['http://localhost/callback'],
    });
    expect(warning?.message).toContain('http://127.0.0.1/callback');
  });

  it('flags the same URI with and without a trailing slash', () => {
    const warnings = lintRedirectUris(
      ['https://app.example.com/cb', 'https://app.example.com/cb/'],
      webStaging,
    );
    expect(warnings).toEqual([
      expect.objectContaining({
        code: LintCode.TrailingSlashPair,
        uris: ['https://app.example.com/cb', 'https://app.example.com/cb/'],
      }),
    ]);
  });

  it('flags exact duplicates and loopback URIs that differ only in the port', () => {
    expect(
      codes(
        lintRedirectUris(['https://app.example.com/cb', 'https://app.example.com/cb'], webStaging),
      ),
    ).toEqual([LintCode.Duplicate]);
    const ports = lintRedirectUris(
      ['http://127.0.0.1:3000/cb', 'http://127.0.0.1:4000/cb'],
      nativeProd,
    );
    expect(codes(ports)).toEqual([
      LintCode.Duplicate,
      LintCode.LoopbackPortIgnored,
      LintCode.LoopbackPortIgnored,
    ]);
  });

  // RFC 8252 §7.3: the server "MUST allow any port to be specified at the time of the request".
  it('says a loopback port is not enforced', () => {
    expect(codes(lintRedirectUris(['http://127.0.0.1:8080/cb'], nativeProd))).toEqual([
      LintCode.LoopbackPortIgnored,
    ]);
  });

  it('warns that a web client loopback URI will not survive promotion', () => {
    expect(codes(lintRedirectUris(['http://127.0.0.1/cb'], webDev))).toEqual([
      LintCode.LoopbackForWebClient,
    ]);
  });

  it('flags a wildcard directly below the registrable domain, and accepts a narrower one', () => {
    const [broad] = lintRedirectUris(['https://*.example.com/cb'], webStaging);
    expect(broad).toMatchObject({ code: LintCode.BroadWildcard });
    expect(broad?.message).toContain('https://*.preview.example.com/cb');
    expect(lintRedirectUris(['https://*.preview.example.com/cb'], webStaging)).toEqual([]);
  });

  it('flags an exact URI already covered by a wildcard', () => {
    const warnings = lintRedirectUris(
      ['https://*.preview.example.com/cb', 'https://pr-1.preview.example.com/cb'],
      webStaging,
    );
    expect(warnings).toEqual([
      expect.objectContaining({
        code: LintCode.CoveredByWildcard,
        uris: ['https://pr-1.preview.example.com/cb', 'https://*.preview.example.com/cb'],
      }),
    ]);
  });

  it('flags internationalised hosts and IP-address hosts', () => {
    expect(codes(lintRedirectUris(['https://xn--exmple-cua.com/cb'], webStaging))).toEqual([
      LintCode.InternationalizedHost,
    ]);
    expect(codes(lintRedirectUris(['https://203.0.113.7/cb'], webStaging))).toEqual([
      LintCode.IpAddressHost,
    ]);
  });

  it('leaves invalid URIs to validation', () => {
    expect(
      lintRedirectUris(
        ['http://app.example.com/cb', 'javascript:alert(1)', 'not a uri'],
        webStaging,
      ),
    ).toEqual([]);
  });

  it('throws a TypeError when misused', () => {
    expect(() =>
      lintRedirectUris('https://a.example.com/' as unknown as string[], webStaging),
    ).toThrow(TypeError);
    expect(() => lintRedirectUris([1] as unknown as string[], webStaging)).toThrow(TypeError);
    expect(() =>
      lintRedirectUris([], {
        environment: 'staging',
        clientType: 'browser',
      } as unknown as PolicyContext),
    ).toThrow(TypeError);
  });
});
