/**
 * Issue #13, item 6: tokens only for what a client was given. Each block performs the attack the
 * issue describes and expects the refusal, then shows the allowed way still works.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentFetcher } from '../src/net/document-fetcher.js';
import { MetadataDocumentClients } from '../src/services/metadata-documents.js';
import { registerResource } from '../src/services/resources.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const PASSWORD = 'tokens given pass phrase';
const LOOPBACK = 'http://127.0.0.1/callback';
const API = 'https://api.example.com/';
const MCP = 'https://mcp.example.com/';

interface Reply {
  status: number;
  access_token?: string;
  scope?: string;
  error?: string;
  error_description?: string;
}

interface Confidential {
  clientId: string;
  clientSecret: string;
}

describe.each(DATABASES)('tokens only for what a client was given, on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let admin: AdminSession;
  let userId: string;
  let notes: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db);
    for (const uri of [API, MCP])
      await registerResource(t.ctx, 'development', {
        uri,
        name: uri,
        scopes: ['notes:read', 'notes:write'],
      });
    userId = await t.user('ada@example.com', PASSWORD);
    notes = (await t.client({ type: 'native', name: 'Notes CLI', redirectUris: [LOOPBACK] }))
      .clientId;
    ({ session: admin } = await operatorSession(t, 'ops@example.com', 'admin'));
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const token = async (form: Record<string, string>, environment = 'development') =>
    (await t.tokenRequest(form, environment)) as unknown as Reply;

  /** Ada signs in to a client through the real authorization endpoint; returns the redemption. */
  async function authorized(
    clientId: string,
    query: Record<string, string>,
    browser = new FormBrowser(t.url),
  ) {
    const { verifier, challenge } = pkce();
    const location = await browser.authorize(
      {
        client_id: clientId,
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...query,
      },
      'ada@example.com',
      PASSWORD,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    return { grant_type: 'authorization_code', code, code_verifier: verifier };
  }

  describe('client_credentials grants only the scopes a client is registered for', () => {
    it('refuses scope=admin superuser from a client registered for no scope (invalid_scope)', async () => {
      const reports = (await t.client({
        type: 'web',
        name: 'Reports',
        redirectUris: [],
      })) as Confidential;
      const reply = await token({
        grant_type: 'client_credentials',
        client_id: reports.clientId,
        client_secret: reports.clientSecret,
        scope: 'admin superuser',
      });
      expect(reply.status).toBe(400);
      expect(reply.error).toBe('invalid_scope');
      expect(reply.access_token).toBeUndefined();
      // Without a scope it still gets a token, with no scope in it.
      const plain = await token({
        grant_type: 'client_credentials',
        client_id: reports.clientId,
        client_secret: reports.clientSecret,
      });
      expect(plain.status).toBe(200);
      expect(plain.scope).toBe('');
    });

    it('grants the registered scopes and refuses the rest', async () => {
      const created = await admin.call('POST', '/environments/development/clients', {
        type: 'web',
        name: 'Billing',
        redirectUris: [],
        scopes: ['reports:read', 'reports:write'],
      });
      expect(created.status).toBe(201);
      const client = created.body.client as { clientId: string; scopes: string[] };
      expect(client.scopes).toEqual(['reports:read', 'reports:write']);
      const form = {
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: created.body.clientSecret as string,
      };
      const granted = await token({ ...form, scope: 'reports:read' });
      expect(granted.status).toBe(200);
      expect(decodeJwt(granted.access_token ?? '').scope).toBe('reports:read');
      for (const scope of ['reports:read admin', 'superuser'])
        expect((await token({ ...form, scope })).error).toBe('invalid_scope');
      // Changed through the admin API: a removed scope is refused from then on.
      const patched = await admin.call(
        'PATCH',
        `/environments/development/clients/${client.clientId}`,
        { scopes: ['reports:write'] },
      );
      expect(patched.status).toBe(200);
      expect((await token({ ...form, scope: 'reports:read' })).error).toBe('invalid_scope');
      expect((await token({ ...form, scope: 'reports:write' })).status).toBe(200);
    });
  });

  describe('token exchange ties the subject token to the requesting agent', () => {
    let rogue: Confidential;
    beforeAll(async () => {
      rogue = (await t.client({
        type: 'web',
        name: 'Rogue agent',
        redirectUris: ['https://rogue.example.com/callback'],
        grantTypes: ['authorization_code', 'client_credentials', EXCHANGE],
        exchangeAudiences: [API],
      })) as Confidential;
    });

    const exchange = async (agent: Confidential, subject: string) => {
      const actor = await token({
        grant_type: 'client_credentials',
        client_id: agent.clientId,
        client_secret: agent.clientSecret,
      });
      expect(actor.status).toBe(200);
      return token({
        grant_type: EXCHANGE,
        client_id: agent.clientId,
        client_secret: agent.clientSecret,
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN,
        actor_token: actor.access_token ?? '',
        actor_token_type: ACCESS_TOKEN,
        resource: API,
        scope: 'notes:read',
      });
    };

    it("refuses a user's token issued to another client the user never let it act for (invalid_request)", async () => {
      const redeem = await authorized(notes, {
        redirect_uri: LOOPBACK,
        scope: 'openid notes:read',
        resource: API,
      });
      const user = await token({ ...redeem, client_id: notes, redirect_uri: LOOPBACK });
      expect(user.status).toBe(200);
      const reply = await exchange(rogue, user.access_token ?? '');
      expect(reply.status).toBe(400);
      expect(reply.error).toBe('invalid_request');
      expect(reply.access_token).toBeUndefined();
    });

    it('accepts it once the user consented to the agent at that audience; revoking the consent ends it', async () => {
      const browser = new FormBrowser(t.url);
      const user = await token({
        ...(await authorized(
          notes,
          { redirect_uri: LOOPBACK, scope: 'openid notes:read', resource: API },
          browser,
        )),
        client_id: notes,
        redirect_uri: LOOPBACK,
      });
      // The agent asks Ada, on the consent page, to act for her at the API.
      await authorized(
        rogue.clientId,
        {
          redirect_uri: 'https://rogue.example.com/callback',
          scope: 'notes:read',
          resource: API,
        },
        browser,
      );
      const allowed = await exchange(rogue, user.access_token ?? '');
      expect(allowed.status).toBe(200);
      expect(decodeJwt(allowed.access_token ?? '')).toMatchObject({
        sub: userId,
        aud: API,
        act: { sub: rogue.clientId },
      });

      // The console lists the consent and revokes it.
      const listed = await admin.call('GET', `/environments/development/users/${userId}/consents`);
      expect(listed.status).toBe(200);
      expect(listed.body.consents).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ clientId: rogue.clientId, clientName: 'Rogue agent' }),
        ]),
      );
      const revoked = await admin.call(
        'DELETE',
        `/environments/development/users/${userId}/consents/${encodeURIComponent(rogue.clientId)}`,
      );
      expect(revoked.status).toBe(204);
      expect((await exchange(rogue, user.access_token ?? '')).error).toBe('invalid_request');
    });

    it('refuses an audience the user never let the agent act at, reached through its own exchanged token (invalid_request)', async () => {
      const hopper = (await t.client({
        type: 'web',
        name: 'Hopping agent',
        redirectUris: ['https://hopper.example.com/callback'],
        grantTypes: ['authorization_code', 'client_credentials', EXCHANGE],
        exchangeAudiences: [API, MCP],
      })) as Confidential;
      const browser = new FormBrowser(t.url);
      const user = await token({
        ...(await authorized(
          notes,
          { redirect_uri: LOOPBACK, scope: 'openid notes:read', resource: API },
          browser,
        )),
        client_id: notes,
        redirect_uri: LOOPBACK,
      });
      // Ada gave Notes notes:read at MCP too, and let the agent act for her at the API only.
      await authorized(
        notes,
        { redirect_uri: LOOPBACK, scope: 'notes:read', resource: MCP },
        browser,
      );
      await authorized(
        hopper.clientId,
        { redirect_uri: 'https://hopper.example.com/callback', scope: 'notes:read', resource: API },
        browser,
      );
      const actor = await token({
        grant_type: 'client_credentials',
        client_id: hopper.clientId,
        client_secret: hopper.clientSecret,
      });
      const toward = (subject: string, resource: string) =>
        token({
          grant_type: EXCHANGE,
          client_id: hopper.clientId,
          client_secret: hopper.clientSecret,
          subject_token: subject,
          subject_token_type: ACCESS_TOKEN,
          actor_token: actor.access_token ?? '',
          actor_token_type: ACCESS_TOKEN,
          resource,
        });
      expect((await toward(user.access_token ?? '', MCP)).error).toBe('invalid_request');
      const atApi = await toward(user.access_token ?? '', API);
      expect(atApi.status).toBe(200);
      // The token it got at the API was issued to it, yet the grant behind it is Notes'.
      const hop = await toward(atApi.access_token ?? '', MCP);
      expect(hop.status).toBe(400);
      expect(hop.error).toBe('invalid_request');
      expect(hop.access_token).toBeUndefined();
    });
  });

  describe('redirect_uri at the token endpoint (RFC 6749 §4.1.3)', () => {
    it('refuses a redemption without the redirect_uri the authorization request carried (invalid_grant)', async () => {
      const redeem = await authorized(notes, { redirect_uri: LOOPBACK, scope: 'openid' });
      const reply = await token({ ...redeem, client_id: notes });
      expect(reply.status).toBe(400);
      expect(reply.error).toBe('invalid_grant');
      expect(reply.access_token).toBeUndefined();
      // The refusal did not spend the code: the rightful redemption still succeeds.
      expect((await token({ ...redeem, client_id: notes, redirect_uri: LOOPBACK })).status).toBe(
        200,
      );
    });

    it('still lets a redemption leave it out when the authorization request did', async () => {
      const web = (await t.client({
        type: 'web',
        name: 'One URI',
        redirectUris: ['https://one.example.com/callback'],
      })) as Confidential;
      const redeem = await authorized(web.clientId, { scope: 'openid' });
      const reply = await token({
        ...redeem,
        client_id: web.clientId,
        client_secret: web.clientSecret,
      });
      expect(reply.status).toBe(200);
    });
  });

  describe('metadata-document clients only where the environment allows them', () => {
    const documentId = 'https://agent.example.com/client.json';
    const documents = () =>
      new MetadataDocumentClients(
        {
          fetchJson: () =>
            Promise.resolve({
              client_id: documentId,
              client_name: 'Agent',
              redirect_uris: ['http://127.0.0.1/callback'],
              token_endpoint_auth_method: 'none',
            }),
        } as unknown as DocumentFetcher,
        t.ctx.stores,
        Date.now,
      );

    it("refuses them in production under its default registration policy ('token')", async () => {
      const production = await t.ctx.stores.environments.get('production');
      expect(production?.registration).toBe('token');
      await expect(
        documents().resolve(production as NonNullable<typeof production>, documentId),
      ).rejects.toThrow(/turned off|not allowed/);
      expect(await t.ctx.stores.clients.get('production', documentId)).toBeUndefined();
    });

    it('accepts them where the environment allows them explicitly', async () => {
      const allowed = await admin.call('PATCH', '/environments/production', {
        metadataDocuments: true,
      });
      expect(allowed.status).toBe(200);
      expect(allowed.body.environment).toMatchObject({ metadataDocuments: true });
      const production = await t.ctx.stores.environments.get('production');
      const client = await documents().resolve(
        production as NonNullable<typeof production>,
        documentId,
      );
      expect(client).toMatchObject({ clientId: documentId, kind: 'metadata_document' });
    });
  });
});
