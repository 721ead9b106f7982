/**
 * RFC 9728 §3.1: "the well-known URI string ... inserted into the protected resource's resource
 * identifier between the host component and the path and/or query components". And the
 * document of §2 with what this library publishes.
 */
import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createResourceServer,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
} from '../src/index.js';

describe('protectedResourceMetadataUrl', () => {
  it.each([
    [
      'https://api.example.com/mcp',
      'https://api.example.com/.well-known/oauth-protected-resource/mcp',
    ],
    ['https://api.example.com', 'https://api.example.com/.well-known/oauth-protected-resource'],
    ['https://api.example.com/', 'https://api.example.com/.well-known/oauth-protected-resource'],
    [
      'https://api.example.com/a/b/',
      'https://api.example.com/.well-known/oauth-protected-resource/a/b/',
    ],
    [
      'https://api.example.com:8443/mcp',
      'https://api.example.com:8443/.well-known/oauth-protected-resource/mcp',
    ],
    ['http://127.0.0.1:3000/mcp', 'http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp'],
    ['http://localhost/mcp', 'http://localhost/.well-known/oauth-protected-resource/mcp'],
    ['http://[::1]:9/mcp', 'http://[::1]:9/.well-known/oauth-protected-resource/mcp'],
    [
      'https://api.example.com/mcp?tenant=acme',
      'https://api.example.com/.well-known/oauth-protected-resource/mcp?tenant=acme',
    ],
  ])('%s → %s', (resource, expected) => {
    expect(protectedResourceMetadataUrl(resource)).toBe(expected);
  });

  it('agrees with the MCP SDK for resources without a query', () => {
    fc.assert(
      fc.property(
        fc.webUrl({ validSchemes: ['https'], withQueryParameters: false, withFragments: false }),
        (resource) => {
          expect(protectedResourceMetadataUrl(resource)).toBe(
            getOAuthProtectedResourceMetadataUrl(new URL(resource)),
          );
        },
      ),
    );
  });

  it.each([
    ['not a url', /absolute URL/],
    ['/mcp', /absolute URL/],
    ['http://api.example.com/mcp', /https/],
    ['ftp://api.example.com/mcp', /https/],
    ['https://api.example.com/mcp#top', /fragment/],
    ['https://user:pw@api.example.com/mcp', /user information/],
  ])('refuses %s as a resource identifier (a TypeError)', (resource, message) => {
    expect(() => protectedResourceMetadataUrl(resource)).toThrow(TypeError);
    expect(() => protectedResourceMetadataUrl(resource)).toThrow(message);
  });
});

describe('protectedResourceMetadata', () => {
  it('is the RFC 9728 §2 document, with the resource exactly as configured', () => {
    expect(
      protectedResourceMetadata({
        resource: 'https://api.example.com',
        issuer: 'https://auth.example.com/e/production',
      }),
    ).toStrictEqual({
      resource: 'https://api.example.com',
      authorization_servers: ['https://auth.example.com/e/production'],
      bearer_methods_supported: ['header'],
      // RFC 9728 §2: DPoP is always accepted for bound tokens; not required by default.
      dpop_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256'],
      dpop_bound_access_tokens_required: false,
    });
    expect(
      protectedResourceMetadata({
        resource: 'https://api.example.com/mcp',
        issuer: 'https://auth.example.com/e/production',
        scopesSupported: ['mcp:tools', 'mcp:admin', 'mcp:tools'],
        resourceName: 'Example MCP',
        dpop: { algorithms: ['ES256', 'EdDSA'], required: true },
      }),
    ).toStrictEqual({
      resource: 'https://api.example.com/mcp',
      authorization_servers: ['https://auth.example.com/e/production'],
      scopes_supported: ['mcp:tools', 'mcp:admin'],
      bearer_methods_supported: ['header'],
      resource_name: 'Example MCP',
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: true,
    });
  });

  it('refuses scopes that are not scope tokens and issuers with a query', () => {
    const base = { resource: 'https://api.example.com/mcp', issuer: 'https://auth.example.com' };
    expect(() => protectedResourceMetadata({ ...base, scopesSupported: ['a b'] })).toThrow(
      TypeError,
    );
    expect(() => protectedResourceMetadata({ ...base, scopesSupported: ['"x"'] })).toThrow(
      TypeError,
    );
    expect(() =>
      protectedResourceMetadata({ ...base, issuer: 'https://auth.example.com/?x=1' }),
    ).toThrow(TypeError);
    expect(() => protectedResourceMetadata({ ...base, issuer: 'http://auth.example.com' })).toThrow(
      TypeError,
    );
  });
});

describe('createResourceServer options', () => {
  const base = {
    resource: 'https://api.example.com/mcp',
    issuer: 'https://auth.example.com/e/production',
  };

  it('exposes the document, its URL and its path', () => {
    const rs = createResourceServer(base);
    expect(rs.metadataUrl).toBe('https://api.example.com/.well-known/oauth-protected-resource/mcp');
    expect(rs.metadataPath).toBe('/.well-known/oauth-protected-resource/mcp');
    expect(rs.metadata.authorization_servers).toStrictEqual([base.issuer]);
    expect(Object.isFrozen(rs.metadata)).toBe(true);
  });

  it.each([
    [{ algorithms: [] }, /empty/],
    [{ algorithms: ['none'] }, /asymmetric/],
    [{ algorithms: ['ES256', 'HS256'] }, /asymmetric/],
    [{ clockToleranceSeconds: -1 }, /non-negative/],
    [{ jwksCooldownMs: Number.NaN }, /non-negative/],
    [{ jwksUri: 'http://keys.example.com/jwks' }, /https/],
    [{ issuer: 'https://auth.example.com/#x' }, /query or fragment/],
  ])('throws a TypeError for %j', (extra, message) => {
    expect(() => createResourceServer({ ...base, ...extra })).toThrow(TypeError);
    expect(() => createResourceServer({ ...base, ...extra })).toThrow(message);
  });
});
