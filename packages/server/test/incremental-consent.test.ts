/**
 * Incremental authorization (authorization/incremental-consent.ts): the consent page asks only for
 * what a request adds to what the user allowed the client before, at the same resource. The
 * page itself is exercised in Chromium by packages/resource/test/mcp-conformance.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { splitByConsent } from '../src/authorization/incremental-consent.js';
import { consentItems } from '../src/services/resources.js';

const NOTES = 'https://notes.example.com/mcp';
const BILLING = 'https://billing.example.com/mcp';

describe('splitByConsent', () => {
  it('asks only for the new scopes, and names the ones already allowed', () => {
    const consented = consentItems(['openid', 'mcp:tools'], NOTES);
    expect(splitByConsent(['openid', 'mcp:tools', 'notes:write'], NOTES, consented)).toEqual({
      asked: ['notes:write'],
      granted: ['openid', 'mcp:tools'],
    });
  });

  it('attack: a scope allowed at one resource is not taken as allowed at another', () => {
    const consented = consentItems(['mcp:tools'], NOTES);
    expect(splitByConsent(['mcp:tools'], BILLING, consented)).toEqual({
      asked: ['mcp:tools'],
      granted: [],
    });
    // Nor a resource scope as allowed without a resource.
    expect(splitByConsent(['mcp:tools'], null, consented)).toEqual({
      asked: ['mcp:tools'],
      granted: [],
    });
  });

  it('asks for everything when nothing is recorded, or when nothing is new (prompt=consent)', () => {
    expect(splitByConsent(['openid', 'email'], null, undefined)).toEqual({
      asked: ['openid', 'email'],
      granted: [],
    });
    expect(splitByConsent(['openid'], null, ['openid', 'email'])).toEqual({
      asked: ['openid'],
      granted: [],
    });
  });
});
