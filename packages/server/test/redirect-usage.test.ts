/**
 * Issue #18: the inventory's last use and counts are recorded without a write per request. A
 * process counts in memory per registered URI (services/redirect-usage.ts) and adds its counts
 * to `redirect_registrations` in one batch: on an interval, when it holds many entries, at
 * shutdown. Here: the counter over the real store (batches, a failed flush, the size trigger, the
 * interval and close, two counters adding at once on PostgreSQL), then the figures after a load
 * through a real server: N authorizations, nothing in the rows until the flush, exactly N after.
 */
import { dirname } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openGatehouse } from '../src/bootstrap.js';
import type { ServerConfig } from '../src/config.js';
import { createClient, updateClient } from '../src/services/clients.js';
import type { ServiceContext } from '../src/services/context.js';
import { ensureDefaultEnvironments } from '../src/services/environments.js';
import { RedirectUsage, type RegisteredEntry } from '../src/services/redirect-usage.js';
import type {
  RedirectRegistration,
  RedirectUsageDelta,
} from '../src/storage/redirect-registrations.js';
import {
  DATABASES,
  throwawayPostgres,
  throwawaySqlite,
  type ThrowawayDatabase,
} from './support/databases.js';
import { codeFrom, codeRequest } from './support/oauth.js';
import {
  FormBrowser,
  startTestServer,
  TEST_SECRET_KEY,
  type TestServer,
} from './support/server.js';

const LOOPBACK = 'http://127.0.0.1/callback';
const WEB = 'https://app.example.com/cb';

function databaseOf(database: ThrowawayDatabase): ServerConfig['database'] {
  const target = database.target;
  return target.kind === 'postgres'
    ? { kind: 'postgres', url: target.url }
    : { kind: 'sqlite', dataDir: dirname(target.file) };
}

/** The data layer of `database`, as an admin command opens it. */
function open(database: ThrowawayDatabase) {
  return openGatehouse(
    databaseOf(database),
    database.target.kind === 'postgres' ? { value: TEST_SECRET_KEY } : undefined,
  );
}

/**
 * Runs `scenario` on a server of its own and shuts the server down however it ends: the
 * shutdown is what flushes the usage counter.
 */
async function served<T>(
  database: ThrowawayDatabase,
  options: Parameters<typeof startTestServer>[1],
  scenario: (t: TestServer) => Promise<T>,
): Promise<T> {
  const t = await startTestServer(database, options);
  try {
    return await scenario(t);
  } finally {
    await t.close();
  }
}

/** The registrations of each of `clientIds` in development, as an admin command reads them. */
async function registrationsOf(
  database: ThrowawayDatabase,
  ...clientIds: string[]
): Promise<RedirectRegistration[][]> {
  const reopened = await open(database);
  try {
    const lists: RedirectRegistration[][] = [];
    for (const clientId of clientIds) {
      lists.push(await reopened.stores.redirectRegistrations.listClient('development', clientId));
    }
    return lists;
  } finally {
    await reopened.handle.close();
  }
}

/** A client with a loopback and an https redirect URI in development, on a fresh database. */
async function seeded(database: ThrowawayDatabase) {
  const opened = await open(database);
  const ctx: ServiceContext = { stores: opened.stores, clock: Date.now, actor: 'admin:test' };
  await ensureDefaultEnvironments(ctx);
  const { client } = await createClient(ctx, {
    environment: 'development',
    type: 'native',
    name: 'Counted',
    redirectUris: [LOOPBACK, WEB],
  });
  const entry = (uri: string): RegisteredEntry => ({
    environment: 'development',
    clientId: client.clientId,
    kind: 'redirect',
    uri,
  });
  const rows = async () =>
    Object.fromEntries(
      (await opened.stores.redirectRegistrations.listClient('development', client.clientId)).map(
        (r) => [r.uri, { requests: r.requestCount, uses: r.useCount, lastUsedAt: r.lastUsedAt }],
      ),
    );
  return { opened, ctx, client, entry, rows };
}

const untouched = { requests: 0, uses: 0, lastUsedAt: null };

describe('the redirect usage counter over the real store (SQLite)', () => {
  let database: ThrowawayDatabase;
  let setup: Awaited<ReturnType<typeof seeded>>;
  /** Every batch handed to the store: one addUsage call is one flush. */
  let batches: RedirectUsageDelta[][];
  let failNext: number;

  const store = () => ({
    addUsage: async (deltas: readonly RedirectUsageDelta[]) => {
      if (failNext > 0) {
        failNext--;
        throw new Error('database unavailable');
      }
      batches.push([...deltas]);
      await setup.opened.stores.redirectRegistrations.addUsage(deltas);
    },
  });

  beforeAll(async () => {
    database = await throwawaySqlite();
    setup = await seeded(database);
  });
  afterAll(async () => {
    await setup.opened.handle.close();
    await database.drop();
  });

  it('counts in memory: the rows are unchanged until a flush adds one batch, one entry each', async () => {
    batches = [];
    failNext = 0;
    const usage = new RedirectUsage(store());
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 100; i++) usage.countRequest(setup.entry(LOOPBACK));
    for (let i = 0; i < 60; i++) usage.countUse(setup.entry(LOOPBACK), t0 + i);
    usage.countRequest(setup.entry(WEB));
    usage.countUse(setup.entry(WEB), t0 - 5);
    // 162 counts and not one write.
    expect(batches).toHaveLength(0);
    expect(await setup.rows()).toEqual({ [LOOPBACK]: untouched, [WEB]: untouched });
    expect(usage.pending).toBe(2);

    await usage.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(2);
    expect(await setup.rows()).toEqual({
      [LOOPBACK]: { requests: 100, uses: 60, lastUsedAt: t0 + 59 },
      [WEB]: { requests: 1, uses: 1, lastUsedAt: t0 - 5 },
    });
    // Nothing counted since: no write at all.
    await usage.flush();
    expect(batches).toHaveLength(1);

    // Added to, never overwritten; an earlier use does not move last use back.
    usage.countRequest(setup.entry(WEB));
    usage.countUse(setup.entry(WEB), t0 - 100);
    await usage.close();
    expect(batches).toHaveLength(2);
    expect((await setup.rows())[WEB]).toEqual({ requests: 2, uses: 2, lastUsedAt: t0 - 5 });
  });

  it('a failed flush neither throws nor loses counts: they go with the next one', async () => {
    batches = [];
    failNext = 1;
    const warnings: string[] = [];
    const before = (await setup.rows())[LOOPBACK];
    const usage = new RedirectUsage(store(), {
      warn: (message, error) => warnings.push(`${message}: ${String(error)}`),
    });
    for (let i = 0; i < 5; i++) usage.countRequest(setup.entry(LOOPBACK));
    usage.countUse(setup.entry(LOOPBACK), 1_800_000_000_000);
    await expect(usage.flush()).resolves.toBeUndefined();
    expect(batches).toHaveLength(0);
    expect(warnings).toHaveLength(1);
    // The log line says what failed, not which URI.
    expect(warnings[0]).not.toContain('127.0.0.1');
    expect((await setup.rows())[LOOPBACK]).toEqual(before);

    usage.countRequest(setup.entry(LOOPBACK));
    await usage.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(1);
    expect((await setup.rows())[LOOPBACK]).toEqual({
      requests: (before?.requests ?? 0) + 6,
      uses: (before?.uses ?? 0) + 1,
      lastUsedAt: 1_800_000_000_000,
    });
  });

  it('flushes by itself once it holds maxKeys entries, and on its interval', async () => {
    batches = [];
    failNext = 0;
    const bySize = new RedirectUsage(store(), { maxKeys: 2 });
    bySize.countRequest(setup.entry(LOOPBACK));
    bySize.countRequest(setup.entry(LOOPBACK));
    expect(batches).toHaveLength(0);
    bySize.countRequest(setup.entry(WEB));
    await vi.waitFor(() => {
      expect(batches).toHaveLength(1);
    });
    expect(bySize.pending).toBe(0);
    await bySize.close();
    expect(batches).toHaveLength(1);

    const byTime = new RedirectUsage(store(), { intervalMs: 25 });
    byTime.start();
    byTime.countUse(setup.entry(WEB), 1_900_000_000_000);
    await vi.waitFor(() => {
      expect(batches).toHaveLength(2);
    });
    expect((await setup.rows())[WEB]?.lastUsedAt).toBe(1_900_000_000_000);
    await byTime.close();
  });
});

describe('two counters flushing at once on one PostgreSQL add up', () => {
  let database: ThrowawayDatabase;
  let setup: Awaited<ReturnType<typeof seeded>>;
  let other: Awaited<ReturnType<typeof open>>;

  beforeAll(async () => {
    database = await throwawayPostgres();
    setup = await seeded(database);
    // A second pool, as a second process has.
    other = await open(database);
  });
  afterAll(async () => {
    await other.handle.close();
    await setup.opened.handle.close();
    await database.drop();
  });

  it('each adds its own counts; last use is the later of the two', async () => {
    const a = new RedirectUsage(setup.opened.stores.redirectRegistrations);
    const b = new RedirectUsage(other.stores.redirectRegistrations);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 40; i++) {
        a.countRequest(setup.entry(LOOPBACK));
        b.countRequest(setup.entry(LOOPBACK));
      }
      a.countUse(setup.entry(LOOPBACK), 2_000_000_000_000 + round);
      b.countUse(setup.entry(LOOPBACK), 2_000_000_000_100 - round);
      await Promise.all([a.flush(), b.flush()]);
    }
    expect((await setup.rows())[LOOPBACK]).toEqual({
      requests: 400,
      uses: 10,
      lastUsedAt: 2_000_000_000_100,
    });
  });
});

describe.each(DATABASES)('a flush that fails part way ($kind)', ({ create }) => {
  let database: ThrowawayDatabase;
  let setup: Awaited<ReturnType<typeof seeded>>;

  beforeAll(async () => {
    database = await create();
    setup = await seeded(database);
  });
  afterAll(async () => {
    await setup.opened.handle.close();
    await database.drop();
  });

  /** The database refuses to update WEB's row (a lost connection, a lock timeout, …). */
  async function refuseWebRow(on: boolean) {
    const { db, kind } = setup.opened.handle;
    if (kind === 'sqlite') {
      await sql`drop trigger if exists refuse_web_usage`.execute(db);
      if (on)
        await sql`create trigger refuse_web_usage before update on redirect_registrations
          when old.uri = ${sql.lit(WEB)} begin select raise(abort, 'refused'); end`.execute(db);
      return;
    }
    await sql`drop trigger if exists refuse_web_usage on redirect_registrations`.execute(db);
    await sql`create or replace function refuse_web_usage() returns trigger language plpgsql as
      $$ begin raise exception 'refused'; end $$`.execute(db);
    if (on)
      await sql`create trigger refuse_web_usage before update on redirect_registrations for each row
        when (old.uri = ${sql.lit(WEB)}) execute function refuse_web_usage()`.execute(db);
  }

  it('adds each count once: what the store took is not added again with the retry', async () => {
    const warnings: unknown[] = [];
    const usage = new RedirectUsage(setup.opened.stores.redirectRegistrations, {
      warn: (_message, error) => warnings.push(error),
    });
    // The loopback entry comes first in the batch, the refused one after it.
    for (let i = 0; i < 3; i++) usage.countRequest(setup.entry(LOOPBACK));
    usage.countUse(setup.entry(LOOPBACK), 2_100_000_000_000);
    usage.countRequest(setup.entry(WEB));
    await refuseWebRow(true);
    await usage.flush();
    expect(warnings).toHaveLength(1);
    await refuseWebRow(false);
    await usage.flush();
    expect(await setup.rows()).toEqual({
      [LOOPBACK]: { requests: 3, uses: 1, lastUsedAt: 2_100_000_000_000 },
      [WEB]: { requests: 1, uses: 0, lastUsedAt: null },
    });
    expect(usage.pending).toBe(0);
  });
});

describe('what anybody sends cannot grow the counter: it holds registered entries only (SQLite)', () => {
  let database: ThrowawayDatabase;

  beforeAll(async () => {
    database = await throwawaySqlite();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('distinct loopback ports, wildcard hosts, post-logout ports, refused URIs and client_ids', async () => {
    const N = 40;
    const BYE = 'http://127.0.0.1/bye';
    const PREVIEW = 'https://*.preview.example.com/cb';
    // A size flush would start at 4 entries: three registered entries are all it ever holds.
    const { cli, previews } = await served(
      database,
      { redirectUsage: { maxKeys: 4, intervalMs: 3_600_000 } },
      async (t) => {
        const cli = await t.client({
          type: 'native',
          name: 'Ports',
          redirectUris: [LOOPBACK],
          postLogoutRedirectUris: [BYE],
        });
        const previews = await t.client({ type: 'web', name: 'Previews', redirectUris: [PREVIEW] });
        const get = (path: string, params: Record<string, string>) =>
          fetch(`${t.issuer('development')}${path}?${new URLSearchParams(params).toString()}`, {
            redirect: 'manual',
          });
        for (let i = 0; i < N; i++) {
          const port = 40_000 + i;
          const loopback = await get(
            '/authorize',
            codeRequest(cli.clientId, `http://127.0.0.1:${port}/callback`).query,
          );
          expect(loopback.status).toBe(303);
          const wildcard = await get(
            '/authorize',
            codeRequest(previews.clientId, `https://pr-${i}.preview.example.com/cb`).query,
          );
          expect(wildcard.status).toBe(303);
          const bye = await get('/logout', {
            client_id: cli.clientId,
            post_logout_redirect_uri: `http://127.0.0.1:${port}/bye`,
          });
          expect(bye.headers.get('location')).toBe(`http://127.0.0.1:${port}/bye`);
          const refused = await get(
            '/authorize',
            codeRequest(cli.clientId, `http://127.0.0.1:${port}/elsewhere-${i}`).query,
          );
          expect(refused.status).toBe(400);
          const unknown = await get('/authorize', codeRequest(`nobody-${i}`, LOOPBACK).query);
          expect(unknown.status).toBe(400);
        }
        const rowsOf = async (clientId: string) =>
          (await t.server.stores.redirectRegistrations.listClient('development', clientId)).map(
            (r) => [r.kind, r.uri, r.requestCount, r.useCount],
          );
        // No flush for size came: the counter never held four entries.
        expect(await rowsOf(cli.clientId)).toEqual([
          ['post_logout', BYE, 0, 0],
          ['redirect', LOOPBACK, 0, 0],
        ]);
        expect(await rowsOf(previews.clientId)).toEqual([['redirect', PREVIEW, 0, 0]]);
        return { cli, previews };
      },
    );
    const [cliRows, previewRows] = await registrationsOf(database, cli.clientId, previews.clientId);
    const figures = (rows: RedirectRegistration[] | undefined) =>
      rows?.map((r) => [r.kind, r.uri, r.requestCount, r.useCount]);
    expect(figures(cliRows)).toEqual([
      ['post_logout', BYE, N, 0],
      ['redirect', LOOPBACK, N, 0],
    ]);
    expect(figures(previewRows)).toEqual([['redirect', PREVIEW, N, 0]]);
  });
});

describe('a post-logout URI is used by a sign-out, not by anyone asking for one (SQLite)', () => {
  const PASSWORD = 'correct horse battery';
  const BYE = 'https://app.example.com/signed-out';
  let database: ThrowawayDatabase;

  beforeAll(async () => {
    database = await throwawaySqlite();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('requests without a session or a hint, and replayed confirmations, are no use of it', async () => {
    let now = Date.now();
    const options = { clock: () => now, redirectUsage: { intervalMs: 3_600_000 } };
    const { clientId, signedOutAt } = await served(database, options, async (t) => {
      const { clientId } = await t.client({
        type: 'web',
        name: 'Signed out',
        redirectUris: [WEB],
        postLogoutRedirectUris: [BYE],
        skipConsent: true,
      });
      await t.user('bye@example.com', PASSWORD);
      const logout = `/e/development/logout?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: BYE }).toString()}`;
      // Anyone, signed in nowhere: sent on to the registered address, which no sign-out used.
      const stranger = new FormBrowser(t.url);
      for (let i = 0; i < 25; i++) {
        now += 1000;
        const bounced = await stranger.get(logout);
        expect(bounced.headers.get('location')).toBe(BYE);
      }
      // A real sign-out: asked, confirmed, the session ended.
      const user = new FormBrowser(t.url);
      await user.authorize(codeRequest(clientId, WEB).query, 'bye@example.com', PASSWORD);
      now += 1000;
      const asked = await user.get(logout);
      expect(asked.status).toBe(200);
      const confirmation = {
        _csrf: FormBrowser.csrf(await asked.text()),
        client_id: clientId,
        post_logout_redirect_uri: BYE,
        decision: 'logout',
      };
      const confirmed = await user.post('/e/development/logout/confirm', confirmation);
      expect(confirmed.headers.get('location')).toBe(BYE);
      const signedOutAt = now;
      // The same confirmation posted again: its session is gone, nothing is signed out.
      for (let i = 0; i < 10; i++) {
        now += 1000;
        const replayed = await user.post('/e/development/logout/confirm', confirmation);
        expect(replayed.headers.get('location')).toBe(BYE);
      }
      return { clientId, signedOutAt };
    });
    const [rows] = await registrationsOf(database, clientId);
    const bye = rows?.find((r) => r.kind === 'post_logout');
    expect([bye?.requestCount, bye?.useCount, bye?.lastUsedAt]).toEqual([26, 1, signedOutAt]);
  });
});

describe.each(DATABASES)('a decision sent several times at once ($kind)', ({ create }) => {
  const PASSWORD = 'correct horse battery';
  let database: ThrowawayDatabase;

  beforeAll(async () => {
    database = await create();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('answers the parked request once: one code, one use', async () => {
    const options = { redirectUsage: { intervalMs: 3_600_000 } };
    const clientId = await served(database, options, async (t) => {
      // A web client asks for consent: the consent page's Allow is the decision sent again.
      const { clientId } = await t.client({ type: 'web', name: 'Twice', redirectUris: [WEB] });
      await t.user('twice@example.com', PASSWORD);
      const browser = new FormBrowser(t.url);
      const page = await browser.signInUntilDecision(
        codeRequest(clientId, WEB).query,
        'twice@example.com',
        PASSWORD,
      );
      const decision = { ...FormBrowser.fields(page), decision: 'allow' };
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => browser.post(FormBrowser.action(page), decision)),
      );
      const codes = replies.filter((r) => r.headers.get('location')?.includes('code=') === true);
      expect(codes).toHaveLength(1);
      return clientId;
    });
    const [rows] = await registrationsOf(database, clientId);
    expect(rows?.map((r) => [r.uri, r.requestCount, r.useCount])).toEqual([[WEB, 1, 1]]);
  });
});

describe('a request parked before its redirect URI went away (SQLite)', () => {
  const PASSWORD = 'correct horse battery';
  const REVIEW = 'https://pr-7.review.example.com/cb';
  let database: ThrowawayDatabase;

  beforeAll(async () => {
    database = await throwawaySqlite();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('is sent no code once the URI is removed or has expired: nor counted as a use', async () => {
    let now = Date.now();
    const options = { clock: () => now, redirectUsage: { intervalMs: 3_600_000 } };
    const clientId = await served(database, options, async (t) => {
      const { clientId } = await t.client({
        type: 'web',
        name: 'Gone',
        redirectUris: [WEB, REVIEW],
        skipConsent: true,
      });
      // A review URI for the next minute (issue #18), as `--expires-in` registers it.
      await updateClient(t.ctx, 'development', clientId, {
        redirectUriExpiries: { [REVIEW]: now + 60_000 },
      });
      await t.user('gone@example.com', PASSWORD);
      /** Starts a request (checked and parked: the sign-in page), signs in after `meanwhile`. */
      const signIn = async (redirectUri: string, meanwhile: () => Promise<void>) => {
        const browser = new FormBrowser(t.url);
        const started = await browser.follow(
          await browser.get(
            `/e/development/authorize?${new URLSearchParams(codeRequest(clientId, redirectUri).query).toString()}`,
          ),
        );
        const fields = FormBrowser.fields(await started.last.text());
        await meanwhile();
        return browser.follow(
          await browser.post('/e/development/login', {
            ...fields,
            email: 'gone@example.com',
            password: PASSWORD,
          }),
        );
      };
      // The review URI expires while its user types the password (two minutes, within the
      // parked request's ten).
      const expired = await signIn(REVIEW, () => {
        now += 120_000;
        return Promise.resolve();
      });
      // Not sent there (with a code or anything else): a page.
      expect(expired.location).toBeUndefined();
      expect(expired.last.status).toBe(400);
      expect(await expired.last.text()).toContain('no longer has this address registered');
      // The operator removes a URI (say its domain lapsed) while a request for it is parked.
      const removed = await signIn(WEB, async () => {
        await updateClient(t.ctx, 'development', clientId, {
          addRedirectUris: ['https://new.example.com/cb'],
          removeRedirectUris: [WEB],
        });
      });
      expect(removed.location).toBeUndefined();
      expect(removed.last.status).toBe(400);
      return clientId;
    });
    const [rows] = await registrationsOf(database, clientId);
    expect(rows?.map((r) => [r.uri, r.requestCount, r.useCount])).toEqual([
      ['https://new.example.com/cb', 0, 0],
      [REVIEW, 1, 0],
    ]);
  });

  it('is sent no error either: a denial after the URI was removed gets a page, not its state', async () => {
    await served(database, {}, async (t) => {
      const { clientId } = await t.client({
        type: 'web',
        name: 'Denied',
        redirectUris: [WEB, 'https://kept.example.com/cb'],
      });
      await t.user('denier@example.com', PASSWORD);
      const browser = new FormBrowser(t.url);
      const query = { ...codeRequest(clientId, WEB).query, state: 'state-for-the-old-domain' };
      const page = await browser.signInUntilDecision(query, 'denier@example.com', PASSWORD);
      expect(page).toContain('name="decision"');
      // The operator removes the URI (its domain lapsed) while the consent page is open.
      await updateClient(t.ctx, 'development', clientId, { removeRedirectUris: [WEB] });
      const denied = await browser.post(FormBrowser.action(page), {
        ...FormBrowser.fields(page),
        decision: 'deny',
      });
      // Before the fix: 303 to https://app.example.com/cb?error=access_denied&state=…
      expect(denied.status).toBe(400);
      expect(denied.headers.get('location')).toBeNull();
      expect(await denied.text()).toContain('no longer has this address registered');
    });
  });
});

describe.each(DATABASES)('the figures after a load ($kind)', ({ create }) => {
  const N = 20;
  const PASSWORD = 'correct horse battery';
  let database: ThrowawayDatabase;

  beforeAll(async () => {
    database = await create();
  });
  afterAll(async () => {
    await database.drop();
  });

  it(`${N} authorizations: nothing written before the flush, exactly ${N} after`, async () => {
    let now = Date.now();
    // The flush is the shutdown's: the interval never comes during the test.
    const options = { clock: () => now, redirectUsage: { intervalMs: 3_600_000 } };
    const { clientId, lastCode, parAt } = await served(database, options, async (t) => {
      const { clientId } = await t.client({
        type: 'native',
        name: 'Loaded CLI',
        redirectUris: [LOOPBACK, WEB],
      });
      await t.user('load@example.com', PASSWORD);
      const browser = new FormBrowser(t.url);
      let lastCode = 0;
      for (let i = 0; i < N; i++) {
        now += 1000;
        // A loopback redirect on a port of the moment: counted against the registered entry.
        const request = codeRequest(clientId, `http://127.0.0.1:${50_000 + i}/callback`);
        const location = await browser.authorize(request.query, 'load@example.com', PASSWORD);
        expect(codeFrom(location).state).toBe(request.state);
        lastCode = now;
      }
      // Refused (not registered): no count for any registration.
      const refused = await browser.get(
        `/e/development/authorize?${new URLSearchParams(codeRequest(clientId, 'http://127.0.0.1:5000/elsewhere').query).toString()}`,
      );
      expect(refused.status).toBe(400);
      // Matched, then refused for the missing PKCE challenge: a request, not a use.
      const noPkce = { ...codeRequest(clientId, WEB).query };
      delete noPkce.code_challenge;
      delete noPkce.code_challenge_method;
      const sentBack = await browser.get(
        `/e/development/authorize?${new URLSearchParams(noPkce).toString()}`,
      );
      expect(sentBack.headers.get('location')).toMatch(/^https:\/\/app\.example\.com\/cb\?error=/);
      // Pushed (checked at the PAR endpoint), then taken at /authorize: one request, one use.
      const pushedRequest = codeRequest(clientId, WEB);
      const pushed = await fetch(`${t.issuer('development')}/par`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(pushedRequest.query),
      });
      expect(pushed.status).toBe(201);
      const { request_uri: requestUri } = (await pushed.json()) as { request_uri: string };
      now += 1000;
      const viaPar = await browser.authorize(
        { client_id: clientId, request_uri: requestUri },
        'load@example.com',
        PASSWORD,
      );
      expect(codeFrom(viaPar).state).toBe(pushedRequest.state);
      const parAt = now;

      // Everything above was counted in memory only: not one row has changed.
      const before = await t.server.stores.redirectRegistrations.listClient(
        'development',
        clientId,
      );
      expect(before.map((r) => [r.uri, r.requestCount, r.useCount, r.lastUsedAt])).toEqual([
        [LOOPBACK, 0, 0, null],
        [WEB, 0, 0, null],
      ]);
      return { clientId, lastCode, parAt };
    });
    const [after] = await registrationsOf(database, clientId);
    expect(after?.map((r) => [r.uri, r.requestCount, r.useCount, r.lastUsedAt])).toEqual([
      [LOOPBACK, N, N, lastCode],
      [WEB, 2, 1, parAt],
    ]);
  });
});
