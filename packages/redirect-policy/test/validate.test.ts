import { describe, expect, it } from 'vitest';
import {
  MAX_REDIRECT_URI_LENGTH,
  ValidationCode,
  validateRedirectUri,
  type ClientType,
  type PolicyContext,
  type ValidationResult,
} from '../src/index.js';

const ENVIRONMENTS = ['development', 'staging', 'production', 'qa-eu'] as const;
const CLIENT_TYPES: readonly ClientType[] = ['web', 'native'];
const EVERY_CONTEXT: PolicyContext[] = ENVIRONMENTS.flatMap((environment) =>
  CLIENT_TYPES.map((clientType) => ({ environment, clientType })),
);

const native = (environment = 'production'): PolicyContext => ({
  environment,
  clientType: 'native',
});
const web = (environment = 'production'): PolicyContext => ({ environment, clientType: 'web' });

function refusedWith(result: ValidationResult): string {
  return result.ok ? `accepted as ${result.kind}` : result.code;
}

describe('rule 1: absolute and canonical', () => {
  // OAuth 2.1 §2.3.1: "Authorization servers MUST require clients to register their complete
  // redirect URI (including the path component)" and compare it by simple string comparison
  // (RFC 3986 §6.2.1). Only the one spelling a browser actually sends can ever match, so only the
  // WHATWG serialisation may be registered.
  const notCanonical: [string, string][] = [
    ['HTTPS://app.example.com/cb', 'https://app.example.com/cb'],
    ['https://APP.Example.com/cb', 'https://app.example.com/cb'],
    ['https://app.example.com:443/cb', 'https://app.example.com/cb'],
    ['http://127.0.0.1:80/cb', 'http://127.0.0.1/cb'],
    ['https://app.example.com/a/../cb', 'https://app.example.com/cb'],
    ['https://app.example.com/./cb', 'https://app.example.com/cb'],
    ['https://app.example.com/%2e%2e/cb', 'https://app.example.com/cb'],
    ['https://app.example.com/%2E/cb', 'https://app.example.com/cb'],
    ['https://app.example.com/a/.%2e/cb', 'https://app.example.com/cb'],
    ['https:\\\\app.example.com\\cb', 'https://app.example.com/cb'],
    ['https://app.example.com\\cb', 'https://app.example.com/cb'],
    ['https://app.example.com/c b', 'https://app.example.com/c%20b'],
    [' https://app.example.com/cb', 'https://app.example.com/cb'],
    ['https://app.example.com/cb ', 'https://app.example.com/cb'],
    ['https://app.exa\tmple.com/cb', 'https://app.example.com/cb'],
    ['https://app.example.com/cb\n', 'https://app.example.com/cb'],
    ['https://exämple.com/cb', 'https://xn--exmple-cua.com/cb'],
    // Cyrillic "а" in place of Latin "a": an IDN look-alike is only ever registered in punycode.
    ['https://\u0430pp.example.com/cb', 'https://xn--pp-6kc.example.com/cb'],
    ['https://app.example.com', 'https://app.example.com/'],
    ['https:app.example.com/cb', 'https://app.example.com/cb'],
    ['https:/app.example.com/cb', 'https://app.example.com/cb'],
    ['https://@app.example.com/cb', 'https://app.example.com/cb'],
    ['https://app.example.com/cb?next=a b', 'https://app.example.com/cb?next=a%20b'],
    // IPv4 shorthand, octal, hex and decimal spellings of the loopback address.
    ['http://127.1/cb', 'http://127.0.0.1/cb'],
    ['http://0177.0.0.1/cb', 'http://127.0.0.1/cb'],
    ['http://0x7f.0.0.1/cb', 'http://127.0.0.1/cb'],
    ['http://0x7f000001/cb', 'http://127.0.0.1/cb'],
    ['http://2130706433/cb', 'http://127.0.0.1/cb'],
    ['http://[0:0:0:0:0:0:0:1]/cb', 'http://[::1]/cb'],
    ['http://LOCALHOST/cb', 'http://localhost/cb'],
  ];
  it.each(notCanonical)('refuses %j and suggests %j', (uri, canonical) => {
    const result = validateRedirectUri(uri, native('development'));
    expect(result).toMatchObject({
      ok: false,
      code: ValidationCode.NotCanonical,
      suggestion: canonical,
    });
    expect(result.ok || result.message.includes(canonical)).toBe(true);
  });

  it.each([
    '',
    '/cb',
    '//app.example.com/cb',
    'app.example.com/cb',
    'https://',
    'http://[::1/cb',
    'https://exa mple.com/',
  ])('refuses %j as not absolute', (uri) => {
    expect(validateRedirectUri(uri, native())).toMatchObject({
      ok: false,
      code: ValidationCode.NotAbsolute,
    });
  });

  it('refuses a URI longer than the limit and accepts one at it', () => {
    const base = 'https://app.example.com/';
    const atLimit = base + 'a'.repeat(MAX_REDIRECT_URI_LENGTH - base.length);
    expect(validateRedirectUri(atLimit, web())).toEqual({ ok: true, kind: 'https' });
    expect(validateRedirectUri(`${atLimit}a`, web())).toMatchObject({
      ok: false,
      code: ValidationCode.TooLong,
    });
  });

  it.each([
    'https://app.example.com/cb',
    'https://app.example.com/',
    'https://app.example.com:8443/cb',
    'https://app.example.com/cb?tenant=acme',
    'https://app.example.com/a%20b',
  ])('accepts the canonical %j', (uri) => {
    expect(validateRedirectUri(uri, web())).toEqual({ ok: true, kind: 'https' });
  });
});

describe('rule 2: no fragment, no userinfo, no response parameters in the query', () => {
  // RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
  it.each([
    'https://app.example.com/cb#',
    'https://app.example.com/cb#x',
    'https://app.example.com/cb?x=1#',
    'com.example.app:/cb#',
  ])('refuses the fragment in %j', (uri) => {
    expect(validateRedirectUri(uri, native())).toMatchObject({
      ok: false,
      code: ValidationCode.Fragment,
    });
  });

  // Userinfo makes `https://app.example.com@evil.example/` a URI whose host is evil.example.
  it.each([
    'https://user@app.example.com/cb',
    'https://user:secret@app.example.com/cb',
    'https://app.example.com@evil.example/cb',
    'http://127.0.0.1@evil.example/cb',
    'http://user@127.0.0.1/cb',
  ])('refuses the userinfo in %j', (uri) => {
    expect(validateRedirectUri(uri, native())).toMatchObject({
      ok: false,
      code: ValidationCode.Userinfo,
    });
  });

  // RFC 6749 §4.1.2 / RFC 9207 §2: the server appends these; a registered value would let an
  // attacker pre-set what the client reads.
  const responseParameters = [
    'code',
    'state',
    'iss',
    'error',
    'error_description',
    'error_uri',
    'access_token',
    'id_token',
    'token_type',
    'expires_in',
    'session_state',
  ];
  it.each(responseParameters)('refuses the response parameter %s in the query', (name) => {
    const result = validateRedirectUri(`https://app.example.com/cb?a=1&${name}=x`, web());
    expect(result).toMatchObject({ ok: false, code: ValidationCode.ResponseParameterInQuery });
  });
  it.each([
    'https://app.example.com/cb?%63ode=x',
    'https://app.example.com/cb?State=x',
    'https://app.example.com/cb?iss',
  ])('refuses the disguised response parameter in %j', (uri) => {
    expect(validateRedirectUri(uri, web())).toMatchObject({
      ok: false,
      code: ValidationCode.ResponseParameterInQuery,
    });
  });
  it.each([
    'https://app.example.com/cb?codes=1',
    'https://app.example.com/cb?next=%2Fcode',
    'https://app.example.com/cb?code_hint',
  ])('accepts the look-alike but harmless query in %j', (uri) => {
    expect(validateRedirectUri(uri, web())).toEqual({ ok: true, kind: 'https' });
  });

  it('refuses an empty query and suggests the URI without it', () => {
    expect(validateRedirectUri('https://app.example.com/cb?', web())).toMatchObject({
      ok: false,
      code: ValidationCode.EmptyQuery,
      suggestion: 'https://app.example.com/cb',
    });
  });

  // `..;/` is a dot segment to Tomcat and Spring; encoded separators decode differently per server.
  it.each([
    'https://app.example.com/cb/..;/admin',
    'https://app.example.com/a/.;x/cb',
    'https://app.example.com/a/%2e%2e;/cb',
    'https://app.example.com/cb%2f..%2fadmin',
    'https://app.example.com/cb%5cadmin',
    'https://app.example.com/cb%00.html',
  ])('refuses the ambiguous path in %j', (uri) => {
    expect(validateRedirectUri(uri, web())).toMatchObject({
      ok: false,
      code: ValidationCode.AmbiguousPath,
    });
  });
});

describe('rule 3: https with a host name, for both client types in every environment', () => {
  // OAuth 2.1 §2.3.1 / RFC 9700 §4.1.1: redirect URIs use TLS.
  it.each(EVERY_CONTEXT)('accepts https for %o', (context) => {
    expect(validateRedirectUri('https://app.example.com/oauth/callback', context)).toEqual({
      ok: true,
      kind: 'https',
    });
  });
  it.each(['ws://app.example.com/cb', 'wss://app.example.com/cb', 'ftp://app.example.com/cb'])(
    'refuses the non-http special scheme in %j',
    (uri) => {
      expect(validateRedirectUri(uri, native())).toMatchObject({
        ok: false,
        code: ValidationCode.UnsupportedScheme,
      });
    },
  );
});

describe('rule 4: http only on the loopback hosts', () => {
  // RFC 8252 §7.3: "Loopback redirect URIs use the "http" scheme"; §8.3: "use of localhost is NOT
  // RECOMMENDED" but allowed. Web clients run on servers, so only a developer's machine has one
  // listening on loopback.
  const loopback = [
    'http://127.0.0.1/cb',
    'http://[::1]/cb',
    'http://localhost/cb',
    'http://127.0.0.1:8080/cb',
  ];
  const nativeContexts = EVERY_CONTEXT.filter((c) => c.clientType === 'native');
  it.each(loopback.flatMap((uri) => nativeContexts.map((context) => [uri, context] as const)))(
    'accepts %j for a native client in %o',
    (uri, context) => {
      expect(validateRedirectUri(uri, context)).toEqual({ ok: true, kind: 'loopback' });
    },
  );
  it.each(loopback)('accepts %j for a web client in development only', (uri) => {
    expect(validateRedirectUri(uri, web('development'))).toEqual({ ok: true, kind: 'loopback' });
    for (const environment of ['staging', 'production', 'qa-eu']) {
      expect(refusedWith(validateRedirectUri(uri, web(environment)))).toBe(
        ValidationCode.LoopbackForWebClient,
      );
    }
  });
  it('treats https on a loopback host like loopback', () => {
    expect(validateRedirectUri('https://localhost:8443/cb', native())).toEqual({
      ok: true,
      kind: 'loopback',
    });
    expect(refusedWith(validateRedirectUri('https://localhost:8443/cb', web()))).toBe(
      ValidationCode.LoopbackForWebClient,
    );
  });

  it.each(EVERY_CONTEXT)(
    'refuses http on a non-loopback host for %o, suggesting https',
    (context) => {
      expect(validateRedirectUri('http://app.example.com/cb', context)).toMatchObject({
        ok: false,
        code: ValidationCode.HttpNotLoopback,
        suggestion: 'https://app.example.com/cb',
      });
    },
  );
  it.each([
    'http://localhost.evil.example/cb',
    'http://127.0.0.1.nip.io/cb',
    'http://192.168.1.10/cb',
    'http://10.0.0.1/cb',
  ])('refuses the look-alike or private host in %j', (uri) => {
    expect(refusedWith(validateRedirectUri(uri, native('development')))).toBe(
      ValidationCode.HttpNotLoopback,
    );
  });
  it.each([
    'http://127.0.0.2/cb',
    'http://127.255.255.254/cb',
    'http://[::ffff:127.0.0.1]/cb',
    'http://[::ffff:7f00:1]/cb',
    'http://0.0.0.0/cb',
    'http://[::]/cb',
    'http://localhost./cb',
    'http://app.localhost/cb',
    'https://app.localhost/cb',
  ])('refuses the other loopback spelling %j', (uri) => {
    expect(refusedWith(validateRedirectUri(uri, native('development')))).toBe(
      ValidationCode.NonstandardLoopback,
    );
  });
});

describe('rule 5: private-use schemes for native clients, reverse-DNS only; browser schemes never', () => {
  // RFC 8252 §7.1: "apps MUST use a URI scheme based on a domain name under their control,
  // expressed in reverse order".
  it.each([
    'com.example.app:/oauth2redirect',
    'com.example.app://callback',
    'io.github.user.tool:/cb?x=1',
  ])('accepts %j for a native client in every environment', (uri) => {
    for (const environment of ENVIRONMENTS) {
      expect(validateRedirectUri(uri, native(environment))).toEqual({
        ok: true,
        kind: 'private-use-scheme',
      });
    }
  });
  it('refuses a private-use scheme for a web client', () => {
    expect(refusedWith(validateRedirectUri('com.example.app:/cb', web('development')))).toBe(
      ValidationCode.PrivateUseSchemeForWebClient,
    );
  });
  it.each(['myapp:/cb', 'myapp://cb', 'cursor://callback'])(
    'refuses the non-reverse-DNS scheme in %j',
    (uri) => {
      expect(refusedWith(validateRedirectUri(uri, native('development')))).toBe(
        ValidationCode.PrivateUseSchemeNotReverseDns,
      );
    },
  );
  it.each([
    'javascript:alert(1)',
    'JAVASCRIPT:alert(1)',
    'JavaScript://%0aalert(1)',
    ' javascript:alert(1)',
    '\u0001javascript:alert(1)',
    'java\tscript:alert(1)',
    'java\nscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'DATA:text/html;base64,PHNjcmlwdD4=',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    'FILE://localhost/etc/passwd',
    'blob:https://app.example.com/1d5c',
    'about:blank',
    'view-source:https://app.example.com/',
    'filesystem:https://app.example.com/temporary/x',
  ])('refuses the browser-special scheme in %j for every client', (uri) => {
    for (const context of EVERY_CONTEXT) {
      expect(refusedWith(validateRedirectUri(uri, context))).toBe(ValidationCode.ForbiddenScheme);
    }
  });
});

describe('rule 6: one wildcard, as the whole leftmost label of an https host', () => {
  const pattern = 'https://*.preview.example.com/callback';
  it.each(
    EVERY_CONTEXT.filter((c) => c.environment === 'development' || c.environment === 'staging'),
  )('accepts a narrow wildcard in %o', (context) => {
    expect(validateRedirectUri(pattern, context)).toEqual({ ok: true, kind: 'wildcard' });
  });
  it.each(
    EVERY_CONTEXT.filter((c) => c.environment !== 'development' && c.environment !== 'staging'),
  )('refuses any wildcard in %o', (context) => {
    expect(refusedWith(validateRedirectUri(pattern, context))).toBe(
      ValidationCode.WildcardInProduction,
    );
  });
  it.each([
    'https://pr-*.example.com/cb',
    'https://*pr.example.com/cb',
    'https://app.*.example.com/cb',
    'https://*.*.example.com/cb',
    'https://*/cb',
    'https://app.example.com/*/cb',
    'https://app.example.com/cb?next=*',
    'https://*.preview.example.com/cb*',
    'http://*.preview.example.com/cb',
    'http://127.0.0.1/*',
  ])('refuses the misplaced wildcard in %j', (uri) => {
    expect(refusedWith(validateRedirectUri(uri, web('development')))).toBe(
      ValidationCode.WildcardPosition,
    );
  });
  it.each(['https://*.preview.example.com:*/cb', 'com.example.*:/cb'])(
    'refuses the unparseable wildcard %j',
    (uri) => {
      expect(validateRedirectUri(uri, native('development')).ok).toBe(false);
    },
  );
  // Public Suffix List, ICANN and private sections: a wildcard there covers other people's hosts.
  it.each([
    'https://*.com/cb',
    'https://*.co.uk/cb',
    'https://*.vercel.app/cb',
    'https://*.github.io/cb',
    'https://*.ngrok-free.app/cb',
    'https://*.herokuapp.com/cb',
    'https://*.localhost/cb',
    'https://*.invalid/cb',
  ])('refuses the public-suffix wildcard %j', (uri) => {
    expect(refusedWith(validateRedirectUri(uri, web('staging')))).toBe(
      ValidationCode.WildcardPublicSuffix,
    );
  });
  it.each([
    'https://*.example.com/cb',
    'https://*.my-app.vercel.app/cb',
    'https://*.pr.app.example.co.uk/cb',
  ])('accepts the wildcard below a registrable domain %j', (uri) => {
    expect(validateRedirectUri(uri, web('staging'))).toEqual({ ok: true, kind: 'wildcard' });
  });
});

describe('library misuse', () => {
  it.each([undefined, null, 42, {}, ['https://a.example/']])(
    'throws a TypeError for the uri %j',
    (uri) => {
      expect(() => validateRedirectUri(uri as string, web())).toThrow(TypeError);
    },
  );
  it.each([
    undefined,
    {},
    { environment: 'production' },
    { environment: 'production', clientType: 'browser' },
    { environment: '', clientType: 'web' },
    { environment: 3, clientType: 'web' },
  ])('throws a TypeError for the context %j', (context) => {
    expect(() =>
      validateRedirectUri('https://app.example.com/cb', context as unknown as PolicyContext),
    ).toThrow(TypeError);
  });
});

describe('messages', () => {
  it('names the canonical form to register instead', () => {
    const result = validateRedirectUri('HTTPS://App.Example.com:443/cb', web());
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain('register https://app.example.com/cb instead');
  });
  it.each([
    [
      'HTTPS://App.example.com:443/cb',
      'the scheme or host has upper-case letters, and it names the default port',
    ],
    ['https://exämple.com/cb', 'the host has non-ASCII characters'],
    ['http://0x7f.1/cb', 'the IP address is not written in its standard form'],
    ['https://app.example.com/a/../cb', 'the path has dot segments'],
    ['https://app.example.com', 'an origin needs a trailing /'],
    [' https://app.example.com/', 'it contains whitespace or control characters'],
    ['https://app.example.com/a b', 'it contains characters that must be percent-encoded'],
    ['https:\\\\app.example.com\\cb', 'it contains backslashes'],
  ])('says why %j is not canonical', (uri, reason) => {
    const result = validateRedirectUri(uri, native('development'));
    expect(result).toMatchObject({ ok: false, code: ValidationCode.NotCanonical });
    expect(result.ok || result.message).toContain(`(${reason})`);
  });
  it('never suggests a fix that would itself be refused', () => {
    // The canonical form of this host is an IPv4-mapped loopback address, refused on its own.
    const result = validateRedirectUri('http://[::ffff:127.0.0.1]/cb', native());
    expect(result).toMatchObject({ ok: false, code: ValidationCode.NonstandardLoopback });
    expect(result.ok || result.suggestion === undefined).toBe(true);
  });
});

// Issue #13 item 7: paths that a second decoding turns into separators or dots, and queries that
// hide a parameter from the parser that checked them.
describe('double encoding and parameter smuggling', () => {
  it.each([
    'https://app.example.com/cb%252f..%252fevil',
    'https://app.example.com/cb%252F..%252Fevil',
    'https://app.example.com/cb%255cadmin',
    'https://app.example.com/cb/%252e%252e/admin',
    'https://app.example.com/cb%2500.html',
    'https://app.example.com/cb%25%32%66..%25%32%66evil',
    'http://127.0.0.1/cb%252f..%252fevil',
    'com.example.app:/cb%252f..%252fevil',
    // Review of issue #13: a server that decodes three times, and a stage hidden behind another.
    'https://app.example.com/cb%25252f..%25252fevil',
    'https://app.example.com/cb%2525252e%2525252e/admin',
    'https://app.example.com/cb%252f%2525',
  ])('refuses the double-encoded path in %j', (uri) => {
    const result = validateRedirectUri(uri, native('development'));
    expect(result).toMatchObject({ ok: false, code: ValidationCode.DoubleEncodedPath });
    if (!result.ok) expect(result.message).toMatch(/decod/);
  });
  it.each([
    'https://app.example.com/cb%2541',
    'https://app.example.com/100%25',
    'https://app.example.com/a%2520b',
  ])('accepts the harmless encoded percent in %j', (uri) => {
    expect(validateRedirectUri(uri, web())).toEqual({ ok: true, kind: 'https' });
  });

  it.each([
    ['https://app.example.com/cb?a=1;code=2', 'code'],
    ['https://app.example.com/cb?a=1&amp;code=2', 'code'],
    ['https://app.example.com/cb?a=1&AMP;state=2', 'state'],
    ['https://app.example.com/cb?a=1;iss=https://evil.example', 'iss'],
    ['https://app.example.com/cb?%2563ode=2', 'code'],
    ['https://app.example.com/cb?%252563ode=2', 'code'],
    ['https://app.example.com/cb?x=1&%25252573tate=2', 'state'],
  ])('refuses the smuggled response parameter in %j', (uri, name) => {
    const result = validateRedirectUri(uri, web());
    expect(result).toMatchObject({ ok: false, code: ValidationCode.ResponseParameterInQuery });
    if (!result.ok) expect(result.message).toContain(`"${name}"`);
  });
  it.each([
    'https://app.example.com/cb?a=1;b=2',
    'https://app.example.com/cb?a=1&amp;b=2',
    'https://app.example.com/cb?a=x;y',
    'http://127.0.0.1/cb?;',
  ])('refuses the ambiguous query separator in %j', (uri) => {
    const result = validateRedirectUri(uri, native('development'));
    expect(result).toMatchObject({ ok: false, code: ValidationCode.AmbiguousQuery });
    if (!result.ok) expect(result.message).toMatch(/separat/);
  });
  it.each([
    'https://app.example.com/cb?a=1&b=2',
    'https://app.example.com/cb?a=%3B',
    'https://app.example.com/cb?ampere=1&b=2',
  ])('accepts the plain query in %j', (uri) => {
    expect(validateRedirectUri(uri, web())).toEqual({ ok: true, kind: 'https' });
  });
});
