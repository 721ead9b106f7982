/**
 * The consent page describes the user scopes in words and shows any other scope by its name. A
 * resource's scope may be any RFC 6749 §3.3 scope-token, so the lookup of the words must not
 * find what every object inherits: a scope named `constructor` or `toString` made the page fail
 * with a 500 (the lookup found a function, which cannot be shown).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerResource } from '../src/services/resources.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const API = 'https://api.example.com/';

describe('consent page with scopes named like inherited properties', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let clientId: string;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    await registerResource(t.ctx, 'development', {
      uri: API,
      name: 'API',
      scopes: ['constructor', 'toString', '__proto__', 'read'],
    });
    ({ clientId } = await t.client({
      type: 'web',
      name: 'Reports',
      redirectUris: ['https://app.example.com/cb'],
    }));
    await t.user('ada@example.com', 'correct horse battery');
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('lists each by its name', async () => {
    const browser = new FormBrowser(t.url);
    const start = await browser.get(
      `/e/development/authorize?${new URLSearchParams({
        client_id: clientId,
        redirect_uri: 'https://app.example.com/cb',
        response_type: 'code',
        scope: 'openid constructor toString __proto__ read',
        resource: API,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }).toString()}`,
    );
    const { last: login } = await browser.follow(start);
    const { last: consent } = await browser.follow(
      await browser.post('/e/development/login', {
        ...FormBrowser.fields(await login.text()),
        email: 'ada@example.com',
        password: 'correct horse battery',
      }),
    );
    expect(consent.status).toBe(200);
    const page = await consent.text();
    for (const name of ['constructor', 'toString', '__proto__', 'read'])
      expect(page).toContain(`<li>${name}</li>`);
    expect(page).toContain('<li>Confirm who you are</li>');
  });
});
