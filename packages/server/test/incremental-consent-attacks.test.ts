/**
 * Incremental consent over HTTP (endpoints/interaction, authorization/incremental-consent.ts):
 * what the page lists as already allowed must really be allowed to this client at this resource.
 * A scope granted at one resource is asked again at another; another client of the same name
 * gets nothing listed as kept; whatever the page lists, the code carries exactly the request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerResource } from '../src/services/resources.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

const A = 'https://a.example.com/';
const B = 'https://b.example.com/';
const REDIRECT = 'https://app.example.com/cb';
const PASSWORD = 'correct horse battery';

describe('incremental consent attacks', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let first: string;
  let namesake: string;
  const browser = () => new FormBrowser(t.url);
  let signedIn: FormBrowser;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
    for (const uri of [A, B])
      await registerResource(t.ctx, 'development', { uri, name: uri, scopes: ['read', 'write'] });
    const spec = { type: 'web' as const, name: 'Reports', redirectUris: [REDIRECT] };
    ({ clientId: first } = await t.client(spec));
    ({ clientId: namesake } = await t.client(spec));
    await t.user('ada@example.com', PASSWORD);
    signedIn = browser();
    const location = await signedIn.authorize(
      query(first, 'openid read', A),
      'ada@example.com',
      PASSWORD,
    );
    expect(new URL(location).searchParams.get('code')).not.toBeNull();
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  function query(clientId: string, scope: string, resource: string): Record<string, string> {
    return {
      client_id: clientId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope,
      resource,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    };
  }

  /** The consent page the signed-in browser gets for this request: what it asks and keeps. */
  async function consentPage(q: Record<string, string>) {
    const start = await signedIn.get(
      `/e/development/authorize?${new URLSearchParams(q).toString()}`,
    );
    const { location, last } = await signedIn.follow(start);
    expect(location).toBeUndefined();
    const page = await last.text();
    const list = (id: string) =>
      [
        ...(new RegExp(`id="${id}">([\\s\\S]*?)</ul>`).exec(page)?.[1] ?? '').matchAll(
          /<li>([^<]*)<\/li>/g,
        ),
      ].map((m) => m[1]);
    return { page, asked: list('asked-scopes'), kept: list('granted-scopes') };
  }

  it('asks again at another resource for a scope granted at the first', async () => {
    const { asked, kept } = await consentPage(query(first, 'openid read write', B));
    expect(asked).toEqual(['Confirm who you are', 'read', 'write']);
    expect(kept).toEqual([]);
  });

  it('keeps only what this client was given, at this resource', async () => {
    const { asked, kept } = await consentPage(query(first, 'openid read write', A));
    expect(asked).toEqual(['write']);
    expect(kept).toEqual(['Confirm who you are', 'read']);
  });

  it('lists nothing as kept for another client of the same name', async () => {
    const { asked, kept } = await consentPage(query(namesake, 'openid read write', A));
    expect(asked).toEqual(['Confirm who you are', 'read', 'write']);
    expect(kept).toEqual([]);
  });
});
