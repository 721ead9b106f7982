/* eslint-disable @typescript-eslint/no-deprecated -- the issuer under test is plain http on loopback: allowInsecureRequests is marked deprecated only to stand out */
/**
 * private_key_jwt as a library we did not write does it: openid-client's `PrivateKeyJwt` client
 * authentication (its assertions come from oauth4webapi: aud = the issuer, 60 s, a random jti)
 * for client_credentials, and for the code flow with a real Chromium signing in, then refresh,
 * introspection and revocation, every call authenticated by a fresh assertion. The client's keys
 * are registered once as `jwks`, once behind a `jwks_uri` this server fetches.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const ENV = 'development';
const PASSWORD = 'a long enough password';
const REDIRECT_URI = 'https://app.example.com/keyed/callback';

describe('openid-client with PrivateKeyJwt against Gatehouse', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let browser: Browser;
  let jwksServer: Server;
  let jwksUri: string;
  let servedKeys: JWK[] = [];

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await t.user('erin@example.com', PASSWORD);
    // The client's key set on this machine: development allows loopback documents when asked.
    await t.server.stores.environments.update(ENV, { allowLoopbackDocuments: true });
    jwksServer = createServer((_request, response) => {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: servedKeys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await new Promise<void>((resolve) => {
      jwksServer.close(() => {
        resolve();
      });
    });
    await t.close();
    await db.drop();
  });

  async function keyedClient(
    alg: string,
    where: 'jwks' | 'jwks_uri',
  ): Promise<{ clientId: string; key: { key: CryptoKey; kid: string } }> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `${alg}-${where}`;
    // An Ed25519 key registered without alg: openid-client signs with it as "Ed25519" (RFC 9864).
    const jwk = {
      ...(await exportJWK(publicKey)),
      kid,
      ...(alg === 'EdDSA' ? {} : { alg }),
      use: 'sig',
    };
    const created = await t.client({
      type: 'web',
      name: `Keyed ${alg}`,
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['reports:read'],
    });
    if (where === 'jwks_uri') servedKeys = [...servedKeys, jwk];
    await t.server.stores.clients.update(
      ENV,
      created.clientId,
      {
        tokenEndpointAuthMethod: 'private_key_jwt',
        secretHash: null,
        ...(where === 'jwks' ? { jwks: { keys: [jwk] } } : { jwksUri }),
      },
      Date.now(),
    );
    return { clientId: created.clientId, key: { key: privateKey, kid } };
  }

  const configure = (clientId: string, key: { key: CryptoKey; kid: string }) =>
    client.discovery(new URL(t.issuer(ENV)), clientId, undefined, client.PrivateKeyJwt(key), {
      execute: [client.allowInsecureRequests],
    });

  it('client_credentials, with keys registered as jwks and behind a jwks_uri', async () => {
    for (const [alg, where] of [
      ['ES256', 'jwks'],
      ['RS256', 'jwks_uri'],
      ['PS256', 'jwks'],
      ['EdDSA', 'jwks_uri'],
    ] as const) {
      const { clientId, key } = await keyedClient(alg, where);
      const config = await configure(clientId, key);
      expect(config.serverMetadata().token_endpoint_auth_signing_alg_values_supported).toContain(
        alg,
      );
      const tokens = await client.clientCredentialsGrant(config, { scope: 'reports:read' });
      expect(tokens.scope, `${alg} ${where}`).toBe('reports:read');
      // The next call makes a new assertion (a new jti): it is not a replay.
      const again = await client.clientCredentialsGrant(config, { scope: 'reports:read' });
      expect(again.access_token).not.toBe(tokens.access_token);
    }
  });

  /** Signs erin in and consents in Chromium; the URL the browser was sent back to. */
  async function signIn(authorizationUrl: string): Promise<URL> {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The callback goes to a host nobody serves: catch the navigation instead.
    const callbackRequest = page.waitForRequest((request) =>
      request.url().startsWith(REDIRECT_URI),
    );
    await page.goto(authorizationUrl);
    await page.getByLabel('Email').fill('erin@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent$/);
    await page.getByRole('button', { name: 'Allow' }).click();
    const callback = new URL((await callbackRequest).url());
    await context.close();
    return callback;
  }

  it('a pushed authorization request (RFC 9126) authenticated by an assertion, in Chromium', async () => {
    const { clientId, key } = await keyedClient('RS256', 'jwks');
    const config = await configure(clientId, key);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const callback = await signIn(url.href);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()?.email).toBe('erin@example.com');
  });

  it('the code flow in Chromium, then refresh, introspection and revocation', async () => {
    const { clientId, key } = await keyedClient('ES256', 'jwks_uri');
    const config = await configure(clientId, key);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const callback = await signIn(url.href);

    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.email).toBe('erin@example.com');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(await client.tokenIntrospection(config, refreshed.access_token)).toMatchObject({
      active: true,
      client_id: clientId,
    });
    await client.tokenRevocation(config, refreshed.refresh_token ?? '');
    expect(await client.tokenIntrospection(config, refreshed.access_token)).toMatchObject({
      active: false,
    });

    // The same client with a key it never registered is refused at the token endpoint.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const impostor = await configure(clientId, { key: privateKey, kid: key.kid });
    await expect(
      client.clientCredentialsGrant(impostor, { scope: 'reports:read' }),
    ).rejects.toMatchObject({ error: 'invalid_client' });
  });
});
