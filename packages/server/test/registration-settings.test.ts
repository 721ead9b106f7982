/**
 * The issue #16 settings in dynamic registration (RFC 7591 names) and in Client ID Metadata
 * Documents: private_key_jwt with jwks or jwks_uri (no secret), post-logout and back-channel
 * logout URIs, the ID token algorithm, PAR; and what such clients may never set.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentFetcher } from '../src/net/document-fetcher.js';
import { updateEnvironmentSettings } from '../src/services/environments.js';
import {
  MetadataDocumentClients,
  MetadataDocumentError,
} from '../src/services/metadata-documents.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const publicJwk = () => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid: 'k1',
  use: 'sig',
});
const privateJwk = () => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid: 'k1',
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe.each(DATABASES)('registration settings on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let docs: Server;
  let docsBase = '';
  const documents = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    // The logout receiver below is on this machine: an anonymous registrant may name one only
    // where the environment allows loopback documents (client-settings-attacks.test.ts).
    await updateEnvironmentSettings(t.ctx, 'development', { allowLoopbackDocuments: true });
    docs = createServer((request, response) => {
      const body = documents.get(request.url ?? '');
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
    docsBase = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) =>
      docs.close(() => {
        resolve();
      }),
    );
    await t.close();
    await db.drop();
  });

  const call = async (
    method: string,
    url: string,
    body?: unknown,
    token?: string,
  ): Promise<Answer> => {
    const response = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
    };
  };
  const register = (body: unknown) => call('POST', `${t.issuer('development')}/register`, body);
  const keyApp = (extra: Record<string, unknown> = {}) => ({
    client_name: 'Key app',
    redirect_uris: ['http://localhost:3000/callback'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [publicJwk()] },
    application_type: 'web',
    ...extra,
  });

  it('registers a private_key_jwt client with its keys and logout settings, without a secret', async () => {
    const answer = await register(
      keyApp({
        post_logout_redirect_uris: ['http://localhost:3000/signed-out'],
        backchannel_logout_uri: 'http://localhost:3000/backchannel',
        id_token_signed_response_alg: 'ES256',
        // Not a registration parameter: a client anyone may register cannot drop PKCE.
        pkce_exempt_with_nonce: true,
      }),
    );
    expect(answer.status).toBe(201);
    expect(answer.body.client_secret).toBeUndefined();
    expect(answer.body).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ kid: 'k1' }] },
      post_logout_redirect_uris: ['http://localhost:3000/signed-out'],
      backchannel_logout_uri: 'http://localhost:3000/backchannel',
      id_token_signed_response_alg: 'ES256',
    });
    const stored = await t.ctx.stores.clients.get('development', answer.body.client_id as string);
    expect(stored).toMatchObject({
      kind: 'dynamic',
      type: 'web',
      secretHash: null,
      tokenEndpointAuthMethod: 'private_key_jwt',
      pkceExemptWithNonce: false,
      postLogoutRedirectUris: ['http://localhost:3000/signed-out'],
    });

    // RFC 7592: reading answers the same settings; leaving private_key_jwt issues a secret once.
    const uri = answer.body.registration_client_uri as string;
    const token = answer.body.registration_access_token as string;
    expect((await call('GET', uri, undefined, token)).body).toMatchObject({
      jwks: { keys: [{ kid: 'k1' }] },
    });
    const updated = await call(
      'PUT',
      uri,
      {
        client_id: answer.body.client_id,
        application_type: 'web',
        client_name: 'Key app',
        redirect_uris: ['http://localhost:3000/callback'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      token,
    );
    expect(updated.status).toBe(200);
    expect(updated.body.client_secret).toMatch(/^ghs_/);
    expect(updated.body.jwks).toBeUndefined();
    expect(updated.body.post_logout_redirect_uris).toBeUndefined();
  });

  it('registers a private_key_jwt client by jwks_uri', async () => {
    const answer = await register(
      keyApp({ jwks: undefined, jwks_uri: 'https://keys.example.com/jwks.json' }),
    );
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ jwks_uri: 'https://keys.example.com/jwks.json' });
  });

  it.each([
    ['no keys', keyApp({ jwks: undefined }), /jwks or jwks_uri/],
    ['a private key', keyApp({ jwks: { keys: [privateJwk()] } }), /private member "d"/],
    [
      'both jwks and jwks_uri',
      keyApp({ jwks_uri: 'https://keys.example.com/jwks.json' }),
      /not both/,
    ],
    [
      'an http jwks_uri',
      keyApp({ jwks: undefined, jwks_uri: 'http://keys.example.com/j' }),
      /https/,
    ],
    [
      'a post-logout URI the policy refuses',
      keyApp({ post_logout_redirect_uris: ['http://evil.example.com/bye'] }),
      /post-logout redirect URI http:\/\/evil\.example\.com\/bye refused/,
    ],
    [
      'a back-channel URI with a fragment',
      keyApp({ backchannel_logout_uri: 'https://app.example.com/bc#x' }),
      /fragment/,
    ],
    ['an unknown ID token algorithm', keyApp({ id_token_signed_response_alg: 'none' }), /RS256/],
    ['a JWK Set that is not an object', keyApp({ jwks: 'keys' }), /JWK Set/],
  ])('refuses %s with invalid_client_metadata, registering nothing', async (_, body, message) => {
    const before = (await t.ctx.stores.clients.list('development')).length;
    const answer = await register(body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_client_metadata');
    expect(answer.body.error_description).toMatch(message);
    expect((await t.ctx.stores.clients.list('development')).length).toBe(before);
  });

  it('requires PAR of a registered client where the environment requires it', async () => {
    await updateEnvironmentSettings(t.ctx, 'development', { requirePar: true });
    try {
      const answer = await register(keyApp({ require_pushed_authorization_requests: false }));
      expect(answer.status).toBe(201);
      expect(answer.body.require_pushed_authorization_requests).toBe(true);
      expect(
        (await t.ctx.stores.clients.get('development', answer.body.client_id as string))
          ?.requirePar,
      ).toBe(true);
    } finally {
      await updateEnvironmentSettings(t.ctx, 'development', { requirePar: false });
    }
    const chosen = await register(keyApp({ require_pushed_authorization_requests: true }));
    expect(chosen.body.require_pushed_authorization_requests).toBe(true);
  });

  describe('metadata documents', () => {
    let resolver: MetadataDocumentClients;
    const env = async () => {
      const e = await t.ctx.stores.environments.get('development');
      if (e === undefined) throw new Error('no development environment');
      return { ...e, allowLoopbackDocuments: true, metadataDocuments: true };
    };
    const publish = (path: string, extra: Record<string, unknown>) => {
      const clientId = `${docsBase}${path}`;
      documents.set(path, {
        client_id: clientId,
        client_name: 'Agent',
        redirect_uris: ['http://127.0.0.1/callback'],
        ...extra,
      });
      return clientId;
    };
    beforeAll(() => {
      resolver = new MetadataDocumentClients(new DocumentFetcher(), t.ctx.stores, Date.now);
    });

    it('accepts a document with private_key_jwt and its keys (jwks or jwks_uri) and post-logout URIs', async () => {
      const withKeys = publish('/keys.json', {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk()] },
        post_logout_redirect_uris: ['http://127.0.0.1/signed-out'],
        // Whoever publishes a document cannot drop PKCE for it.
        pkce_exempt_with_nonce: true,
      });
      const client = await resolver.resolve(await env(), withKeys);
      expect(client).toMatchObject({
        kind: 'metadata_document',
        type: 'web',
        secretHash: null,
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [{ kid: 'k1' }] },
        postLogoutRedirectUris: ['http://127.0.0.1/signed-out'],
        pkceExemptWithNonce: false,
      });
      const byUri = publish('/keys-uri.json', {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'https://agent.example.com/jwks.json',
      });
      expect(await resolver.resolve(await env(), byUri)).toMatchObject({
        jwksUri: 'https://agent.example.com/jwks.json',
        pkceExemptWithNonce: false,
      });
      // A public document stays public, as before.
      const open = publish('/public.json', { token_endpoint_auth_method: 'none' });
      expect(await resolver.resolve(await env(), open)).toMatchObject({
        type: 'native',
        tokenEndpointAuthMethod: null,
      });
    });

    it.each([
      ['/secret-method.json', { token_endpoint_auth_method: 'client_secret_basic' }, /no secret/],
      ['/no-keys.json', { token_endpoint_auth_method: 'private_key_jwt' }, /jwks or jwks_uri/],
      [
        '/private.json',
        { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [privateJwk()] } },
        /private member/,
      ],
      [
        '/bad-logout.json',
        { post_logout_redirect_uris: ['http://evil.example.com/bye'] },
        /post-logout redirect URI http:\/\/evil\.example\.com\/bye is refused/,
      ],
    ])('refuses %s', async (path, extra, message) => {
      const clientId = publish(path, extra);
      await expect(resolver.resolve(await env(), clientId)).rejects.toThrow(MetadataDocumentError);
      await expect(resolver.resolve(await env(), clientId)).rejects.toThrow(message);
      expect(await t.ctx.stores.clients.get('development', clientId)).toBeUndefined();
    });
  });
});
