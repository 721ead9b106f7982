/**
 * The refused-redirect page's `gatehouse-redirect-refusal` header and page, attacked: whoever
 * holds a client_id sends near misses of every kind the redirect policy refuses (letter case,
 * trailing slash, path, loopback host, a spa's exact port, a wildcard's label, the loopback host
 * policy, a client with nothing registered) and reads the answers. Outside development nothing
 * may tell a registration or even the kind of difference; in development the explainer is there.
 * A requested value with CR/LF and non-Latin-1 text cannot break the header (Node would throw).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateEnvironmentSettings } from '../src/index.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { pkce, startTestServer, type TestServer } from './support/server.js';

const HEADER = 'gatehouse-redirect-refusal';

interface Answer {
  status: number;
  header: { code: string; reason: string; detailed: boolean } | null;
  page: string;
  location: string | null;
}

describe('the refusal header and page under probing', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db);
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function authorize(
    environment: string,
    clientId: string,
    redirectUri: string,
  ): Promise<Answer> {
    const { challenge } = pkce();
    const query = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid',
      state: 'probe',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const response = await fetch(`${t.issuer(environment)}/authorize?${query.toString()}`, {
      redirect: 'manual',
      headers: { accept: 'text/html' },
    });
    const raw = response.headers.get(HEADER);
    return {
      status: response.status,
      header: raw === null ? null : (JSON.parse(raw) as Answer['header']),
      page: await response.text(),
      location: response.headers.get('location'),
    };
  }

  /** What a registration, or the way a request departs from one, could be told by. */
  const TELLTALES = [
    /closest/i,
    /trailing slash/i,
    /letter case/i,
    /different (path|host|port)/i,
    /wildcard/i,
    /loopback host (127|localhost|\[)/i,
    /registered (redirect URI )?is/i,
  ];

  function expectNothingTold(answer: Answer, registered: readonly string[]): void {
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
    expect(answer.header?.detailed).toBe(false);
    const said = `${JSON.stringify(answer.header)}\n${answer.page}`;
    for (const uri of registered) expect(said).not.toContain(uri);
    for (const telltale of TELLTALES) expect(said).not.toMatch(telltale);
  }

  it('outside development, near misses of every kind get one answer that names no registration', async () => {
    for (const environment of ['staging', 'production']) {
      const native = ['http://127.0.0.1/cli/done', 'http://[::1]/cli/done'];
      const web = ['https://app.example.com/auth/return'];
      const spa = ['https://spa.example.com:8443/app'];
      const clients = {
        native: await t.client({ environment, type: 'native', name: 'N', redirectUris: native }),
        web: await t.client({ environment, type: 'web', name: 'W', redirectUris: web }),
        spa: await t.client({ environment, type: 'spa', name: 'S', redirectUris: spa }),
      };
      const probes: [keyof typeof clients, string, readonly string[]][] = [
        ['native', 'http://127.0.0.1:5000/cli/done/', native], // trailing slash
        ['native', 'http://127.0.0.1:5000/CLI/done', native], // letter case
        ['native', 'http://localhost:5000/cli/done', native], // loopback host spelling
        ['native', 'http://127.0.0.1:5000/cli/don', native], // path
        ['native', 'http://127.0.0.1:05000/cli/done', native], // invalid port
        ['web', 'https://app.example.com/auth/return/', web],
        ['web', 'https://APP.example.com/auth/return', web],
        ['web', 'https://app.example.com:444/auth/return', web],
        ['web', 'https://app.example.com.evil.example/auth/return', web],
        ['web', 'https://app.example.com/auth/%72eturn', web], // encoding
        ['spa', 'https://spa.example.com:8444/app', spa], // a spa's port is exact
        ['spa', 'https://spa.example.com/app', spa],
      ];
      const headers = new Set<string>();
      const pages = new Set<string>();
      for (const [kind, probe, registered] of probes) {
        const answer = await authorize(environment, clients[kind].clientId, probe);
        expectNothingTold(answer, registered);
        expect(answer.header?.code).toBe('redirect_uri_mismatch');
        headers.add(JSON.stringify(answer.header));
        pages.add(answer.page);
      }
      // Not even the kind of difference: every near miss reads the same, header and page.
      expect(headers.size).toBe(1);
      expect(pages.size).toBe(1);
    }
  });

  it('a wildcard registration in staging: a bad label is answered like any other miss', async () => {
    const wildcard = ['https://*.preview.example.com/cb'];
    const client = await t.client({
      environment: 'staging',
      type: 'web',
      name: 'Previews',
      redirectUris: wildcard,
    });
    for (const probe of [
      'https://a.b.preview.example.com/cb',
      'https://*.preview.example.com/cb',
      'https://pr-1.preview.example.com/cb/',
      'https://PR1.preview.example.com/cb',
    ]) {
      const answer = await authorize('staging', client.clientId, probe);
      expectNothingTold(answer, [...wildcard, 'preview.example.com/cb ']);
      expect(answer.header?.code).toBe('redirect_uri_mismatch');
    }
  });

  it("the loopback policy's refusal says the policy, not the registration it would have matched", async () => {
    const registered = ['http://localhost/policy/return'];
    const client = await t.client({
      environment: 'staging',
      type: 'native',
      name: 'Before the policy',
      redirectUris: registered,
    });
    await updateEnvironmentSettings(t.ctx, 'staging', { loopbackHosts: ['127.0.0.1', '[::1]'] });
    try {
      const answer = await authorize('staging', client.clientId, 'http://localhost:6000/x');
      expect(answer.header?.code).toBe('loopback_host_not_allowed');
      expectNothingTold(answer, registered);
      const exact = await authorize(
        'staging',
        client.clientId,
        'http://localhost:6000/policy/return',
      );
      expect(exact.header).toEqual(answer.header);
      expectNothingTold(exact, registered);
    } finally {
      await updateEnvironmentSettings(t.ctx, 'staging', { loopbackHosts: null });
    }
  });

  it('development explains; a requested value with CR, LF and non-Latin-1 text cannot break the header', async () => {
    const registered = ['http://127.0.0.1/dev/done'];
    const client = await t.client({ type: 'native', name: 'Dev', redirectUris: registered });
    const near = await authorize('development', client.clientId, 'http://127.0.0.1:7000/dev/done/');
    expect(near.header).toMatchObject({ code: 'redirect_uri_mismatch', detailed: true });
    expect(near.header?.reason).toContain('the closest is http://127.0.0.1/dev/done');
    for (const hostile of [
      'http://127.0.0.1:7000/dev/done\r\nSet-Cookie: a=b',
      'http://127.0.0.1:7000/dév/done\u2028',
      'http://ｌocalhost:7000/dev/done',
    ]) {
      const answer = await authorize('development', client.clientId, hostile);
      expect(answer.status).toBe(400);
      expect(answer.header?.code).toBe('redirect_uri_mismatch');
      expect(answer.page).not.toContain('Set-Cookie: a=b\n');
      expect(answer.header?.reason).toContain('the closest is http://127.0.0.1/dev/done');
    }
    // A NUL is refused before the redirect policy is asked: a page, never a 500 or a redirect.
    const nul = await authorize('development', client.clientId, 'http://127.0.0.1:7000/\u0000');
    expect(nul.status).toBe(400);
    expect(nul.location).toBeNull();
  });
});
