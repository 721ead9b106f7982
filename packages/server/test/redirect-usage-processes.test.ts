/**
 * Issue #18, "the inventory after a scripted history ... across two server processes on
 * PostgreSQL". Two real `gatehouse serve` processes on one database behind one public URL; URIs
 * registered through every channel (the admin API the console uses, the CLI, the declarative
 * file, RFC 7591 dynamic registration, a Client ID Metadata Document, promotion); sign-ins and a
 * sign-out spread over both processes; refusals; an expiry. Each process counts in memory and
 * adds its counts when it stops (SIGTERM): the inventory's rows must then say, for each URI, how
 * it was registered, by whom and when, when it was last used, and the requests and uses of both
 * processes summed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGatehouse } from '../src/bootstrap.js';
import { runHousekeeping } from '../src/services/housekeeping.js';
import type { RedirectRegistration } from '../src/storage/redirect-registrations.js';
import { AdminSession } from './support/admin.js';
import { throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import { Browser, codeFrom, codeRequest } from './support/oauth.js';
import { dataLocation, Deployment, type GatehouseProcess } from './support/processes.js';
import { FormBrowser } from './support/server.js';

const PASSWORD = 'correct horse battery';
const OPERATOR_PASSWORD = 'operator pass phrase 1';
const CLI_LOOPBACK = 'http://127.0.0.1/callback';
const CONSOLE_CB = 'https://console-app.example.com/cb';
const CONSOLE_BYE = 'https://console-app.example.com/signed-out';
const REVIEW_CB = 'https://review-42.console-app.example.com/cb';
const DECLARED = 'http://127.0.0.1/declared';
const DYNAMIC = 'http://127.0.0.1/dynamic';
const AGENT = 'http://127.0.0.1/agent';

/** A span of time an event happened in: the test's clock before and after it. */
interface Span {
  readonly from: number;
  readonly to: number;
}

async function during<T>(work: () => Promise<T>): Promise<{ value: T; span: Span }> {
  const from = Date.now();
  const value = await work();
  return { value, span: { from, to: Date.now() } };
}

describe('the redirect inventory after a scripted history on two processes (PostgreSQL)', () => {
  let database: ThrowawayDatabase | undefined;
  let deployment: Deployment | undefined;
  let documents: Server | undefined;
  let a: GatehouseProcess;
  let b: GatehouseProcess;

  const cli = () => {
    if (deployment === undefined) throw new Error('no deployment');
    return deployment;
  };

  /** The inventory rows of `environment`, read as an admin command reads them. */
  async function inventory(environment: string): Promise<Map<string, RedirectRegistration>> {
    if (database?.target.kind !== 'postgres') throw new Error('no database');
    const opened = await openGatehouse({ kind: 'postgres', url: database.target.url });
    try {
      const rows = await opened.stores.redirectRegistrations.list(environment);
      return new Map(rows.map((r) => [`${r.clientId} ${r.kind} ${r.uri}`, r]));
    } finally {
      await opened.handle.close();
    }
  }

  beforeAll(async () => {
    database = await throwawayPostgres();
    deployment = await Deployment.create(dataLocation(database));
    a = await deployment.start('A');
    b = await deployment.start('B');
  }, 60_000);
  afterAll(async () => {
    await deployment?.stopAll();
    await new Promise<void>((resolve) => {
      if (documents === undefined) resolve();
      else
        documents.close(() => {
          resolve();
        });
    });
    await database?.drop();
  });

  it('registers through every channel, signs in on both, and the rows say it all', async () => {
    // --- Registrations, one channel each. ---
    await cli().cliJson(
      [
        'users',
        'create',
        '--env',
        'development',
        '--email',
        'alice@example.com',
        '--password-stdin',
      ],
      `${PASSWORD}\n`,
    );

    const viaCli = await during(() =>
      cli().cliJson<{ client_id: string }>([
        'clients',
        'create',
        '--env',
        'development',
        '--type',
        'native',
        '--name',
        'Registered by CLI',
        '--redirect-uri',
        CLI_LOOPBACK,
      ]),
    );
    const cliClient = viaCli.value.client_id;

    const operator = await cli().cliJson<{ id: string }>(
      ['operators', 'create', '--email', 'ops@example.com', '--role', 'admin', '--password-stdin'],
      `${OPERATOR_PASSWORD}\n`,
    );
    const consoleApi = new AdminSession(a.url);
    expect((await consoleApi.signIn('ops@example.com', OPERATOR_PASSWORD)).status).toBe(200);
    const viaConsole = await during(() =>
      consoleApi.call('POST', '/environments/development/clients', {
        name: 'Registered in the console',
        type: 'web',
        redirectUris: [CONSOLE_CB],
        postLogoutRedirectUris: [CONSOLE_BYE],
      }),
    );
    expect(viaConsole.value.status).toBe(201);
    const consoleClient = (viaConsole.value.body.client as { clientId: string }).clientId;
    // A review app's URI, for half an hour (it expires below).
    const viaConsoleReview = await during(() =>
      consoleApi.call('POST', `/environments/development/clients/${consoleClient}/redirect-uris`, {
        uri: REVIEW_CB,
        expiresIn: '30m',
      }),
    );
    expect(viaConsoleReview.value.status).toBe(201);

    const file = join(tmpdir(), `gatehouse-inventory-${process.pid}-${Date.now()}.json`);
    await writeFile(
      file,
      JSON.stringify({
        version: 1,
        clients: [
          {
            key: 'kiosk',
            name: 'Declared kiosk',
            type: 'native',
            environments: { development: { redirectUris: [DECLARED] } },
          },
        ],
      }),
    );
    const viaFile = await during(() =>
      cli().cliJson<{ applied: { clientId: string }[] }>(['apply', '-f', file]),
    );
    const declaredClient = viaFile.value.applied[0]?.clientId ?? '';

    await cli().cliJson(['env', 'settings', 'development', '--refresh-grace', '0']);
    expect((await cli().cli(['registration', 'policy', 'open', '--env', 'development'])).code).toBe(
      0,
    );
    const viaRegistration = await during(async () => {
      const response = await fetch(`${b.url}/e/development/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'Registered itself',
          application_type: 'native',
          redirect_uris: [DYNAMIC],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
        }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { client_id: string }).client_id;
    });
    const dynamicClient = viaRegistration.value;

    // A Client ID Metadata Document on loopback (development allows it when told to).
    let base = '';
    documents = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          client_id: `${base}${request.url ?? ''}`,
          client_name: 'Describes itself',
          redirect_uris: [AGENT],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'none',
        }),
      );
    });
    await new Promise<void>((resolve) => documents?.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(documents.address() as AddressInfo).port}`;
    const documentClient = `${base}/agent.json`;
    for (const argv of [
      ['registration', 'documents', 'allow', '--env', 'development'],
      ['registration', 'loopback-documents', 'allow', '--env', 'development'],
    ])
      expect((await cli().cli(argv)).code).toBe(0);

    const viaPromotion = await during(() =>
      cli().cliJson<{ client: { client_id: string } }>([
        'clients',
        'promote',
        '--from',
        'development',
        '--to',
        'staging',
        '--client',
        consoleClient,
      ]),
    );
    const promotedClient = viaPromotion.value.client.client_id;

    // --- Sign-ins over both processes, refusals, a sign-out. ---
    const alice = new Browser(a.url);
    const signIn = async (at: GatehouseProcess, clientId: string, redirectUri: string) => {
      const request = codeRequest(clientId, redirectUri, 'openid');
      const location = await alice
        .on(at.url)
        .authorize(request.query, 'alice@example.com', PASSWORD);
      expect(codeFrom(location).state).toBe(request.state);
      return location;
    };
    const last: Record<string, Span> = {};
    const used = async (key: string, work: () => Promise<unknown>) => {
      last[key] = (await during(work)).span;
    };
    // The CLI's loopback entry, on three ports of the moment, on both processes.
    await used(CLI_LOOPBACK, () => signIn(a, cliClient, 'http://127.0.0.1:51001/callback'));
    await used(CLI_LOOPBACK, () => signIn(b, cliClient, 'http://127.0.0.1:51002/callback'));
    await used(CLI_LOOPBACK, () => signIn(a, cliClient, 'http://127.0.0.1:51003/callback'));
    // Matched, then refused for the missing PKCE challenge: a request, not a use.
    const noPkce = { ...codeRequest(cliClient, 'http://127.0.0.1:51004/callback').query };
    delete noPkce.code_challenge;
    delete noPkce.code_challenge_method;
    const sentBack = await alice.on(b.url).get(alice.authorizePath(noPkce));
    expect(sentBack.headers.get('location')).toMatch(
      /^http:\/\/127\.0\.0\.1:51004\/callback\?error=/,
    );
    // Refused: not registered. Counted for nothing (the refusals table has them).
    for (const [at, clientId, uri] of [
      [a, cliClient, 'http://127.0.0.1:51005/elsewhere'],
      [b, consoleClient, 'https://console-app.example.com/cb/other'],
      [a, declaredClient, 'http://localhost/declared'],
    ] as const) {
      const refused = await alice
        .on(at.url)
        .get(alice.authorizePath(codeRequest(clientId, uri).query));
      expect(refused.status).toBe(400);
    }
    await used(CONSOLE_CB, () => signIn(b, consoleClient, CONSOLE_CB));
    await used(CONSOLE_CB, () => signIn(a, consoleClient, CONSOLE_CB));
    await used(REVIEW_CB, () => signIn(a, consoleClient, REVIEW_CB));
    await used(DECLARED, () => signIn(b, declaredClient, 'http://127.0.0.1:52001/declared'));
    await used(DYNAMIC, () => signIn(a, dynamicClient, 'http://127.0.0.1:52002/dynamic'));
    // The document is fetched by B at this first request: that is when it is registered.
    const viaDocument = await during(() =>
      signIn(b, documentClient, 'http://127.0.0.1:52003/agent'),
    );
    last[AGENT] = viaDocument.span;
    // A sign-out returning to the console client's post-logout URI (asked on B, confirmed on A);
    // one to an address it never registered is refused.
    const refusedLogout = await alice
      .on(b.url)
      .get(
        `/e/development/logout?${new URLSearchParams({ client_id: consoleClient, post_logout_redirect_uri: 'https://evil.example.com/' }).toString()}`,
      );
    expect(refusedLogout.status).toBe(400);
    await used(CONSOLE_BYE, async () => {
      const asked = await alice
        .on(b.url)
        .get(
          `/e/development/logout?${new URLSearchParams({ client_id: consoleClient, post_logout_redirect_uri: CONSOLE_BYE }).toString()}`,
        );
      expect(asked.status).toBe(200);
      const confirmed = await alice.on(a.url).post('/e/development/logout/confirm', {
        _csrf: FormBrowser.csrf(await asked.text()),
        client_id: consoleClient,
        post_logout_redirect_uri: CONSOLE_BYE,
        decision: 'logout',
      });
      expect(confirmed.headers.get('location')).toBe(CONSOLE_BYE);
    });

    // --- Both processes stop (SIGTERM): each adds what it counted. ---
    expect(await a.stop()).toEqual({ code: 0, signal: null });
    expect(await b.stop()).toEqual({ code: 0, signal: null });

    const development = await inventory('development');
    const row = (clientId: string, uri: string, kind = 'redirect') => {
      const found = development.get(`${clientId} ${kind} ${uri}`);
      if (found === undefined)
        throw new Error(
          `no row for ${clientId} ${kind} ${uri}: ${[...development.keys()].join(', ')}`,
        );
      return found;
    };
    const within = (value: number | null, span: Span | undefined) => {
      expect(span).toBeDefined();
      expect(value).not.toBeNull();
      expect(value).toBeGreaterThanOrEqual(span?.from ?? Infinity);
      expect(value).toBeLessThanOrEqual(span?.to ?? -Infinity);
    };
    const expectRow = (
      found: RedirectRegistration,
      expected: {
        channel: string;
        registeredBy: string | null;
        registered: Span;
        requests: number;
        uses: number;
        lastUse: Span | undefined;
      },
    ) => {
      expect({
        channel: found.channel,
        registeredBy: found.registeredBy,
        requests: found.requestCount,
        uses: found.useCount,
      }).toEqual({
        channel: expected.channel,
        registeredBy: expected.registeredBy,
        requests: expected.requests,
        uses: expected.uses,
      });
      within(found.registeredAt, expected.registered);
      if (expected.lastUse === undefined) expect(found.lastUsedAt).toBeNull();
      else within(found.lastUsedAt, expected.lastUse);
    };

    // Requests and uses on A and on B, summed: 3 + 1 matched requests, 3 codes.
    expectRow(row(cliClient, CLI_LOOPBACK), {
      channel: 'cli',
      registeredBy: 'admin:cli',
      registered: viaCli.span,
      requests: 4,
      uses: 3,
      lastUse: last[CLI_LOOPBACK],
    });
    expectRow(row(consoleClient, CONSOLE_CB), {
      channel: 'console',
      registeredBy: `operator:${operator.id}`,
      registered: viaConsole.span,
      requests: 2,
      uses: 2,
      lastUse: last[CONSOLE_CB],
    });
    expectRow(row(consoleClient, REVIEW_CB), {
      channel: 'console',
      registeredBy: `operator:${operator.id}`,
      registered: viaConsoleReview.span,
      requests: 1,
      uses: 1,
      lastUse: last[REVIEW_CB],
    });
    expectRow(row(consoleClient, CONSOLE_BYE, 'post_logout'), {
      channel: 'console',
      registeredBy: `operator:${operator.id}`,
      registered: viaConsole.span,
      requests: 1,
      uses: 1,
      lastUse: last[CONSOLE_BYE],
    });
    expectRow(row(declaredClient, DECLARED), {
      channel: 'declarative',
      registeredBy: 'admin:cli',
      registered: viaFile.span,
      requests: 1,
      uses: 1,
      lastUse: last[DECLARED],
    });
    expectRow(row(dynamicClient, DYNAMIC), {
      channel: 'dynamic',
      registeredBy: 'anonymous',
      registered: viaRegistration.span,
      requests: 1,
      uses: 1,
      lastUse: last[DYNAMIC],
    });
    expectRow(row(documentClient, AGENT), {
      channel: 'metadata_document',
      registeredBy: 'system',
      registered: viaDocument.span,
      requests: 1,
      uses: 1,
      lastUse: last[AGENT],
    });
    // The demo client of the first start, and nothing else: no URI entered without provenance.
    const others = [...development.values()].filter(
      (r) =>
        ![cliClient, consoleClient, declaredClient, dynamicClient, documentClient].includes(
          r.clientId,
        ),
    );
    expect(others.map((r) => [r.uri, r.channel, r.registeredBy, r.useCount])).toEqual([
      ['http://127.0.0.1/callback', 'system', 'system', 0],
    ]);
    expect([...development.values()].filter((r) => r.channel === 'unknown')).toEqual([]);

    const staging = await inventory('staging');
    expect(
      [...staging.values()].map((r) => ({
        clientId: r.clientId,
        kind: r.kind,
        uri: r.uri,
        channel: r.channel,
        registeredBy: r.registeredBy,
        uses: r.useCount,
        requests: r.requestCount,
      })),
    ).toEqual(
      expect.arrayContaining([
        {
          clientId: promotedClient,
          kind: 'redirect',
          uri: CONSOLE_CB,
          channel: 'promotion',
          registeredBy: 'admin:cli',
          uses: 0,
          requests: 0,
        },
      ]),
    );
    for (const r of staging.values()) {
      expect(r.channel).toBe('promotion');
      within(r.registeredAt, viaPromotion.span);
    }
    // The temporary URI is not promoted (services/promote.ts skips expiring ones).
    expect([...staging.values()].map((r) => r.uri)).not.toContain(REVIEW_CB);

    // --- The review app's half hour passes. ---
    if (database?.target.kind !== 'postgres') throw new Error('no database');
    const opened = await openGatehouse({ kind: 'postgres', url: database.target.url });
    try {
      const past = Date.now() - 1;
      await opened.stores.clients.update(
        'development',
        consoleClient,
        { redirectUriExpiries: { [REVIEW_CB]: past } },
        past,
      );
      // Until housekeeping removes it, the row keeps its history; it stops matching at once.
      expect((await inventory('development')).has(`${consoleClient} redirect ${REVIEW_CB}`)).toBe(
        true,
      );
      const c = await cli().start('C');
      const refused = await new Browser(c.url).get(
        new Browser(c.url).authorizePath(codeRequest(consoleClient, REVIEW_CB).query),
      );
      expect(refused.status).toBe(400);
      expect(await c.stop()).toEqual({ code: 0, signal: null });
      await runHousekeeping({ stores: opened.stores, clock: Date.now, actor: 'system' });
    } finally {
      await opened.handle.close();
    }
    const afterExpiry = await inventory('development');
    expect(afterExpiry.has(`${consoleClient} redirect ${REVIEW_CB}`)).toBe(false);
    // The refused request at C counted for nothing; the rest is as it was.
    expect(afterExpiry.size).toBe(development.size - 1);
    for (const [key, r] of afterExpiry) expect(r).toEqual(development.get(key));
  }, 180_000);
});
