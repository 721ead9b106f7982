/**
 * RFC 6750 §3: the WWW-Authenticate challenge. Properties: whatever the description and scopes,
 * the header is one well-formed challenge whose parameters read back as written (the description
 * limited to RFC 6750's characters), so nothing can break out of a quoted value.
 */
import { validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authChallenge,
  bearerChallenge,
  quotedString,
  sanitizeErrorDescription,
  type BearerErrorCode,
} from '../src/index.js';
import { parseChallenge } from './support/challenge-parser.js';

const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource/mcp';
/** RFC 6750 §3: error_description and error characters. */
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
const scopeToken = fc.stringMatching(/^[\x21\x23-\x5B\x5D-\x7E]{1,12}$/);
const errorCode = fc.constantFrom<BearerErrorCode>(
  'invalid_request',
  'invalid_token',
  'insufficient_scope',
);
/** Strings of any characters, control characters, quotes, backslashes and emoji included. */
const anyText = fc.string({ unit: 'binary', maxLength: 60 });

describe('bearerChallenge', () => {
  it('without a token: only resource_metadata, and the scopes when some are required', () => {
    expect(bearerChallenge({ resourceMetadata: METADATA })).toBe(
      `Bearer resource_metadata="${METADATA}"`,
    );
    expect(bearerChallenge({ resourceMetadata: METADATA, scope: ['a', 'b:c'] })).toBe(
      `Bearer scope="a b:c", resource_metadata="${METADATA}"`,
    );
  });

  it('with an error: error, error_description, scope, resource_metadata', () => {
    expect(
      bearerChallenge({
        resourceMetadata: METADATA,
        error: 'insufficient_scope',
        errorDescription: 'needs "admin" \\ more',
        scope: ['mcp:admin'],
      }),
    ).toBe(
      `Bearer error="insufficient_scope", error_description="needs 'admin' / more", scope="mcp:admin", resource_metadata="${METADATA}"`,
    );
  });

  it('any description and scopes give one parseable challenge that reads back', () => {
    fc.assert(
      fc.property(
        errorCode,
        anyText,
        fc.array(scopeToken, { maxLength: 5 }),
        fc.webUrl({ withQueryParameters: true, withFragments: false }),
        (error, description, scope, resourceMetadata) => {
          const header = bearerChallenge({
            resourceMetadata,
            error,
            errorDescription: description,
            scope,
          });
          expect(() => {
            validateHeaderValue('www-authenticate', header);
          }).not.toThrow();
          const { scheme, params } = parseChallenge(header);
          expect(scheme).toBe('Bearer');
          expect(params.get('error')).toBe(error);
          expect(params.get('error_description')).toBe(sanitizeErrorDescription(description));
          expect(params.get('error_description')).toMatch(DESCRIPTION_CHARS);
          expect(params.get('scope')).toBe(scope.length === 0 ? undefined : scope.join(' '));
          expect(params.get('resource_metadata')).toBe(resourceMetadata);
          expect([...params.keys()].sort()).toStrictEqual(
            [
              'error',
              'error_description',
              'resource_metadata',
              ...(scope.length ? ['scope'] : []),
            ].sort(),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a description already within RFC 6750 characters reads back unchanged', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20\x21\x23-\x5B\x5D-\x7E]{0,80}$/), (description) => {
        const header = bearerChallenge({
          resourceMetadata: METADATA,
          error: 'invalid_token',
          errorDescription: description,
        });
        expect(parseChallenge(header).params.get('error_description')).toBe(description);
      }),
    );
  });

  it('a scope that is not a scope token is a TypeError, never an injected parameter', () => {
    fc.assert(
      fc.property(
        anyText.filter((s) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s)),
        (bad) => {
          expect(() => bearerChallenge({ resourceMetadata: METADATA, scope: ['ok', bad] })).toThrow(
            TypeError,
          );
        },
      ),
    );
  });
});

describe('quotedString', () => {
  it('round-trips any printable ASCII and is a valid header value for any input', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const quoted = quotedString(text);
        expect(() => {
          validateHeaderValue('x-test', quoted);
        }).not.toThrow();
        const read = parseChallenge(`X a=${quoted}`).params.get('a');
        if (/^[\x20-\x7E\t]*$/.test(text)) expect(read).toBe(text);
        else expect(read).toHaveLength(Array.from(text).length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('authChallenge', () => {
  it('the scheme alone, or its parameters in order with undefined ones left out', () => {
    expect(authChallenge('Bearer')).toBe('Bearer');
    expect(authChallenge('Basic', { realm: 'gatehouse' })).toBe('Basic realm="gatehouse"');
    expect(authChallenge('Bearer', { realm: 'r', error: undefined, b: 'say "hi" \\ ok' })).toBe(
      'Bearer realm="r", b="say \\"hi\\" \\\\ ok"',
    );
  });

  it('any values give one parseable challenge whose values read back', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20-\x7E\t]{0,40}$/), anyText, (printable, any) => {
        const header = authChallenge('X', { a: printable, b: any });
        expect(() => {
          validateHeaderValue('www-authenticate', header);
        }).not.toThrow();
        const { params } = parseChallenge(header);
        expect(params.get('a')).toBe(printable);
        expect(params.get('b')).toHaveLength(Array.from(any).length);
      }),
      { numRuns: 1000 },
    );
  });

  it('a scheme or parameter name that is not a token is a TypeError', () => {
    expect(() => authChallenge('Bearer x')).toThrow(TypeError);
    expect(() => authChallenge('Bearer', { 'a=b': 'c' })).toThrow(TypeError);
  });
});
