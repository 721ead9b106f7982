/**
 * RFC 8693 token exchange for delegation: an agent (a confidential client) trades a user's access
 * token, with its own token as the actor token, for a narrower token for one of its audiences.
 *
 * RFC 8693 §2.2.2: "If the request itself is not valid or if either the subject_token or
 * actor_token are invalid for any reason, or are unacceptable based on policy, ... The value of
 * the error parameter MUST be the invalid_request error code." Refused tokens are therefore
 * `invalid_request`, and `invalid_target` is for an audience the server will not issue for.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { consentItems, registerResource } from '../src/services/resources.js';
import { setUserDisabled } from '../src/services/users.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { DEFAULT_REFRESH_GRACE_SECONDS } from '../src/services/environments.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const PASSWORD = 'token exchange pass phrase';
const LOOPBACK = 'http://127.0.0.1/callback';
const MCP = 'https://mcp.example.com/';
const API = 'https://api.example.com/';
const API2 = 'https://api2.example.com/';
const UNREGISTERED = 'https://unregistered.example.com/';
const USER_SCOPE = 'openid email offline_access notes:read notes:write';
/** The audit entry a consent is stored with, as the consent page writes it. */
const consentGranted = (userId: string) => ({
  environment: 'development',
  type: 'consent.granted',
  actor: `user:${userId}`,
  userId,
});

interface Reply {
  status: number;
  access_token?: string;
  refresh_token?: string;
  issued_token_type?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

interface Agent {
  clientId: string;
  clientSecret: string;
}

describe.each(DATABASES)('token exchange (RFC 8693) on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  /** Added to the real time: moves the server's clock forward. */
  let skew = 0;
  let notes: string;
  let stagingNotes: string;
  let userId: string;
  let agent: Agent;
  let agent2: Agent;
  let plainWeb: Agent;
  let admin: AdminSession;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock: () => Date.now() + skew });
    for (const [uri, scopes] of [
      [MCP, ['notes:read', 'notes:write']],
      [API, ['notes:read', 'notes:write']],
      [API2, ['notes:read']],
    ] as const)
      await registerResource(t.ctx, 'development', { uri, name: uri, scopes: [...scopes] });
    notes = (await t.client({ type: 'native', name: 'Notes CLI', redirectUris: [LOOPBACK] }))
      .clientId;
    stagingNotes = (
      await t.client({
        environment: 'staging',
        type: 'native',
        name: 'Notes CLI',
        redirectUris: [LOOPBACK],
      })
    ).clientId;
    userId = await t.user('ada@example.com', PASSWORD);
    await t.user('ada@example.com', PASSWORD, 'staging');
    // The first agent is configured through the admin API, below; it starts as a plain web client.
    agent = (await t.client({ type: 'web', name: 'Agent', redirectUris: [] })) as Agent;
    agent2 = (await t.client({
      type: 'web',
      name: 'Second agent',
      redirectUris: [],
      grantTypes: ['client_credentials', GRANT],
      exchangeAudiences: [API2],
    })) as Agent;
    plainWeb = (await t.client({ type: 'web', name: 'Reports', redirectUris: [] })) as Agent;
    ({ session: admin } = await operatorSession(t, 'ops@example.com', 'admin'));
    // Ada has agreed to the Notes CLI's scopes at the downstream APIs too: across audiences a
    // resource scope carries over only where she agreed to it at the target.
    for (const target of [API, API2])
      await t.ctx.stores.consents.grant(
        {
          environment: 'development',
          userId,
          clientId: notes,
          scopes: consentItems(['notes:read', 'notes:write'], target),
          at: Date.now(),
        },
        { at: Date.now(), event: consentGranted(userId) },
      );
    // The agents exchange tokens the Notes CLI obtained: since issue #13 an agent may act for Ada
    // with another client's token only where she consented to that agent at the target (the
    // consent page records it; tokens-given.test.ts goes through it). Recorded here directly.
    for (const [agentId, target] of [
      [agent.clientId, API],
      [agent2.clientId, API2],
    ] as const)
      await t.ctx.stores.consents.grant(
        {
          environment: 'development',
          userId,
          clientId: agentId,
          scopes: consentItems(USER_SCOPE.split(' '), target),
          at: Date.now(),
        },
        { at: Date.now(), event: consentGranted(userId) },
      );
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const token = async (form: Record<string, string>, environment = 'development') =>
    (await t.tokenRequest(form, environment)) as unknown as Reply;

  /** A user's tokens for the Notes CLI through the real authorization endpoint. */
  async function userTokens(
    options: { scope?: string; resource?: string; environment?: string; email?: string } = {},
  ) {
    const environment = options.environment ?? 'development';
    const client = environment === 'development' ? notes : stagingNotes;
    const resource = options.resource === undefined ? {} : { resource: options.resource };
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: client,
        redirect_uri: LOOPBACK,
        response_type: 'code',
        scope: options.scope ?? USER_SCOPE,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...resource,
      },
      options.email ?? 'ada@example.com',
      PASSWORD,
      environment,
    );
    const code = new URL(location).searchParams.get('code') ?? '';
    const redeem = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: client,
      redirect_uri: LOOPBACK,
    };
    const reply = await token(redeem, environment);
    expect(reply.status).toBe(200);
    return { ...reply, access_token: reply.access_token ?? '', redeem };
  }

  async function clientToken(client: Agent): Promise<string> {
    const reply = await token({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
    });
    expect(reply.status).toBe(200);
    return reply.access_token ?? '';
  }

  async function exchange(
    client: { clientId: string; clientSecret?: string },
    form: Record<string, string>,
  ): Promise<Reply> {
    return token({
      grant_type: GRANT,
      client_id: client.clientId,
      ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
      subject_token_type: ACCESS_TOKEN,
      actor_token_type: ACCESS_TOKEN,
      ...form,
    });
  }

  async function introspect(client: Agent, value: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${t.issuer('development')}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        token: value,
      }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  }

  async function revoke(value: string): Promise<void> {
    const response = await fetch(`${t.issuer('development')}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: notes, token: value }),
    });
    expect(response.status).toBe(200);
  }

  const exchangedEntries = () =>
    t.server.stores.audit.tail({ environment: 'development', type: 'token.exchanged' });

  it('configures an agent through the admin API, audited before and after', async () => {
    const patched = await admin.call(
      'PATCH',
      `/environments/development/clients/${agent.clientId}`,
      {
        grantTypes: ['client_credentials', GRANT],
        exchangeAudiences: [API, UNREGISTERED],
        allowedResources: null,
      },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.client).toMatchObject({
      grantTypes: ['client_credentials', GRANT],
      exchangeAudiences: [API, UNREGISTERED],
      allowedResources: null,
      kind: 'registered',
    });
    const [entry] = await t.server.stores.audit.tail({
      environment: 'development',
      type: 'client.updated',
      clientId: agent.clientId,
      limit: 1,
    });
    expect(entry?.data).toMatchObject({
      before: { grantTypes: ['client_credentials'] },
      after: { grantTypes: ['client_credentials', GRANT], exchangeAudiences: [API, UNREGISTERED] },
    });
    expect((entry?.data as { before: object }).before).not.toHaveProperty('exchangeAudiences');

    const bad = await admin.call('PATCH', `/environments/development/clients/${agent.clientId}`, {
      exchangeAudiences: ['not a uri'],
    });
    expect(bad.status).toBe(400);
    const fragment = await admin.call(
      'PATCH',
      `/environments/development/clients/${agent.clientId}`,
      { allowedResources: [`${API}#x`] },
    );
    expect(fragment.status).toBe(400);
  });

  it('refuses the grant to public clients when they are registered or changed', async () => {
    await expect(
      createClient(t.ctx, {
        environment: 'development',
        type: 'native',
        name: 'Public agent',
        redirectUris: [LOOPBACK],
        grantTypes: ['authorization_code', GRANT],
      }),
    ).rejects.toMatchObject({ code: 'invalid_grant_type' });
    const patched = await admin.call('PATCH', `/environments/development/clients/${notes}`, {
      grantTypes: ['authorization_code', 'refresh_token', GRANT],
    });
    expect(patched.status).toBe(400);
    expect(patched.body.error).toBe('invalid_grant_type');
  });

  it('issues a delegated token: aud the target, sub the user, act the agent, scope narrowed', async () => {
    const user = await userTokens({ resource: MCP });
    const subject = decodeJwt(user.access_token);
    const actor = await clientToken(agent);
    const reply = await exchange(agent, {
      subject_token: user.access_token,
      actor_token: actor,
      resource: API,
      scope: 'notes:read email',
    });
    expect(reply).toMatchObject({
      status: 200,
      issued_token_type: ACCESS_TOKEN,
      token_type: 'Bearer',
      scope: 'notes:read email',
    });
    expect(reply.refresh_token).toBeUndefined();
    expect(reply.expires_in).toBeGreaterThan(0);
    const claims = decodeJwt(reply.access_token ?? '');
    // The user's grant owns it: revoking the grant revokes it (issue #15), with no row of its own.
    expect(typeof subject.grant_id).toBe('string');
    expect(claims.grant_id).toBe(subject.grant_id);
    expect(decodeJwt(actor).grant_id).toBeUndefined();
    expect(claims).toMatchObject({
      iss: t.issuer('development'),
      aud: API,
      sub: userId,
      client_id: agent.clientId,
      scope: 'notes:read email',
      act: { sub: agent.clientId },
    });
    expect((claims.act as Record<string, unknown>).act).toBeUndefined();
    expect(claims.exp).toBeLessThanOrEqual(subject.exp ?? 0);
    expect(claims.jti).not.toBe(subject.jti);

    // The agent introspects its delegated token.
    expect(await introspect(agent, reply.access_token ?? '')).toMatchObject({
      active: true,
      sub: userId,
      aud: API,
      client_id: agent.clientId,
      act: { sub: agent.clientId },
    });

    // Every exchange is audited, without token values.
    const [entry] = (await exchangedEntries()).slice(-1);
    expect(entry).toMatchObject({
      type: 'token.exchanged',
      actor: `client:${agent.clientId}`,
      clientId: agent.clientId,
      userId,
      data: {
        jti: claims.jti,
        audience: API,
        scope: 'notes:read email',
        subjectJti: subject.jti,
        subjectClientId: notes,
        actorJti: decodeJwt(actor).jti,
        actorClientId: agent.clientId,
        delegationDepth: 1,
      },
    });
    expect(JSON.stringify(entry)).not.toContain(user.access_token);
    expect(JSON.stringify(entry)).not.toContain(actor);
  });

  it('takes the audience parameter too, and defaults to what the subject and target share', async () => {
    const user = await userTokens({ resource: MCP });
    const reply = await exchange(agent, {
      subject_token: user.access_token,
      actor_token: await clientToken(agent),
      audience: API,
      requested_token_type: ACCESS_TOKEN,
    });
    expect(reply.status).toBe(200);
    expect(reply.scope).toBe(USER_SCOPE);
    expect(decodeJwt(reply.access_token ?? '').aud).toBe(API);

    // The second agent's audience knows notes:read only; notes:write stays behind.
    const again = await exchange(agent2, {
      subject_token: user.access_token,
      actor_token: await clientToken(agent2),
      resource: API2,
    });
    expect(again.status).toBe(200);
    expect(again.scope).toBe('openid email offline_access notes:read');
  });

  it('nests act when a delegated token is delegated again (RFC 8693 §4.1)', async () => {
    const user = await userTokens({ resource: MCP });
    const first = await exchange(agent, {
      subject_token: user.access_token,
      actor_token: await clientToken(agent),
      resource: API,
      scope: 'notes:read',
    });
    expect(first.status).toBe(200);
    const second = await exchange(agent2, {
      subject_token: first.access_token ?? '',
      actor_token: await clientToken(agent2),
      resource: API2,
    });
    expect(second.status).toBe(200);
    expect(second.scope).toBe('notes:read');
    const claims = decodeJwt(second.access_token ?? '');
    expect(claims).toMatchObject({
      sub: userId,
      aud: API2,
      client_id: agent2.clientId,
      act: { sub: agent2.clientId, act: { sub: agent.clientId } },
    });
    expect(claims.exp).toBeLessThanOrEqual(decodeJwt(first.access_token ?? '').exp ?? 0);
    const [entry] = (await exchangedEntries()).slice(-1);
    expect(entry?.data).toMatchObject({ delegationDepth: 2, subjectClientId: agent.clientId });
    // Its own client sees it; the first agent learns nothing about another client's token.
    expect(await introspect(agent2, second.access_token ?? '')).toMatchObject({ active: true });
    expect(await introspect(agent, second.access_token ?? '')).toEqual({ active: false });
  });

  it('never outlives the subject token', async () => {
    const user = await userTokens({ resource: MCP });
    const subjectExp = decodeJwt(user.access_token).exp ?? 0;
    skew = 5 * 60_000;
    try {
      const reply = await exchange(agent, {
        subject_token: user.access_token,
        actor_token: await clientToken(agent),
        resource: API,
      });
      expect(reply.status).toBe(200);
      expect(reply.expires_in).toBeLessThanOrEqual(300);
      expect(decodeJwt(reply.access_token ?? '').exp).toBe(subjectExp);
    } finally {
      skew = 0;
    }
  });

  describe('refusals leave no token', () => {
    let before: number;
    beforeAll(async () => {
      before = (await exchangedEntries()).length;
    });
    afterAll(async () => {
      expect((await exchangedEntries()).length).toBe(before);
    });

    const refused = (reply: Reply, status: number, error: string) => {
      expect(reply.status).toBe(status);
      expect(reply.error).toBe(error);
      expect(reply.access_token).toBeUndefined();
    };

    it('refuses a scope wider than the subject token (invalid_scope)', async () => {
      const user = await userTokens({ resource: MCP, scope: 'openid notes:read' });
      const actor = await clientToken(agent);
      for (const scope of ['notes:read notes:write', 'notes:read admin', 'profile'])
        refused(
          await exchange(agent, {
            subject_token: user.access_token,
            actor_token: actor,
            resource: API,
            scope,
          }),
          400,
          'invalid_scope',
        );
      // Within the subject's scope but not one the target defines.
      const wide = await userTokens({ resource: MCP });
      refused(
        await exchange(agent2, {
          subject_token: wide.access_token,
          actor_token: await clientToken(agent2),
          resource: API2,
          scope: 'notes:write',
        }),
        400,
        'invalid_scope',
      );
    });

    it('refuses an audience outside the client exchange audiences (invalid_target)', async () => {
      const user = await userTokens({ resource: MCP });
      const actor = await clientToken(agent);
      for (const target of [{ resource: API2 }, { audience: MCP }, { resource: UNREGISTERED }])
        refused(
          await exchange(agent, {
            subject_token: user.access_token,
            actor_token: actor,
            ...target,
          }),
          400,
          'invalid_target',
        );
      refused(
        await exchange(agent, {
          subject_token: user.access_token,
          actor_token: actor,
          resource: API,
          audience: API2,
        }),
        400,
        'invalid_target',
      );
      // The client's allowed resources apply to exchanges as to any request.
      const restrict = (allowedResources: string[] | null) =>
        admin.call('PATCH', `/environments/development/clients/${agent.clientId}`, {
          allowedResources,
        });
      expect((await restrict([MCP])).body.client).toMatchObject({ allowedResources: [MCP] });
      try {
        refused(
          await exchange(agent, {
            subject_token: user.access_token,
            actor_token: actor,
            resource: API,
          }),
          400,
          'invalid_target',
        );
      } finally {
        expect((await restrict(null)).status).toBe(200);
      }
    });

    it('refuses clients without the grant, and public clients', async () => {
      const user = await userTokens({ resource: MCP });
      refused(
        await exchange(plainWeb, {
          subject_token: user.access_token,
          actor_token: await clientToken(plainWeb),
          resource: API,
        }),
        400,
        'unauthorized_client',
      );
      refused(
        await exchange({ clientId: notes }, { subject_token: user.access_token, resource: API }),
        400,
        'unauthorized_client',
      );
      // A web client must authenticate: without its secret it is not even identified.
      refused(
        await exchange(
          { clientId: agent.clientId },
          { subject_token: user.access_token, resource: API },
        ),
        401,
        'invalid_client',
      );
    });

    it('refuses an actor token that is not the requesting client own (invalid_request)', async () => {
      const user = await userTokens({ resource: MCP });
      for (const actor of [await clientToken(agent2), user.access_token, 'garbage'])
        refused(
          await exchange(agent, {
            subject_token: user.access_token,
            actor_token: actor,
            resource: API,
          }),
          400,
          'invalid_request',
        );
      // A revoked actor token too.
      const actor = await clientToken(agent);
      const response = await fetch(`${t.issuer('development')}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...toForm(agent), token: actor }),
      });
      expect(response.status).toBe(200);
      refused(
        await exchange(agent, {
          subject_token: user.access_token,
          actor_token: actor,
          resource: API,
        }),
        400,
        'invalid_request',
      );
    });

    it('refuses revoked, expired, foreign and garbage subject tokens (invalid_request)', async () => {
      const actor = await clientToken(agent);
      const attempt = async (subject: string) => {
        refused(
          await exchange(agent, { subject_token: subject, actor_token: actor, resource: API }),
          400,
          'invalid_request',
        );
      };

      const revoked = await userTokens({ resource: MCP });
      await revoke(revoked.access_token);
      await attempt(revoked.access_token);

      await attempt('garbage');
      await attempt(`${(await userTokens({ resource: MCP })).access_token.slice(0, -4)}AAAA`);
      // The agent's own client_credentials token has no user behind it.
      await attempt(actor);

      const staging = await userTokens({ environment: 'staging', scope: 'openid email' });
      await attempt(staging.access_token);

      const expiring = await userTokens({ resource: MCP });
      skew = 11 * 60_000;
      try {
        refused(
          await exchange(agent, {
            subject_token: expiring.access_token,
            actor_token: await clientToken(agent),
            resource: API,
          }),
          400,
          'invalid_request',
        );
      } finally {
        skew = 0;
      }
    });

    it('refuses a subject token whose user is disabled (invalid_request)', async () => {
      await t.user('grace@example.com', PASSWORD);
      const user = await userTokens({ resource: MCP, email: 'grace@example.com' });
      await setUserDisabled(t.ctx, 'development', 'grace@example.com', true);
      refused(
        await exchange(agent, {
          subject_token: user.access_token,
          actor_token: await clientToken(agent),
          resource: API,
        }),
        400,
        'invalid_request',
      );
    });

    it('refuses malformed requests (invalid_request)', async () => {
      const user = await userTokens({ resource: MCP });
      const actor = await clientToken(agent);
      const good = { subject_token: user.access_token, actor_token: actor, resource: API };
      const cases: Record<string, string | undefined>[] = [
        { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
        { requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
        { subject_token: undefined },
        { subject_token: '' },
        { subject_token_type: undefined },
        { subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' },
        { actor_token: undefined },
        { actor_token: undefined, actor_token_type: undefined },
        { actor_token_type: undefined },
        { actor_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
        { resource: undefined },
      ];
      for (const change of cases) {
        const merged: Record<string, string | undefined> = {
          grant_type: GRANT,
          ...toForm(agent),
          subject_token_type: ACCESS_TOKEN,
          actor_token_type: ACCESS_TOKEN,
          ...good,
          ...change,
        };
        const form = Object.fromEntries(
          Object.entries(merged).filter(
            (entry): entry is [string, string] => entry[1] !== undefined,
          ),
        );
        refused(await token(form), 400, 'invalid_request');
      }
    });
  });

  describe("revoking the user's grant revokes the delegated tokens", () => {
    async function delegated(user: { access_token: string }): Promise<string> {
      const reply = await exchange(agent, {
        subject_token: user.access_token,
        actor_token: await clientToken(agent),
        resource: API,
        scope: 'notes:read',
      });
      expect(reply.status).toBe(200);
      const value = reply.access_token ?? '';
      expect(await introspect(agent, value)).toMatchObject({ active: true });
      return value;
    }

    it('through /revoke of the refresh token', async () => {
      const user = await userTokens({ resource: MCP });
      const value = await delegated(user);
      await revoke(user.refresh_token ?? '');
      expect(await introspect(agent, value)).toEqual({ active: false });
    });

    it('through reuse of a rotated refresh token, with a nested delegation', async () => {
      const user = await userTokens({ resource: MCP });
      const value = await delegated(user);
      const nested = await exchange(agent2, {
        subject_token: value,
        actor_token: await clientToken(agent2),
        resource: API2,
      });
      expect(nested.status).toBe(200);
      const refresh = { grant_type: 'refresh_token', client_id: notes };
      const rotated = await token({ ...refresh, refresh_token: user.refresh_token ?? '' });
      expect(rotated.status).toBe(200);
      // Reused after the grace window (within it, this client would get a successor).
      skew = (DEFAULT_REFRESH_GRACE_SECONDS + 1) * 1000;
      try {
        const reused = await token({ ...refresh, refresh_token: user.refresh_token ?? '' });
        expect(reused.error).toBe('invalid_grant');
      } finally {
        skew = 0;
      }
      expect(await introspect(agent, value)).toEqual({ active: false });
      expect(await introspect(agent2, nested.access_token ?? '')).toEqual({ active: false });
    });

    it('through the end of the impersonation the subject token came from', async () => {
      const app = (await t.client({
        type: 'web',
        name: 'Support App',
        redirectUris: ['https://support-app.example.com/callback'],
      })) as Agent;
      expect(
        (await admin.call('PATCH', '/environments/development', { impersonationEnabled: true }))
          .status,
      ).toBe(200);
      const browser = new FormBrowser(t.url);
      const { session, id: operatorId } = await operatorSession(
        t,
        'helper@ops.example',
        'support',
        browser.jar,
      );
      const started = await session.call('POST', '/environments/development/impersonations', {
        userId,
        clientId: app.clientId,
        reason: 'ticket 4711',
      });
      expect(started.status).toBe(201);
      const { verifier, challenge } = pkce();
      const location = await browser.authorize(
        {
          client_id: app.clientId,
          redirect_uri: 'https://support-app.example.com/callback',
          response_type: 'code',
          scope: 'openid notes:read',
          resource: MCP,
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        'unused@example.com',
        'unused',
      );
      const user = await token({
        grant_type: 'authorization_code',
        code: new URL(location).searchParams.get('code') ?? '',
        code_verifier: verifier,
        redirect_uri: 'https://support-app.example.com/callback',
        resource: MCP,
        ...toForm(app),
      });
      expect(user.status).toBe(200);
      // Dana agreed earlier that the Support App may read notes at the API too.
      await t.ctx.stores.consents.grant(
        {
          environment: 'development',
          userId,
          clientId: app.clientId,
          scopes: consentItems(['notes:read'], API),
          at: Date.now(),
        },
        { at: Date.now(), event: consentGranted(userId) },
      );
      const value = await delegated({ access_token: user.access_token ?? '' });
      // The operator stays visible, nested under the agent.
      expect(decodeJwt(value).act).toEqual({
        sub: agent.clientId,
        act: { sub: operatorId, email: 'helper@ops.example' },
      });
      const impersonation = started.body.impersonation as { id: string };
      const ended = await session.call(
        'POST',
        `/environments/development/impersonations/${impersonation.id}/end`,
      );
      expect(ended.status).toBe(200);
      expect(await introspect(agent, value)).toEqual({ active: false });
    });

    it('through a replayed authorization code', async () => {
      const user = await userTokens({ resource: MCP, scope: 'openid notes:read' });
      expect(user.refresh_token).toBeUndefined();
      const value = await delegated(user);
      expect((await token(user.redeem)).error).toBe('invalid_grant');
      expect(await introspect(agent, value)).toEqual({ active: false });
    });
  });

  function toForm(client: Agent): Record<string, string> {
    return { client_id: client.clientId, client_secret: client.clientSecret };
  }

  it('carries a resource scope to another audience only where the user agreed to it there', async () => {
    const API3 = 'https://api3.example.com/';
    await registerResource(t.ctx, 'development', {
      uri: API3,
      name: 'API 3',
      scopes: ['notes:read'],
    });
    const agent3 = (await t.client({
      type: 'web',
      name: 'Third agent',
      redirectUris: [],
      grantTypes: ['client_credentials', GRANT],
      exchangeAudiences: [API3],
    })) as Agent;
    // Ada let the third agent act for her at API 3 with her user scopes only (issue #13).
    await t.ctx.stores.consents.grant(
      {
        environment: 'development',
        userId,
        clientId: agent3.clientId,
        scopes: consentItems(['openid', 'email', 'offline_access'], API3),
        at: Date.now(),
      },
      { at: Date.now(), event: consentGranted(userId) },
    );
    const user = await userTokens({ resource: MCP });
    const narrowed = await exchange(agent3, {
      subject_token: user.access_token,
      actor_token: await clientToken(agent3),
      resource: API3,
      scope: 'notes:read',
    });
    expect(narrowed.status).toBe(400);
    expect(narrowed.error).toBe('invalid_scope');
    const defaulted = await exchange(agent3, {
      subject_token: user.access_token,
      actor_token: await clientToken(agent3),
      resource: API3,
    });
    expect(defaulted.status).toBe(200);
    expect(defaulted.scope).toBe('openid email offline_access');
  });
});
