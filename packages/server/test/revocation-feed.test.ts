/**
 * The revocation feed (GET /e/:env/revocations): only the client linked to a registered resource
 * of the environment reads it, with HTTP Basic; it pages by cursor; the metadata advertises it.
 * And the link itself: only a confidential client of the same environment may be a resource's.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevocationKind } from '../src/storage/revocation-events.js';
import { operatorSession, type AdminSession } from './support/admin.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const API = 'https://api.example.com/';
const STAGING_API = 'https://api.staging.example.com/';
const EVENT_TTL_MS = 660_000;

interface Credentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

interface FeedAnswer {
  readonly status: number;
  readonly cacheControl: string | null;
  readonly challenge: string | null;
  readonly body: {
    events?: {
      seq: number;
      kind: string;
      key: string;
      issued_before: number;
      expires_at: number;
    }[];
    next?: number;
    more?: boolean;
    error?: string;
    error_description?: string;
  };
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe.each(DATABASES)('revocation feed on $kind', ({ create }) => {
  let database: ThrowawayDatabase;
  let t: TestServer;
  let admin: AdminSession;
  let resourceClient: Credentials;
  let otherConfidential: Credentials;
  let publicClientId: string;
  let stagingResourceClient: Credentials;
  /** The development events, as appended, in seq order. */
  const appended: { seq: number; kind: string; key: string }[] = [];

  const confidential = async (environment = 'development'): Promise<Credentials> => {
    const { clientId, clientSecret } = await t.client({
      environment,
      type: 'web',
      name: 'Resource server',
      redirectUris: [],
      grantTypes: ['client_credentials'],
    });
    if (clientSecret === undefined) throw new Error('a web client has a secret');
    return { clientId, clientSecret };
  };

  const feed = async (
    query = '',
    authorization?: string,
    environment = 'development',
  ): Promise<FeedAnswer> => {
    const response = await fetch(`${t.issuer(environment)}/revocations${query}`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    return {
      status: response.status,
      cacheControl: response.headers.get('cache-control'),
      challenge: response.headers.get('www-authenticate'),
      body: (await response.json()) as FeedAnswer['body'],
    };
  };
  const asResource = (query = '') =>
    feed(query, basic(resourceClient.clientId, resourceClient.clientSecret));

  const resourcesOf = async (environment: string) =>
    (await admin.call('GET', `/environments/${environment}/resources`)).body.resources as {
      uri: string;
      clientId: string | null;
    }[];

  const append = async (environment: string, kind: RevocationKind, key: string) => {
    const now = Date.now();
    return t.ctx.stores.revocationEvents.append({
      environment,
      kind,
      key,
      issuedBefore: now,
      expiresAt: now + EVENT_TTL_MS,
      createdAt: now,
    });
  };

  beforeAll(async () => {
    database = await create();
    t = await startTestServer(database);
    ({ session: admin } = await operatorSession(t, 'olga@ops.example', 'admin'));
    resourceClient = await confidential();
    otherConfidential = await confidential();
    publicClientId = (
      await t.client({
        type: 'native',
        name: 'CLI',
        redirectUris: ['http://127.0.0.1/callback'],
      })
    ).clientId;
    stagingResourceClient = await confidential('staging');
    for (const [environment, uri, clientId] of [
      ['development', API, resourceClient.clientId],
      ['staging', STAGING_API, stagingResourceClient.clientId],
    ] as const) {
      const created = await admin.call('POST', `/environments/${environment}/resources`, {
        uri,
        name: 'API',
        scopes: ['read'],
        clientId,
      });
      expect(created.status).toBe(201);
      expect(created.body.resource).toMatchObject({ uri, clientId });
    }
    // Interleaved with another environment's events: the feed shows only its own.
    const kinds: RevocationKind[] = ['token', 'grant', 'user', 'client', 'impersonation'];
    for (const [i, kind] of kinds.entries()) {
      const event = await append('development', kind, `${kind}-key-${i}`);
      appended.push({ seq: event.seq, kind, key: event.key });
      await append('staging', 'grant', `staging-grant-${i}`);
    }
  });
  afterAll(async () => {
    await t.close();
    await database.drop();
  });

  it('is advertised in the environment metadata (RFC 8414 and OIDC Discovery)', async () => {
    for (const path of [
      `/.well-known/oauth-authorization-server/e/development`,
      `/e/development/.well-known/openid-configuration`,
    ]) {
      const metadata = (await (await fetch(`${t.url}${path}`)).json()) as Record<string, unknown>;
      expect(metadata.revocation_feed_endpoint).toBe(`${t.issuer('development')}/revocations`);
    }
  });

  it('gives the linked client the events in seq order, times in seconds, not cached', async () => {
    const answer = await asResource('?after=0');
    expect(answer.status).toBe(200);
    expect(answer.cacheControl).toBe('no-store');
    const events = answer.body.events ?? [];
    expect(events.map(({ seq, kind, key }) => ({ seq, kind, key }))).toEqual(appended);
    for (const event of events) {
      // NumericDate seconds (RFC 7519 §2), like the tokens' iat the reader compares them with.
      expect(event.issued_before).toBeLessThan(10_000_000_000);
      expect(event.expires_at - event.issued_before).toBeGreaterThanOrEqual(EVENT_TTL_MS / 1000);
    }
    expect(answer.body).toMatchObject({ next: appended.at(-1)?.seq, more: false });
    // Without `after`, from the start.
    expect((await asResource()).body.events).toEqual(events);
  });

  it('pages with limit, next and more; after the end it is empty', async () => {
    const seen: number[] = [];
    let after = 0;
    const pages: boolean[] = [];
    for (;;) {
      const page = await asResource(`?after=${after}&limit=2`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.events ?? []).map((e) => e.seq));
      pages.push(page.body.more ?? false);
      after = page.body.next ?? -1;
      if (page.body.more !== true) break;
    }
    expect(seen).toEqual(appended.map((e) => e.seq));
    expect(pages).toEqual([true, true, false]);

    const last = appended.at(-1)?.seq ?? 0;
    for (const beyond of [last, last + 1000]) {
      const empty = await asResource(`?after=${beyond}`);
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ events: [], next: beyond, more: false });
    }
    // A limit that the remaining events fill exactly says more; the next page is empty.
    const exact = await asResource(`?after=${appended.at(-3)?.seq ?? 0}&limit=2`);
    expect(exact.body).toMatchObject({ next: last, more: true });
    expect((await asResource(`?after=${last}&limit=2`)).body.events).toEqual([]);
  });

  it('refuses a bad after or limit with invalid_request', async () => {
    for (const query of [
      '?after=-1',
      '?after=abc',
      '?after=1.5',
      '?after=1e3',
      '?after=0x10',
      '?after=',
      '?after=99999999999999999',
      '?after=1&after=2',
      '?limit=0',
      '?limit=10001',
      '?limit=ten',
      '?limit=-5',
    ]) {
      const answer = await asResource(query);
      expect({ query, status: answer.status, error: answer.body.error }).toEqual({
        query,
        status: 400,
        error: 'invalid_request',
      });
      expect(answer.body.events).toBeUndefined();
    }
    expect((await asResource('?limit=10000')).status).toBe(200);
  });

  it('refuses everyone else, with no events', async () => {
    const wrongSecret = `${resourceClient.clientSecret.slice(0, -4)}AAAA`;
    const refusals: [string, FeedAnswer, number, string][] = [
      ['unauthenticated', await feed('?after=0'), 401, 'invalid_client'],
      [
        'a wrong secret',
        await feed('?after=0', basic(resourceClient.clientId, wrongSecret)),
        401,
        'invalid_client',
      ],
      [
        'credentials in the query',
        await feed(
          `?after=0&client_id=${encodeURIComponent(resourceClient.clientId)}&client_secret=${encodeURIComponent(resourceClient.clientSecret)}`,
        ),
        401,
        'invalid_client',
      ],
      ['a public client', await feed('?after=0', basic(publicClientId, '')), 401, 'invalid_client'],
      [
        'a confidential client that is no resource’s',
        await feed('?after=0', basic(otherConfidential.clientId, otherConfidential.clientSecret)),
        403,
        'access_denied',
      ],
      [
        'the resource client of another environment',
        await feed(
          '?after=0',
          basic(stagingResourceClient.clientId, stagingResourceClient.clientSecret),
        ),
        401,
        'invalid_client',
      ],
    ];
    for (const [who, answer, status, error] of refusals) {
      expect({ who, status: answer.status, error: answer.body.error }).toEqual({
        who,
        status,
        error,
      });
      expect(answer.body.events).toBeUndefined();
    }
    // RFC 6749 §5.2: a client that tried Basic is told so in the challenge.
    expect(refusals[1]?.[1].challenge).toMatch(/^Basic /);
  });

  it("gives another environment's resource client that environment's events only", async () => {
    const answer = await feed(
      '?after=0',
      basic(stagingResourceClient.clientId, stagingResourceClient.clientSecret),
      'staging',
    );
    expect(answer.status).toBe(200);
    const keys = (answer.body.events ?? []).map((e) => e.key);
    expect(keys).toHaveLength(5);
    expect(keys.every((key) => key.startsWith('staging-grant-'))).toBe(true);
  });

  it('links only a confidential client of the same environment; a refusal changes nothing', async () => {
    const patch = (clientId: string | null, uri = API) =>
      admin.call('PATCH', `/environments/development/resources?uri=${encodeURIComponent(uri)}`, {
        clientId,
      });
    const auditCount = async () =>
      (await admin.call('GET', '/audit?type=resource.client_changed&limit=100')).body
        .entries as unknown[];
    const before = (await auditCount()).length;
    const refusals = [
      [await patch('cl_nobody'), 404, 'unknown_client', 'no client cl_nobody'],
      [await patch(publicClientId), 400, 'public_resource_client', 'must be confidential'],
      [
        await patch(stagingResourceClient.clientId),
        404,
        'unknown_client',
        'belongs to the staging environment',
      ],
      [
        await admin.call('POST', '/environments/development/resources', {
          uri: 'https://other.example.com/',
          name: 'Other',
          clientId: publicClientId,
        }),
        400,
        'public_resource_client',
        'must be confidential',
      ],
      [
        await patch(resourceClient.clientId, 'https://nowhere.example.com/'),
        404,
        'unknown_resource',
        'no resource',
      ],
    ] as const;
    for (const [reply, status, error, message] of refusals) {
      expect(reply.status).toBe(status);
      expect(reply.body.error).toBe(error);
      expect(reply.body.message).toContain(message);
    }
    expect(await resourcesOf('development')).toEqual([
      expect.objectContaining({ uri: API, clientId: resourceClient.clientId }),
    ]);
    expect((await auditCount()).length).toBe(before);

    // Unlinked, the client can no longer read the feed; linked to another, that one can.
    const unlinked = await patch(null);
    expect(unlinked.status).toBe(200);
    expect(unlinked.body.resource).toMatchObject({ uri: API, clientId: null });
    expect((await asResource()).status).toBe(403);
    expect((await patch(otherConfidential.clientId)).status).toBe(200);
    expect(
      (await feed('', basic(otherConfidential.clientId, otherConfidential.clientSecret))).status,
    ).toBe(200);
    expect((await asResource()).status).toBe(403);
    expect((await patch(resourceClient.clientId)).status).toBe(200);
    expect((await asResource()).status).toBe(200);

    const entries = (await auditCount()) as { data: unknown; actor: string }[];
    expect(entries.length).toBe(before + 3);
    expect(entries.map((e) => e.data)).toEqual(
      expect.arrayContaining([
        { uri: API, clientId: null, previousClientId: resourceClient.clientId },
        { uri: API, clientId: otherConfidential.clientId, previousClientId: null },
        {
          uri: API,
          clientId: resourceClient.clientId,
          previousClientId: otherConfidential.clientId,
        },
      ]),
    );
  });

  it('carries a revocation made at the revocation endpoint (RFC 7009) as a token event', async () => {
    const last = (await asResource('?limit=10000')).body.next ?? 0;
    const authorization = basic(otherConfidential.clientId, otherConfidential.clientSecret);
    const issued = await fetch(`${t.issuer('development')}/token`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'read' }),
    });
    expect(issued.status).toBe(200);
    const { access_token: token } = (await issued.json()) as { access_token: string };
    const revoked = await fetch(`${t.issuer('development')}/revoke`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    expect(revoked.status).toBe(200);
    const { jti, iat } = decodeJwt(token);
    const answer = await asResource(`?after=${last}`);
    expect(answer.body.events).toEqual([
      {
        seq: expect.any(Number) as number,
        kind: 'token',
        key: jti,
        issued_before: expect.any(Number) as number,
        expires_at: expect.any(Number) as number,
      },
    ]);
    // The rule a reader applies: the token's iat is at most issued_before.
    expect(iat).toBeLessThanOrEqual(answer.body.events?.[0]?.issued_before ?? 0);
  });

  it('unlinks a deleted client from the resources it served, audited; it reads nothing more', async () => {
    const doomed = await confidential();
    const uri = 'https://doomed.example.com/';
    const created = await admin.call('POST', '/environments/development/resources', {
      uri,
      name: 'Doomed API',
      clientId: doomed.clientId,
    });
    expect(created.status).toBe(201);
    expect((await feed('', basic(doomed.clientId, doomed.clientSecret))).status).toBe(200);

    const deleted = await admin.call(
      'DELETE',
      `/environments/development/clients/${doomed.clientId}`,
    );
    expect(deleted.status).toBeLessThan(300);
    expect((await resourcesOf('development')).find((r) => r.uri === uri)).toMatchObject({
      clientId: null,
    });
    const entries = (await admin.call('GET', '/audit?type=resource.client_changed&limit=100')).body
      .entries as { data: unknown }[];
    expect(entries.map((e) => e.data)).toContainEqual({
      uri,
      clientId: null,
      previousClientId: doomed.clientId,
    });
    expect((await feed('', basic(doomed.clientId, doomed.clientSecret))).status).toBe(401);
  });
});
