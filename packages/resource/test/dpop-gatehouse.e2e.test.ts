/* eslint-disable @typescript-eslint/no-deprecated -- the issuer under test is plain http on loopback: allowInsecureRequests is marked deprecated only to stand out */
/**
 * End to end: Gatehouse issues a DPoP-bound access token (RFC 9449 §5, `cnf.jkt`) to a client
 * that proves a key with oauth4webapi's DPoP support, and an Express API behind
 * @gatehouse/resource takes it only with a proof of that key: oauth4webapi's own proofs for the
 * API call, its nonce retry against a resource that requires nonces, and the refusals without a
 * proof, as a bearer token and with a proof of another key, read by oauth4webapi's challenge
 * parser. Then step-up: a 403 names the scopes, a new token with them is accepted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import express from 'express';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataMiddleware, requireBearer } from '../src/express.js';
import { createResourceServer, type ResourceServer } from '../src/index.js';
import { parseChallenges } from './support/challenge-parser.js';
import { startGatehouse, type Gatehouse } from './support/gatehouse.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** What oauth4webapi read from a refusal: its challenges, lower-cased schemes. */
async function challengesOf(call: Promise<Response>): Promise<oauth.WWWAuthenticateChallenge[]> {
  try {
    const response = await call;
    throw new Error(`expected a challenge, got ${response.status}`);
  } catch (error) {
    if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error;
    return error.cause;
  }
}

describe('a Gatehouse DPoP-bound token at an API behind @gatehouse/resource', () => {
  let gatehouse: Gatehouse;
  let api: Server;
  let origin: string;
  let resource: string;
  let rs: ResourceServer;
  let as: oauth.AuthorizationServer;
  let client: oauth.Client;
  let clientAuth: oauth.ClientAuth;
  let keyPair: oauth.CryptoKeyPair;
  let jkt: string;

  /** client_credentials with a DPoP proof, retrying once on the server's use_dpop_nonce. */
  async function boundToken(
    scope: string,
    dpop: oauth.DPoPHandle,
  ): Promise<oauth.TokenEndpointResponse> {
    const attempt = async () =>
      oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(
          as,
          client,
          clientAuth,
          { resource, scope },
          { DPoP: dpop, ...insecure },
        ),
      );
    try {
      return await attempt();
    } catch (error) {
      if (oauth.isDPoPNonceError(error)) return attempt();
      throw error;
    }
  }

  beforeAll(async () => {
    gatehouse = await startGatehouse();
    api = createServer();
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    resource = `${origin}/mcp`;
    await gatehouse.register(resource, ['mcp:tools', 'mcp:admin']);
    rs = createResourceServer({ resource, issuer: gatehouse.issuer });
    const withNonces = createResourceServer({
      resource,
      issuer: gatehouse.issuer,
      dpop: { nonce: 'required' },
    });
    const app = express();
    app.use(metadataMiddleware(rs));
    const answer = (req: express.Request, res: express.Response) => {
      res.json({ scopes: req.auth?.scopes, dpopJkt: req.auth?.extra?.dpopJkt });
    };
    app.get('/mcp', requireBearer(rs), answer);
    app.get(
      '/mcp/admin',
      requireBearer(rs, { requiredScopes: ['mcp:tools', 'mcp:admin'] }),
      answer,
    );
    app.get('/mcp/nonce', requireBearer(withNonces), answer);
    api.on('request', app);

    const issuer = new URL(gatehouse.issuer);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    );
    const credentials = await gatehouse.tokenClient();
    client = { client_id: credentials.clientId };
    clientAuth = oauth.ClientSecretPost(credentials.clientSecret);
    keyPair = await oauth.generateKeyPair('ES256');
    jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256');
  });
  afterAll(async () => {
    api.closeAllConnections();
    await new Promise((resolve) => api.close(resolve));
    await gatehouse.close();
  });

  it('the token is bound to the key, and the API takes it with a proof of that key', async () => {
    const dpop = oauth.DPoP(client, keyPair);
    const tokens = await boundToken('mcp:tools', dpop);
    expect(tokens.token_type).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toStrictEqual({ jkt });
    const response = await oauth.protectedResourceRequest(
      tokens.access_token,
      'GET',
      new URL(resource),
      new Headers(),
      null,
      { DPoP: dpop, ...insecure },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({ scopes: ['mcp:tools'], dpopJkt: jkt });
  });

  it('refuses it without a proof, as a bearer token, and with a proof of another key', async () => {
    const tokens = await boundToken('mcp:tools', oauth.DPoP(client, keyPair));
    const withoutProof = await fetch(resource, {
      headers: { authorization: `DPoP ${tokens.access_token}` },
    });
    expect(withoutProof.status).toBe(401);
    expect(withoutProof.headers.get('www-authenticate')).toContain('error="invalid_dpop_proof"');
    await withoutProof.body?.cancel();

    // oauth4webapi sends Bearer when given no DPoP handle.
    const asBearer = await challengesOf(
      oauth.protectedResourceRequest(
        tokens.access_token,
        'GET',
        new URL(resource),
        new Headers(),
        null,
        insecure,
      ),
    );
    expect(asBearer).toMatchObject([
      { scheme: 'dpop', parameters: { error: 'invalid_token', resource_metadata: rs.metadataUrl } },
    ]);

    const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const otherKey = await challengesOf(
      oauth.protectedResourceRequest(
        tokens.access_token,
        'GET',
        new URL(resource),
        new Headers(),
        null,
        {
          DPoP: thief,
          ...insecure,
        },
      ),
    );
    expect(otherKey).toMatchObject([
      {
        scheme: 'dpop',
        parameters: {
          error: 'invalid_token',
          error_description: 'the access token is bound to another key than the DPoP proof',
        },
      },
    ]);
  });

  it("oauth4webapi's nonce retry works against a resource that requires nonces", async () => {
    const dpop = oauth.DPoP(client, keyPair);
    const tokens = await boundToken('mcp:tools', dpop);
    const call = () =>
      oauth.protectedResourceRequest(
        tokens.access_token,
        'GET',
        new URL(`${origin}/mcp/nonce`),
        new Headers(),
        null,
        { DPoP: dpop, ...insecure },
      );
    let first: unknown;
    try {
      await call();
    } catch (error) {
      first = error;
    }
    // The handle kept the nonce from DPoP-Nonce; the retry carries it.
    expect(oauth.isDPoPNonceError(first)).toBe(true);
    const response = await call();
    expect(response.status).toBe(200);
    expect(response.headers.get('dpop-nonce')).toMatch(/./);
    await response.body?.cancel();
  });

  it('step-up: 403 insufficient_scope names the scopes; a token with them is taken', async () => {
    const dpop = oauth.DPoP(client, keyPair);
    const narrow = await boundToken('mcp:tools', dpop);
    const admin = new URL(`${origin}/mcp/admin`);
    const challenges = await challengesOf(
      oauth.protectedResourceRequest(narrow.access_token, 'GET', admin, new Headers(), null, {
        DPoP: dpop,
        ...insecure,
      }),
    );
    expect(challenges).toMatchObject([
      {
        scheme: 'dpop',
        parameters: {
          error: 'insufficient_scope',
          scope: 'mcp:tools mcp:admin',
          resource_metadata: rs.metadataUrl,
        },
      },
    ]);
    const wide = await boundToken(challenges[0]?.parameters.scope ?? '', dpop);
    const response = await oauth.protectedResourceRequest(
      wide.access_token,
      'GET',
      admin,
      new Headers(),
      null,
      {
        DPoP: dpop,
        ...insecure,
      },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ scopes: ['mcp:tools', 'mcp:admin'] });
  });

  it('a missing token: Bearer then DPoP challenges; the MCP SDK reads the Bearer one', async () => {
    const response = await fetch(resource);
    expect(response.status).toBe(401);
    expect(
      parseChallenges(response.headers.get('www-authenticate') ?? '').map((c) => c.scheme),
    ).toStrictEqual(['Bearer', 'DPoP']);
    expect(extractWWWAuthenticateParams(response).resourceMetadataUrl?.href).toBe(rs.metadataUrl);
  });
});
