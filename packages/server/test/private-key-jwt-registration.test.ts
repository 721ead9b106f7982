/**
 * Clients that bring their own keys without an operator: one registered dynamically (RFC 7591
 * §2: `token_endpoint_auth_method` `private_key_jwt` with `jwks` or `jwks_uri`), and one described
 * by a Client ID Metadata Document with a `jwks_uri` (where MCP clients put their keys). Each
 * gets no secret and then proves itself with an assertion at the token, revocation or
 * introspection endpoint; an assertion signed by any other key is refused.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const ENV = 'development';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const PASSWORD = 'registration password 1';
const CALLBACK = 'https://app.example.com/keyed/callback';

interface Key {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function newKey(kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

async function assertion(key: Key, clientId: string, aud: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: clientId, sub: clientId, aud, jti: randomUUID(), exp: now + 60 })
    .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid ?? '' })
    .sign(key.privateKey);
}

async function post(
  url: string,
  body: unknown,
  json = false,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
    body: json ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

describe('private_key_jwt clients that register themselves', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let issuer: string;
  let docs: Server;
  let docsBase: string;
  const documents = new Map<string, unknown>();

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    issuer = t.issuer(ENV);
    await t.user('kay@example.com', PASSWORD);
    // Documents and key sets on this machine: development, with loopback documents allowed.
    await t.server.stores.environments.update(ENV, {
      allowLoopbackDocuments: true,
      metadataDocuments: true,
    });
    docs = createServer((request, response) => {
      const document = documents.get(request.url ?? '');
      if (document === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    });
    await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
    docsBase = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      docs.close(() => {
        resolve();
      });
    });
    await t.close();
    await db.drop();
  });

  /** Revocation of a token nobody has: 200 when the client authenticated, else 401. */
  const authenticates = async (key: Key, clientId: string) =>
    (
      await post(`${issuer}/revoke`, {
        token: 'not-a-token',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await assertion(key, clientId, issuer),
      })
    ).status;

  it('dynamic registration with jwks: no secret, and assertions signed by its key only', async () => {
    const key = await newKey('dcr-jwks');
    const registered = await post(
      `${issuer}/register`,
      {
        client_name: 'Keyed by registration',
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'private_key_jwt',
        application_type: 'web',
        jwks: { keys: [key.jwk] },
      },
      true,
    );
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body.token_endpoint_auth_method).toBe('private_key_jwt');
    expect(registered.body.client_secret).toBeUndefined();
    const clientId = String(registered.body.client_id);
    expect(await authenticates(key, clientId)).toBe(200);
    expect(await authenticates(await newKey('dcr-jwks'), clientId)).toBe(401);
  });

  it('dynamic registration with a jwks_uri', async () => {
    const key = await newKey('dcr-uri');
    documents.set('/dcr/jwks.json', { keys: [key.jwk] });
    const registered = await post(
      `${issuer}/register`,
      {
        client_name: 'Keyed by URI',
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'private_key_jwt',
        application_type: 'web',
        jwks_uri: `${docsBase}/dcr/jwks.json`,
      },
      true,
    );
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body.client_secret).toBeUndefined();
    const clientId = String(registered.body.client_id);
    expect(await authenticates(key, clientId)).toBe(200);
    expect(await authenticates(await newKey('dcr-uri'), clientId)).toBe(401);
  });

  it('a metadata-document client with a jwks_uri signs in a user and redeems its code with an assertion', async () => {
    const key = await newKey('doc-key');
    const clientId = `${docsBase}/mcp/client.json`;
    documents.set('/mcp/jwks.json', { keys: [key.jwk] });
    documents.set('/mcp/client.json', {
      client_id: clientId,
      client_name: 'Keyed MCP client',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: `${docsBase}/mcp/jwks.json`,
    });
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: CALLBACK,
        scope: 'openid email',
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'kay@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    expect(code).not.toBe('');
    const redeem = (signing: Key) => async () =>
      post(`${issuer}/token`, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifier,
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await assertion(signing, clientId, issuer),
      });
    // Someone else's key is refused before the code is looked at; then the client's own works.
    expect((await redeem(await newKey('doc-key'))()).status).toBe(401);
    const tokens = await redeem(key)();
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(tokens.body.id_token).toEqual(expect.any(String));
    // Without an assertion the client is not public: nothing is issued to its client_id alone.
    expect(
      (
        await post(`${issuer}/token`, {
          grant_type: 'refresh_token',
          refresh_token:
            typeof tokens.body.refresh_token === 'string' ? tokens.body.refresh_token : 'none',
          client_id: clientId,
        })
      ).status,
    ).toBe(401);
  });
});
