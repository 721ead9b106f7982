/**
 * DPoP and token exchange (RFC 8693 with RFC 9449): the exchanged token is bound to the request's
 * proof key; a DPoP-bound actor token is only used with a proof of its key (the agent holds it);
 * a bound subject token of another client (the user's token that reached the agent with a proof
 * the agent checked) is taken without one: the agent cannot hold that key.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentItems, registerResource } from '../src/services/resources.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { DpopKey, dpopTokenRequest, postWithDpop } from './support/dpop.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const PASSWORD = 'token exchange pass phrase';
const LOOPBACK = 'http://127.0.0.1/callback';
const API = 'https://api.example.com/';
const SCOPE = 'openid email';
const ENV = 'development';

describe('DPoP-bound tokens in a token exchange', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let tokenUrl: string;
  let notes: string;
  let agent: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    tokenUrl = `${t.issuer(ENV)}/token`;
    await registerResource(t.ctx, ENV, { uri: API, name: 'API', scopes: ['notes:read'] });
    notes = (await t.client({ type: 'native', name: 'Notes CLI', redirectUris: [LOOPBACK] }))
      .clientId;
    const userId = await t.user('ada@example.com', PASSWORD);
    const created = await t.client({
      type: 'web',
      name: 'Agent',
      redirectUris: [],
      grantTypes: ['client_credentials', GRANT],
      exchangeAudiences: [API],
    });
    agent = { clientId: created.clientId, clientSecret: created.clientSecret ?? '' };
    // Ada agreed to both clients at the API (the consent page records it; token-exchange.test.ts
    // goes through it).
    for (const clientId of [notes, agent.clientId])
      await t.ctx.stores.consents.grant(
        {
          environment: ENV,
          userId,
          clientId,
          scopes: consentItems([...SCOPE.split(' '), 'notes:read'], API),
          at: Date.now(),
        },
        {
          at: Date.now(),
          event: { environment: ENV, type: 'consent.granted', actor: `user:${userId}`, userId },
        },
      );
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /** Ada's access token for the Notes CLI, bound to `key`. */
  async function boundSubjectToken(key: DpopKey): Promise<string> {
    const { verifier, challenge } = pkce();
    const location = await new FormBrowser(t.url).authorize(
      {
        client_id: notes,
        redirect_uri: LOOPBACK,
        response_type: 'code',
        scope: SCOPE,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      'ada@example.com',
      PASSWORD,
    );
    const reply = await dpopTokenRequest(tokenUrl, key, {
      grant_type: 'authorization_code',
      code: new URL(location).searchParams.get('code') ?? '',
      code_verifier: verifier,
      client_id: notes,
      redirect_uri: LOOPBACK,
    });
    expect(reply.body, location).toMatchObject({ token_type: 'DPoP' });
    return String(reply.body.access_token);
  }

  const agentCredentials = () => ({
    client_id: agent.clientId,
    client_secret: agent.clientSecret,
  });
  const exchangeForm = (subject: string, actor: string) => ({
    grant_type: GRANT,
    ...agentCredentials(),
    subject_token: subject,
    subject_token_type: ACCESS_TOKEN,
    actor_token: actor,
    actor_token_type: ACCESS_TOKEN,
    resource: API,
  });

  it('a bound actor token is used only with a proof of its key; the new token is bound to it', async () => {
    const agentKey = await DpopKey.generate();
    const subject = await boundSubjectToken(await DpopKey.generate());
    const actor = await dpopTokenRequest(tokenUrl, agentKey, {
      grant_type: 'client_credentials',
      ...agentCredentials(),
    });
    const actorToken = String(actor.body.access_token);
    expect(decodeJwt(actorToken).cnf).toEqual({ jkt: agentKey.jkt });

    // Without a proof, and with a proof of another key: the actor token is no bearer token.
    const bare = await postWithDpop(tokenUrl, exchangeForm(subject, actorToken), undefined);
    expect(bare.status).toBe(400);
    expect(bare.body.error).toBe('invalid_request');
    expect(String(bare.body.error_description)).toMatch(/actor_token is bound to a DPoP key/);
    const other = await dpopTokenRequest(
      tokenUrl,
      await DpopKey.generate(),
      exchangeForm(subject, actorToken),
    );
    expect(other.body.error).toBe('invalid_request');

    // With the agent's key: exchanged, though the subject token is bound to Ada's client's key.
    const exchanged = await dpopTokenRequest(tokenUrl, agentKey, exchangeForm(subject, actorToken));
    expect(exchanged.status).toBe(200);
    expect(exchanged.body.token_type).toBe('DPoP');
    const claims = decodeJwt(String(exchanged.body.access_token));
    expect(claims.cnf).toEqual({ jkt: agentKey.jkt });
    expect(claims.aud).toBe(API);
  });

  it('an unbound actor token and no proof give a bearer token, as before', async () => {
    const subject = await boundSubjectToken(await DpopKey.generate());
    const actor = await postWithDpop(
      tokenUrl,
      { grant_type: 'client_credentials', ...agentCredentials() },
      undefined,
    );
    const reply = await postWithDpop(
      tokenUrl,
      exchangeForm(subject, String(actor.body.access_token)),
      undefined,
    );
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe('Bearer');
    expect(decodeJwt(String(reply.body.access_token)).cnf).toBeUndefined();
  });
});
