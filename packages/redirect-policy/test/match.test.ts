import { describe, expect, it } from 'vitest';
import {
  MatchCode,
  matchRedirectUri,
  type DiffKind,
  type MatchResult,
  type UriComponent,
} from '../src/index.js';

function via(result: MatchResult): string {
  return result.ok ? result.via : result.code;
}

describe('rule 1: simple string comparison of the raw request', () => {
  // RFC 9700 §4.1.3: "authorization servers MUST utilize exact string matching" (except for the
  // loopback port). OAuth 2.1 §2.3.1: "using simple string comparison as defined in [RFC3986],
  // Section 6.2.1".
  const registered = ['https://app.example.com/callback'];

  it('accepts the registered string itself', () => {
    expect(matchRedirectUri('https://app.example.com/callback', registered)).toEqual({
      ok: true,
      registered: 'https://app.example.com/callback',
      via: 'exact',
    });
  });

  // Every one of these is the same URL to some parser, or a known bypass of a looser matcher.
  it.each([
    'https://app.example.com/callback/',
    'https://app.example.com/Callback',
    'HTTPS://app.example.com/callback',
    'https://APP.example.com/callback',
    'https://app.example.com:443/callback',
    'https://app.example.com/callback?',
    'https://app.example.com/callback#',
    'https://app.example.com/callback?x=1',
    'https://app.example.com/%63allback',
    'https://app.example.com/./callback',
    'https://app.example.com/x/../callback',
    'https://app.example.com/callback/..;/',
    'https://app.example.com/callback/..;/admin',
    'https://app.example.com/callback%2f..%2fadmin',
    'https://app.example.com\\callback',
    'https:\\\\app.example.com\\callback',
    ' https://app.example.com/callback',
    'https://app.example.com/callback ',
    'https://app.example.com/callback\t',
    'https://app.example.com.evil.example/callback',
    'https://app.example.com@evil.example/callback',
    'https://user@app.example.com/callback',
    'https://evil.example/https://app.example.com/callback',
    'https://evil.example/?r=https://app.example.com/callback',
    'https://app.example.co/callback',
    'https://app-example.com/callback',
    'https://\u0430pp.example.com/callback',
    'https://xn--pp-6kc.example.com/callback',
    'http://app.example.com/callback',
    'https://app.example.com/callbackx',
    'https://app.example.com/callbac',
    '//app.example.com/callback',
    '/callback',
    '',
  ])('refuses %j', (requested) => {
    expect(via(matchRedirectUri(requested, registered))).toBe(MatchCode.RedirectUriMismatch);
  });

  it('refuses everything when nothing is registered', () => {
    const result = matchRedirectUri('https://app.example.com/callback', []);
    expect(result).toMatchObject({ ok: false, code: MatchCode.NoRegisteredRedirectUris });
    expect(result.ok || result.closest === undefined).toBe(true);
  });

  it('returns the registered entry that matched, among several', () => {
    const many = ['https://a.example.com/cb', 'https://b.example.com/cb', 'com.example.app:/cb'];
    expect(matchRedirectUri('com.example.app:/cb', many)).toMatchObject({
      ok: true,
      registered: 'com.example.app:/cb',
    });
  });
});

describe('rule 2: the loopback port exception', () => {
  // RFC 8252 §7.3: "The authorization server MUST allow any port to be specified at the time of
  // the request for loopback IP redirect URIs, to accommodate clients that obtain an available
  // ephemeral port from the operating system at the time of the request."
  const registered = ['http://127.0.0.1/callback'];

  it.each([
    'http://127.0.0.1/callback',
    'http://127.0.0.1:1/callback',
    'http://127.0.0.1:80/callback',
    'http://127.0.0.1:8080/callback',
    'http://127.0.0.1:53682/callback',
    'http://127.0.0.1:65535/callback',
  ])('accepts %j', (requested) => {
    expect(matchRedirectUri(requested, registered)).toMatchObject({
      ok: true,
      registered: registered[0],
    });
  });

  it.each([
    'http://127.0.0.1:0/callback',
    'http://127.0.0.1:65536/callback',
    'http://127.0.0.1:99999/callback',
    'http://127.0.0.1:08080/callback',
    'http://127.0.0.1:/callback',
    'http://127.0.0.1:+80/callback',
    'http://127.0.0.1:80a/callback',
    'http://127.0.0.1: 80/callback',
    'http://127.0.0.1:8080/callback/',
    'http://127.0.0.1:8080/Callback',
    'http://127.0.0.1:8080/callback?x=1',
    'http://127.0.0.1:8080/callback#',
    'http://127.0.0.1:8080/callback/../callback',
    'http://localhost:8080/callback',
    'http://[::1]:8080/callback',
    'https://127.0.0.1:8080/callback',
    'HTTP://127.0.0.1:8080/callback',
    'http://127.0.0.1:8080@evil.example/callback',
    'http://127.0.0.1@evil.example/callback',
    'http://127.0.0.1.evil.example/callback',
    'http://127.0.0.1.nip.io:8080/callback',
    'http://127.1:8080/callback',
    'http://0x7f.0.0.1:8080/callback',
    'http://0177.0.0.1:8080/callback',
    'http://2130706433:8080/callback',
    'http://127.0.0.2:8080/callback',
    'http://[::ffff:127.0.0.1]:8080/callback',
    'http://0.0.0.0:8080/callback',
  ])('refuses %j', (requested) => {
    expect(via(matchRedirectUri(requested, registered))).toBe(MatchCode.RedirectUriMismatch);
  });

  it('ignores a port in the registration too', () => {
    const withPort = ['http://127.0.0.1:3000/cb'];
    for (const requested of [
      'http://127.0.0.1/cb',
      'http://127.0.0.1:3000/cb',
      'http://127.0.0.1:4000/cb',
    ]) {
      expect(matchRedirectUri(requested, withPort)).toMatchObject({
        ok: true,
        registered: withPort[0],
      });
    }
  });

  it('keeps localhost, 127.0.0.1 and [::1] apart', () => {
    expect(via(matchRedirectUri('http://localhost:5555/cb', ['http://localhost/cb']))).toBe(
      'loopback-port',
    );
    expect(via(matchRedirectUri('http://[::1]:5555/cb', ['http://[::1]/cb']))).toBe(
      'loopback-port',
    );
    expect(via(matchRedirectUri('http://127.0.0.1:5555/cb', ['http://localhost/cb']))).toBe(
      MatchCode.RedirectUriMismatch,
    );
    expect(via(matchRedirectUri('http://localhost:5555/cb', ['http://127.0.0.1/cb']))).toBe(
      MatchCode.RedirectUriMismatch,
    );
    expect(via(matchRedirectUri('http://LOCALHOST:5555/cb', ['http://localhost/cb']))).toBe(
      MatchCode.RedirectUriMismatch,
    );
    expect(via(matchRedirectUri('http://localhost.:5555/cb', ['http://localhost/cb']))).toBe(
      MatchCode.RedirectUriMismatch,
    );
    expect(via(matchRedirectUri('http://[0:0:0:0:0:0:0:1]:5555/cb', ['http://[::1]/cb']))).toBe(
      MatchCode.RedirectUriMismatch,
    );
  });

  it('grants no port exception to https loopback registrations', () => {
    expect(via(matchRedirectUri('https://127.0.0.1:8443/cb', ['https://127.0.0.1/cb']))).toBe(
      MatchCode.RedirectUriMismatch,
    );
  });
});

describe('rule 3: the wildcard label exception', () => {
  // Gatehouse's own rule: `*` stands for exactly one DNS label of 1-63 characters from a-z, 0-9
  // and -, not starting or ending with -. Everything else is compared exactly.
  const registered = ['https://*.preview.example.com/callback'];

  it.each([
    'https://pr-1.preview.example.com/callback',
    'https://a.preview.example.com/callback',
    'https://0.preview.example.com/callback',
    'https://xn--80ak6aa92e.preview.example.com/callback',
    `https://${'a'.repeat(63)}.preview.example.com/callback`,
  ])('accepts %j', (requested) => {
    expect(matchRedirectUri(requested, registered)).toMatchObject({
      ok: true,
      registered: registered[0],
      via: 'wildcard',
    });
  });

  it.each([
    'https://preview.example.com/callback',
    'https://.preview.example.com/callback',
    'https://a.b.preview.example.com/callback',
    'https://PR-1.preview.example.com/callback',
    'https://-pr.preview.example.com/callback',
    'https://pr-.preview.example.com/callback',
    'https://pr_1.preview.example.com/callback',
    'https://pr%2e1.preview.example.com/callback',
    'https://pr 1.preview.example.com/callback',
    `https://${'a'.repeat(64)}.preview.example.com/callback`,
    'https://evil.example/.preview.example.com/callback',
    'https://evil.example?.preview.example.com/callback',
    'https://evil.example#.preview.example.com/callback',
    'https://evil.example@x.preview.example.com/callback',
    'https://evil@x.preview.example.com/callback',
    'https://evil.example\\.preview.example.com/callback',
    'https://*.preview.example.com/callback',
    'http://pr-1.preview.example.com/callback',
    'https://pr-1.preview.example.com:8443/callback',
    'https://pr-1.preview.example.com/callback/',
    'https://pr-1.preview.example.com/callback?x',
    'https://pr-1.preview.example.com.evil.example/callback',
    'https://pr-1.preview.example.com/callback/../callback',
  ])('refuses %j', (requested) => {
    expect(via(matchRedirectUri(requested, registered))).toBe(MatchCode.RedirectUriMismatch);
  });

  it('honours no wildcard when the environment is production, or treated like it', () => {
    for (const environment of ['production', 'prod-eu']) {
      const result = matchRedirectUri('https://pr-1.preview.example.com/callback', registered, {
        environment,
      });
      expect(result).toMatchObject({ ok: false, diff: { kind: 'wildcard-disabled' } });
    }
    expect(
      via(
        matchRedirectUri('https://pr-1.preview.example.com/callback', registered, {
          environment: 'staging',
        }),
      ),
    ).toBe('wildcard');
  });

  it('honours no partial-label pattern even if one was stored', () => {
    expect(
      via(matchRedirectUri('https://pr-1.example.com/cb', ['https://pr-*.example.com/cb'])),
    ).toBe(MatchCode.RedirectUriMismatch);
    expect(
      via(matchRedirectUri('https://a.b.example.com/cb', ['https://*.*.example.com/cb'])),
    ).toBe(MatchCode.RedirectUriMismatch);
  });
});

describe('rule 4: every failure names the closest registered URI and the difference', () => {
  const registered = [
    'https://app.example.com/callback',
    'https://admin.example.com/oauth/callback',
    'http://127.0.0.1/cb',
    'http://localhost/native',
    'https://*.preview.example.com/callback',
  ];
  const cases: [
    requested: string,
    closest: string,
    kind: DiffKind,
    component: UriComponent,
    index: number,
  ][] = [
    [
      'https://app.example.com/callback/',
      'https://app.example.com/callback',
      'trailing-slash',
      'path',
      32,
    ],
    ['http://app.example.com/callback', 'https://app.example.com/callback', 'scheme', 'scheme', 4],
    [
      'https://APP.example.com/callback',
      'https://app.example.com/callback',
      'letter-case',
      'host',
      8,
    ],
    [
      'https://app.example.com/Callback',
      'https://app.example.com/callback',
      'letter-case',
      'path',
      24,
    ],
    [
      'https://app.example.com:443/callback',
      'https://app.example.com/callback',
      'encoding',
      'port',
      23,
    ],
    [
      'https://app.example.com/%63allback',
      'https://app.example.com/callback',
      'encoding',
      'path',
      24,
    ],
    [
      'https://app.example.com:8443/callback',
      'https://app.example.com/callback',
      'port',
      'port',
      23,
    ],
    [
      'https://app.example.com.evil.example/callback',
      'https://app.example.com/callback',
      'host',
      'host',
      23,
    ],
    [
      'https://app.example.com/callback?next=1',
      'https://app.example.com/callback',
      'query',
      'query',
      32,
    ],
    [
      'https://app.example.com/callback#x',
      'https://app.example.com/callback',
      'fragment',
      'fragment',
      32,
    ],
    [
      'https://app.example.com/auth/callback',
      'https://app.example.com/callback',
      'path',
      'path',
      24,
    ],
    [
      'https://evil@app.example.com/callback',
      'https://app.example.com/callback',
      'userinfo',
      'userinfo',
      8,
    ],
    ['http://localhost:5000/cb', 'http://127.0.0.1/cb', 'loopback-host', 'host', 7],
    ['http://127.0.0.1:5000/native', 'http://localhost/native', 'loopback-host', 'host', 7],
    ['http://[::1]:5000/native', 'http://localhost/native', 'loopback-host', 'host', 7],
    ['http://127.0.0.1:5000/cb/', 'http://127.0.0.1/cb', 'trailing-slash', 'path', 24],
    ['http://127.0.0.1:0/cb', 'http://127.0.0.1/cb', 'port', 'port', 16],
    [
      'https://a.b.preview.example.com/callback',
      'https://*.preview.example.com/callback',
      'wildcard-label',
      'host',
      8,
    ],
    [
      'https://PR-7.preview.example.com/callback',
      'https://*.preview.example.com/callback',
      'wildcard-label',
      'host',
      8,
    ],
    [
      'https://*.preview.example.com/callback',
      'https://*.preview.example.com/callback',
      'wildcard-label',
      'host',
      8,
    ],
  ];
  it.each(cases)(
    'explains %j: closest %j, %s in the %s at %i',
    (requested, closest, kind, component, index) => {
      const result = matchRedirectUri(requested, registered);
      expect(result).toMatchObject({
        ok: false,
        code: MatchCode.RedirectUriMismatch,
        closest,
        diff: { kind, component, index },
      });
      if (!result.ok) {
        expect(result.message).toContain(closest);
        expect(result.message).toContain(result.diff?.description);
      }
    },
  );

  it('shows the loopback registration with the request port, so only the real difference stands out', () => {
    const result = matchRedirectUri('http://127.0.0.1:5000/cb/', registered);
    expect(result).toMatchObject({ ok: false, diff: { expected: 'http://127.0.0.1:5000/cb' } });
  });

  it('never repeats the untrusted request in its message', () => {
    const hostile = 'https://app.example.com/callback/<script>alert(1)</script>';
    const result = matchRedirectUri(hostile, registered);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).not.toContain('<script>');
  });

  it('explains a long hostile request without an edit-distance blow-up, still naming the closest', () => {
    const long = `https://app.example.com/callback?${'x'.repeat(4000)}`;
    const result = matchRedirectUri(long, registered);
    expect(result).toMatchObject({
      ok: false,
      closest: 'https://app.example.com/callback',
      diff: { component: 'query' },
    });
  });
});

describe('library misuse', () => {
  it.each([undefined, null, 1, {}])('throws a TypeError for the requested %j', (requested) => {
    expect(() => matchRedirectUri(requested as string, ['https://a.example.com/'])).toThrow(
      TypeError,
    );
  });
  it.each([undefined, 'https://a.example.com/', [1], [null]])(
    'throws a TypeError for the registered %j',
    (registered) => {
      expect(() =>
        matchRedirectUri('https://a.example.com/', registered as unknown as string[]),
      ).toThrow(TypeError);
    },
  );
  it('throws a TypeError for an empty environment option', () => {
    expect(() =>
      matchRedirectUri('https://a.example.com/', ['https://a.example.com/'], { environment: '' }),
    ).toThrow(TypeError);
  });
});
