import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchRedirectUri, validateRedirectUri, type PolicyContext } from '../src/index.js';

/**
 * An independent statement of what may match, written with regular expressions rather than the
 * library's character scanning: the registered string itself, a loopback port variant, or a
 * single-label wildcard substitution. Nothing else.
 */
function mayMatch(requested: string, registered: string): boolean {
  if (requested.includes('*')) return false;
  if (requested === registered) return true;
  const loopbackEntry = /^(http:\/\/(?:127\.0\.0\.1|\[::1\]|localhost))(?::\d+)?(\/[\s\S]*)$/.exec(
    registered,
  );
  if (loopbackEntry) {
    const request =
      /^(http:\/\/(?:127\.0\.0\.1|\[::1\]|localhost))(?::([1-9]\d{0,4}))?(\/[\s\S]*)$/.exec(
        requested,
      );
    if (
      request &&
      request[1] === loopbackEntry[1] &&
      request[3] === loopbackEntry[2] &&
      (request[2] === undefined || Number(request[2]) <= 65535)
    ) {
      return true;
    }
  }
  const wildcardEntry = /^https:\/\/\*(\.[^*]*)$/.exec(registered);
  if (wildcardEntry?.[1] !== undefined) {
    const rest = wildcardEntry[1];
    if (requested.startsWith('https://') && requested.endsWith(rest)) {
      const label = requested.slice('https://'.length, requested.length - rest.length);
      return label.length <= 63 && /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(label);
    }
  }
  return false;
}

const REGISTERED = [
  'https://app.example.com/callback',
  'https://app.example.com/cb?tenant=acme',
  'http://127.0.0.1/callback',
  'http://127.0.0.1:8080/cb',
  'http://[::1]/oauth',
  'http://localhost/callback',
  'https://*.preview.example.com/callback',
  'com.example.app:/oauth2redirect',
  'com.example.app://callback',
];

/** Characters that matter to URL parsers and to bypasses. */
const INTERESTING = [
  ...Array.from('/\\.:@?#%*-_ \t\n~;=&[]0123456789aAzZ'),
  '%2e',
  '%2f',
  '%2F',
  '..',
  '..;',
  ':80',
  ':443',
  ':0',
  'ı',
  'а',
];

type Mutation =
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number }
  | { op: 'replace'; at: number; text: string }
  | { op: 'toggle-case'; at: number }
  | { op: 'append'; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...INTERESTING), fc.string({ maxLength: 3 })),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('replace' as const),
    at: fc.nat(),
    text: fc.constantFrom(...INTERESTING),
  }),
  fc.record({ op: fc.constant('toggle-case' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('append' as const), text: fc.constantFrom(...INTERESTING) }),
);

function mutate(uri: string, m: Mutation): string {
  if (m.op === 'append') return uri + m.text;
  const at = m.at % (uri.length + 1);
  switch (m.op) {
    case 'insert':
      return uri.slice(0, at) + m.text + uri.slice(at);
    case 'delete':
      return uri.slice(0, at) + uri.slice(at + 1);
    case 'replace':
      return uri.slice(0, at) + m.text + uri.slice(at + 1);
    case 'toggle-case': {
      const c = uri.charAt(at);
      const toggled = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
      return uri.slice(0, at) + toggled + uri.slice(at + 1);
    }
  }
}

const registeredSets = fc.subarray(REGISTERED, { minLength: 1 });

describe('matchRedirectUri properties', () => {
  it('accepts exactly what the independent statement allows, for arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme' }),
          fc.webUrl(),
          fc.constantFrom(...REGISTERED),
        ),
        registeredSets,
        (requested, registered) => {
          const result = matchRedirectUri(requested, registered);
          expect(result.ok).toBe(registered.some((entry) => mayMatch(requested, entry)));
          if (result.ok) expect(registered).toContain(result.registered);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts a mutated registered URI only where the statement allows it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REGISTERED),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (entry, mutations) => {
          const requested = mutations.reduce(mutate, entry);
          const result = matchRedirectUri(requested, [entry]);
          expect(result.ok).toBe(mayMatch(requested, entry));
          // Exact entries tolerate no change at all.
          if (!entry.startsWith('http://') && !entry.includes('*') && requested !== entry)
            expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('accepts every valid port on a loopback registration and no invalid one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (port) => {
        expect(
          matchRedirectUri(`http://127.0.0.1:${port}/callback`, ['http://127.0.0.1/callback']).ok,
        ).toBe(true);
        expect(
          matchRedirectUri(`http://127.0.0.1:0${port}/callback`, ['http://127.0.0.1/callback']).ok,
        ).toBe(false);
        expect(
          matchRedirectUri(`http://127.0.0.1:${port + 65535}/callback`, [
            'http://127.0.0.1/callback',
          ]).ok,
        ).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly one lowercase LDH label in place of the wildcard', () => {
    const pattern = ['https://*.preview.example.com/callback'];
    const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, (l) => {
        expect(matchRedirectUri(`https://${l}.preview.example.com/callback`, pattern).ok).toBe(
          true,
        );
      }),
    );
    fc.assert(
      fc.property(label, label, (a, b) => {
        expect(matchRedirectUri(`https://${a}.${b}.preview.example.com/callback`, pattern).ok).toBe(
          false,
        );
      }),
    );
  });

  it('explains every failure with a registered entry and a true first difference', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 80 }), fc.webUrl()),
        registeredSets,
        (requested, registered) => {
          const result = matchRedirectUri(requested, registered);
          if (result.ok) return;
          expect(registered).toContain(result.closest);
          const diff = result.diff;
          expect(diff).toBeDefined();
          if (diff === undefined) return;
          expect(requested.slice(0, diff.index)).toBe(diff.expected.slice(0, diff.index));
          if (diff.kind !== 'wildcard-label' && diff.kind !== 'wildcard-disabled') {
            expect(
              requested.charAt(diff.index) !== diff.expected.charAt(diff.index) ||
                requested.length !== diff.expected.length,
            ).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('validateRedirectUri properties', () => {
  const contexts = fc.record({
    environment: fc.constantFrom('development', 'staging', 'production', 'other'),
    clientType: fc.constantFrom('web' as const, 'native' as const),
  }) as fc.Arbitrary<PolicyContext>;

  it('never throws, and accepts only canonical, fragment-free URIs', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme' }),
          fc.webUrl({ withFragments: true, withQueryParameters: true }),
        ),
        contexts,
        (uri, context) => {
          const result = validateRedirectUri(uri, context);
          if (!result.ok) {
            expect(result.message.length).toBeGreaterThan(0);
            return;
          }
          expect(new URL(uri).href).toBe(uri);
          expect(uri).not.toContain('#');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never suggests a fix that is itself refused', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.webUrl({ withQueryParameters: true }), fc.string()),
        contexts,
        (uri, context) => {
          const result = validateRedirectUri(uri, context);
          if (result.ok || result.suggestion === undefined || result.code !== 'not_canonical')
            return;
          expect(validateRedirectUri(result.suggestion, context).ok).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
