/**
 * The redirect inventory report (issue #18) after a scripted history: clients registered through
 * the CLI, the console and promotion, used (counts set as the usage flush would), refused
 * near misses, a temporary URI about to expire, a URI from an older policy, promotion drift. Each
 * reviewer flag is asserted where it must be and absent where it must not.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, updateClient, type ClientSpec } from '../src/services/clients.js';
import type { ServiceContext } from '../src/services/context.js';
import { createOperator } from '../src/services/operators.js';
import { promoteClient } from '../src/services/promote.js';
import {
  redirectReport,
  unusedFlag,
  type InventoryEntry,
  type RedirectReport,
} from '../src/services/redirect-report.js';
import { formatRedirectReport } from '../src/services/redirect-report-format.js';
import { addRedirectUri } from '../src/services/redirects.js';
import { openDatabase } from '../src/storage/database.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const DAY = 24 * 60 * 60 * 1000;
const T = Date.UTC(2026, 5, 1, 12);

describe.each(DATABASES)('redirect inventory report on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = T - 120 * DAY;
  let shop = '';
  let shopProd = '';
  let cli = '';
  let legacy = '';
  let operatorEmail = '';

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock: () => now });
    const ctx = t.ctx;
    // 120 days ago, by the CLI: a staging web app with a wildcard for review apps, and a CLI.
    shop = await created(
      'staging',
      'web',
      'Shop',
      ['https://shop.example.com/callback', 'https://*.review.shop.example.com/callback'],
      { postLogoutRedirectUris: ['https://shop.example.com/bye'] },
    );
    cli = await created('staging', 'native', 'Deploy CLI', [
      'http://localhost/callback',
      'http://127.0.0.1/callback',
    ]);
    legacy = await created('development', 'web', 'Legacy admin', [
      'http://127.0.0.1:8080/callback',
    ]);
    // A URI from before today's policy, written straight to the store as an old release did.
    await ctx.stores.clients.update(
      'development',
      legacy,
      { redirectUris: ['http://127.0.0.1:8080/callback', 'http://legacy.example.com/callback'] },
      now,
    );

    // 10 days ago: promoted to production (the wildcard dropped), then a URI added there by hand
    // through the console.
    now = T - 10 * DAY;
    shopProd = (await promoteClient(ctx, 'staging', shop, 'production', { dropRefused: true }))
      .client.clientId;
    const operator = await createOperator(ctx, {
      email: 'rita@ops.example',
      password: 'rita operator pass 1',
      role: 'admin',
    });
    operatorEmail = operator.email;
    const console: ServiceContext = { ...ctx, actor: `operator:${operator.id}` };
    await addRedirectUri(console, 'production', shopProd, 'https://shop.example.com/extra');

    // Yesterday: a temporary URI for three days.
    now = T - DAY;
    await addRedirectUri(ctx, 'staging', cli, 'http://127.0.0.1:9000/review', {
      expiresIn: '3d',
    });

    now = T;
    await ctx.stores.redirectRegistrations.addUsage([
      {
        environment: 'production',
        clientId: shopProd,
        kind: 'redirect',
        uri: 'https://shop.example.com/callback',
        requests: 7,
        uses: 5,
        lastUsedAt: T - DAY,
      },
      {
        environment: 'staging',
        clientId: cli,
        kind: 'redirect',
        uri: 'http://127.0.0.1/callback',
        requests: 2,
        uses: 1,
        lastUsedAt: T - 100 * DAY,
      },
    ]);
    // Near misses in production: a typo of the callback three times, something unrelated once.
    for (let i = 0; i < 3; i++)
      await ctx.stores.refusedRedirects.record(
        'production',
        shopProd,
        'https://shop.example.com/callbak',
        'no_match',
        T - 2 * DAY,
      );
    await ctx.stores.refusedRedirects.record(
      'production',
      shopProd,
      'com.attacker.app:/x',
      'no_match',
      T - 2 * DAY,
    );
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /** A client created as the CLI and the console create one; its id. */
  const created = async (
    environment: string,
    type: ClientSpec['type'],
    name: string,
    redirectUris: string[],
    more: Partial<ClientSpec> = {},
  ) =>
    (await createClient(t.ctx, { environment, type, name, redirectUris, ...more })).client.clientId;

  const entry = (report: RedirectReport, clientId: string, uri: string): InventoryEntry => {
    const found = report.clients
      .find((c) => c.clientId === clientId)
      ?.entries.find((e) => e.uri === uri);
    if (found === undefined) throw new Error(`no entry ${uri}`);
    return found;
  };
  const codes = (e: InventoryEntry) => e.flags.map((f) => f.code).sort();

  it('lists every client and every redirect and post-logout URI with class, provenance and usage', async () => {
    const report = await redirectReport(t.ctx, 'staging');
    expect(report.clients.map((c) => c.name)).toEqual(['Deploy CLI', 'Shop']);
    expect(report.summary).toMatchObject({ clients: 2, redirectUris: 5, postLogoutUris: 1 });
    const bye = entry(report, shop, 'https://shop.example.com/bye');
    expect(bye).toMatchObject({ kind: 'post_logout', class: 'https', channel: 'cli' });
    expect(entry(report, cli, 'http://localhost/callback')).toMatchObject({
      class: 'loopback',
      loopbackHost: 'localhost',
      registeredAt: T - 120 * DAY,
      registeredBy: 'admin:test',
      channel: 'cli',
      lastUsedAt: null,
      uses: 0,
    });
    expect(entry(report, cli, 'http://127.0.0.1/callback')).toMatchObject({
      loopbackHost: '127.0.0.1',
      uses: 1,
      requests: 2,
      lastUsedAt: T - 100 * DAY,
    });
    expect(entry(report, shop, 'https://*.review.shop.example.com/callback').class).toBe(
      'wildcard',
    );

    const prod = await redirectReport(t.ctx, 'production');
    expect(entry(prod, shopProd, 'https://shop.example.com/callback')).toMatchObject({
      channel: 'promotion',
      registeredAt: T - 10 * DAY,
      uses: 5,
      requests: 7,
      lastUsedAt: T - DAY,
      nearMisses: 3,
    });
    const extra = entry(prod, shopProd, 'https://shop.example.com/extra');
    expect(extra).toMatchObject({ channel: 'console', nearMisses: 0 });
    expect(extra.registeredBy).toMatch(/^operator:/);
    expect(extra.registeredByLabel).toBe(operatorEmail);
    // The private-use URI differs from every registered one in its scheme: near none of them.
    expect(prod.clients[0]?.otherRefusals).toBe(1);
    // In CSV, on the client's own row with its client-wide findings.
    const clientRow = formatRedirectReport(prod, 'csv')
      .split('\r\n')
      .find((line) => line.includes(`,${shopProd},`) && line.includes(',client,'));
    expect(clientRow).toMatch(/ \| 1 refused requests close to none of its URIs"$/);
  });

  it('flags unused URIs, localhost loopback and wildcards, each with its reason', async () => {
    const report = await redirectReport(t.ctx, 'staging');
    const localhost = entry(report, cli, 'http://localhost/callback');
    expect(codes(localhost)).toEqual(['localhost_loopback', 'unused']);
    expect(localhost.flags.find((f) => f.code === 'localhost_loopback')?.reason).toContain(
      'http://127.0.0.1/callback',
    );
    expect(localhost.flags.find((f) => f.code === 'unused')?.reason).toContain('never used');
    // Used once, 100 days ago: unused for 90, not for 120.
    expect(codes(entry(report, cli, 'http://127.0.0.1/callback'))).toEqual(['unused']);
    const wider = await redirectReport(t.ctx, 'staging', { unusedDays: 120 });
    expect(codes(entry(wider, cli, 'http://127.0.0.1/callback'))).toEqual([]);
    expect(codes(entry(report, shop, 'https://*.review.shop.example.com/callback'))).toEqual([
      'unused',
      'wildcard',
    ]);
    expect(report.summary.flags).toMatchObject({ unused: 5, localhost_loopback: 1, wildcard: 1 });
  });

  it('says when a URI never used was registered before use was recorded (backfilled rows)', () => {
    const old = { lastUsedAt: null, registeredAt: T - 200 * DAY, registeredBy: null };
    // The migration table does not say when counting began: the caveat in the reason.
    expect(unusedFlag(old, T - 200 * DAY, T, 90)?.reason).toBe(
      'no use recorded; registered by 2025-11-13 (more than 90 days), before Gatehouse recorded use, so use before the upgrade to the inventory is unknown',
    );
    expect(unusedFlag({ ...old, registeredBy: 'admin:cli' }, 0, T, 90)?.reason).toBe(
      'never used since it was registered on 2025-11-13 (more than 90 days)',
    );
    expect(unusedFlag(old, 0, T, 365)).toBeUndefined();
    expect(unusedFlag({ ...old, lastUsedAt: T - 10 * DAY }, 0, T, 90)).toBeUndefined();
    // Counting began 30 days ago: not unused for 90 days, unused for 20, said as such.
    expect(unusedFlag(old, 0, T, 90, T - 30 * DAY)).toBeUndefined();
    expect(unusedFlag(old, 0, T, 20, T - 30 * DAY)?.reason).toBe(
      'no use recorded since Gatehouse began recording use on 2026-05-02 (more than 20 days); registered by 2025-11-13, use before then is unknown',
    );
    // A URI registered since counting began is judged from its registration, as before.
    expect(unusedFlag({ ...old, registeredBy: 'admin:cli' }, 0, T, 90, T - 30 * DAY)?.code).toBe(
      'unused',
    );
  });

  it('counts the unused window of a backfilled row from when migration 0015 was applied', async () => {
    // A client from long before the upgrade; its rows as migration 0015 backfilled them (no
    // registeredBy), and the migration applied 30 days ago.
    now = T - 200 * DAY;
    const old = await created('development', 'native', 'Pre-upgrade tool', [
      'http://127.0.0.1/old-callback',
    ]);
    now = T;
    const handle = await openDatabase(db.target);
    try {
      await sql`update redirect_registrations set registered_by = ${null}, channel = 'unknown' where environment = 'development' and client_id = ${old}`.execute(
        handle.db,
      );
      await sql`update gatehouse_migrations set timestamp = ${new Date(T - 30 * DAY).toISOString()} where name = '0015-redirect-governance'`.execute(
        handle.db,
      );
    } finally {
      await handle.close();
    }
    expect(await t.ctx.stores.redirectRegistrations.countingSince()).toBe(T - 30 * DAY);
    const report = await redirectReport(t.ctx, 'development');
    const row = entry(report, old, 'http://127.0.0.1/old-callback');
    expect(row.registeredBy).toBeNull();
    // Registered 200 days ago, but use has been counted for 30 only: not "unused for 90 days".
    expect(codes(row)).toEqual([]);
    const narrow = await redirectReport(t.ctx, 'development', { unusedDays: 20 });
    expect(entry(narrow, old, 'http://127.0.0.1/old-callback').flags).toEqual([
      {
        code: 'unused',
        reason:
          'no use recorded since Gatehouse began recording use on 2026-05-02 (more than 20 days); registered by 2025-11-13, use before then is unknown',
      },
    ]);
    await t.ctx.stores.clients.delete('development', old);
  });

  it('flags a temporary URI expiring within the window, and not outside it', async () => {
    const report = await redirectReport(t.ctx, 'staging');
    const temporary = entry(report, cli, 'http://127.0.0.1:9000/review');
    expect(temporary.expiresAt).toBe(T + 2 * DAY);
    expect(codes(temporary)).toEqual(['expiring_soon']);
    const narrow = await redirectReport(t.ctx, 'staging', { expiringDays: 1 });
    expect(codes(entry(narrow, cli, 'http://127.0.0.1:9000/review'))).toEqual([]);
  });

  it('flags http that is not loopback, loopback for a web client, and what today’s policy refuses', async () => {
    const report = await redirectReport(t.ctx, 'development', { unusedDays: 365 });
    const http = entry(report, legacy, 'http://legacy.example.com/callback');
    expect(http.class).toBe('http');
    expect(codes(http)).toEqual(['http_not_loopback', 'violates_policy']);
    expect(http.flags.find((f) => f.code === 'violates_policy')?.reason).toContain(
      '[http_not_loopback]',
    );
    // Development allows a web client's loopback URI, but a reviewer still sees it.
    expect(codes(entry(report, legacy, 'http://127.0.0.1:8080/callback'))).toEqual([
      'loopback_for_web_client',
    ]);
  });

  it('classes loopback in another spelling as loopback, not as http to another host', async () => {
    const tool = await created('development', 'native', 'Spellings', ['http://127.0.0.1/cb']);
    // Registered by an older release, before the policy refused these spellings.
    const spellings = [
      'http://[::ffff:7f00:1]/cb',
      'http://app.localhost/cb',
      'http://127.0.0.2/cb',
      'http://LOCALHOST:8080/cb',
    ];
    await t.ctx.stores.clients.update('development', tool, { redirectUris: spellings }, now);
    const report = await redirectReport(t.ctx, 'development');
    for (const uri of spellings.slice(0, 3)) {
      const found = entry(report, tool, uri);
      expect(found.class, uri).toBe('loopback');
      expect(codes(found), uri).toEqual(['violates_policy']);
      expect(found.flags[0]?.reason, uri).toContain('[nonstandard_loopback]');
    }
    const upper = entry(report, tool, 'http://LOCALHOST:8080/cb');
    expect(upper).toMatchObject({ class: 'loopback', loopbackHost: 'localhost' });
    expect(upper.flags.find((f) => f.code === 'localhost_loopback')?.reason).toMatch(
      /register http:\/\/127\.0\.0\.1:8080\/cb$/,
    );
    await t.ctx.stores.clients.delete('development', tool);
  });

  it('flags what the environment’s policy refuses today: localhost once production refuses it', async () => {
    const native = await created('production', 'native', 'Ops CLI', ['http://localhost/callback']);
    const before = await redirectReport(t.ctx, 'production');
    expect(codes(entry(before, native, 'http://localhost/callback'))).toEqual([
      'localhost_loopback',
    ]);
    // The operator refuses localhost in production (the store, as the settings service writes it).
    await t.ctx.stores.environments.update('production', { loopbackHosts: ['127.0.0.1', '[::1]'] });
    const after = await redirectReport(t.ctx, 'production');
    expect(after.loopbackHosts).toEqual(['127.0.0.1', '[::1]']);
    const localhost = entry(after, native, 'http://localhost/callback');
    expect(codes(localhost)).toEqual(['localhost_loopback', 'violates_policy']);
    expect(localhost.flags.find((f) => f.code === 'violates_policy')?.reason).toMatch(
      /^production's policy refuses it today \[loopback_host_not_allowed\]: /,
    );
    expect(after.summary.flags.violates_policy).toBe(1);
    await t.ctx.stores.environments.update('production', { loopbackHosts: null });
    await t.ctx.stores.clients.delete('production', native);
  });

  it('flags promotion drift: source URIs the target refuses, target URIs the source lacks', async () => {
    const report = await redirectReport(t.ctx, 'production');
    const client = report.clients.find((c) => c.clientId === shopProd);
    expect(client?.promotedFrom).toBe(`staging/${shop}`);
    expect(client?.flags).toEqual([
      {
        code: 'promotion_drift',
        reason: expect.stringContaining(
          'https://*.review.shop.example.com/callback, which production refuses [wildcard_in_production]',
        ) as string,
      },
    ]);
    expect(codes(entry(report, shopProd, 'https://shop.example.com/extra'))).toEqual([
      'promotion_drift',
    ]);
    expect(codes(entry(report, shopProd, 'https://shop.example.com/callback'))).toEqual([]);
    // Post-logout URIs do not travel with a promotion: not drift.
    expect(client?.entries.filter((e) => e.kind === 'post_logout')).toEqual([]);
    expect(report.summary.flags.promotion_drift).toBe(2);
  });

  it('flags promotion drift the other way: a source URI the target lacks, which promoting again adds back', async () => {
    const source = await created('staging', 'web', 'Billing', [
      'https://billing.example.com/callback',
      'https://billing.example.com/old',
    ]);
    const target = (await promoteClient(t.ctx, 'staging', source, 'production')).client.clientId;
    // Someone removes the old callback in production by hand.
    await t.ctx.stores.clients.update(
      'production',
      target,
      { redirectUris: ['https://billing.example.com/callback'] },
      now,
    );
    const report = await redirectReport(t.ctx, 'production');
    expect(report.clients.find((c) => c.clientId === target)?.flags).toEqual([
      {
        code: 'promotion_drift',
        reason: `staging/${source} has https://billing.example.com/old, which production lacks: promoting again would add it`,
      },
    ]);
    await t.ctx.stores.clients.delete('production', target);
    await t.ctx.stores.clients.delete('staging', source);
  });

  it('reads the stores a fixed number of times, however many clients the environment has', async () => {
    const calls: string[] = [];
    const stores = new Proxy(t.ctx.stores, {
      get(target, name: string) {
        const store: unknown = target[name as keyof typeof target];
        if (typeof store !== 'object' || store === null) return store;
        return new Proxy(store, {
          get(inner: Record<string, unknown>, method: string) {
            const value = inner[method];
            if (typeof value !== 'function') return value;
            return (...args: unknown[]): unknown => {
              calls.push(`${name}.${method}`);
              return (value as (...a: unknown[]) => unknown).apply(inner, args);
            };
          },
        });
      },
    });
    const counted: ServiceContext = { ...t.ctx, stores };
    const reads = async (): Promise<string[]> => {
      calls.length = 0;
      await redirectReport(counted, 'production');
      return [...calls].sort();
    };
    const before = await reads();
    // Twenty more clients, promoted from staging, each with refused requests recorded.
    const added: string[] = [];
    for (let i = 0; i < 20; i++) {
      const source = await created('staging', 'web', `Batch ${i}`, [
        `https://batch${i}.example.com/callback`,
      ]);
      const promoted = (await promoteClient(t.ctx, 'staging', source, 'production')).client
        .clientId;
      added.push(promoted);
      await t.ctx.stores.refusedRedirects.record(
        'production',
        promoted,
        `https://batch${i}.example.com/callbak`,
        'no_match',
        T,
      );
    }
    const after = await reads();
    expect(after).toEqual(before);
    const report = await redirectReport(t.ctx, 'production');
    expect(
      report.clients.filter((c) => added.includes(c.clientId)).map((c) => c.entries[0]?.nearMisses),
    ).toEqual(added.map(() => 1));
    for (const clientId of added) await t.ctx.stores.clients.delete('production', clientId);
  });

  it('counts refused post_logout_redirect_uri values as near misses of the post-logout URI they are closest to', async () => {
    const signOut = (postLogout: string) =>
      fetch(
        `${t.issuer('staging')}/logout?${new URLSearchParams({ client_id: shop, post_logout_redirect_uri: postLogout }).toString()}`,
        { redirect: 'manual' },
      );
    // A typo twice, a trailing slash once: close to https://shop.example.com/bye. Another scheme:
    // close to none. Each refused with a page (400), never followed.
    for (const uri of [
      'https://shop.example.com/by',
      'https://shop.example.com/by',
      'https://shop.example.com/bye/',
      'com.example.shop:/bye',
    ]) {
      const refused = await signOut(uri);
      expect(refused.status).toBe(400);
      expect(refused.headers.get('location')).toBeNull();
    }
    const report = await redirectReport(t.ctx, 'staging');
    expect(entry(report, shop, 'https://shop.example.com/bye')).toMatchObject({
      kind: 'post_logout',
      nearMisses: 3,
    });
    // One too long to be registered is refused without being recorded (the store stays small).
    expect((await signOut(`https://shop.example.com/${'a'.repeat(2100)}`)).status).toBe(400);
    // Nor one under 2,048 characters but over 2,048 bytes (PostgreSQL's key limit: it was a 500).
    expect((await signOut(`https://shop.example.com/${'漢'.repeat(1400)}`)).status).toBe(400);
    expect(await t.ctx.stores.refusedPostLogoutRedirects.list('staging', shop)).toHaveLength(3);
    // Not the sign-in URIs': a refused sign-out address is not a near miss of a redirect URI.
    expect(entry(report, shop, 'https://shop.example.com/callback').nearMisses).toBe(0);
    expect(report.clients.find((c) => c.clientId === shop)?.otherRefusals).toBe(1);
    // Nor offered in the console's refused redirect URIs (for registration as redirect URIs).
    expect(await t.ctx.stores.refusedRedirects.list('staging', shop)).toEqual([]);
    // Registered since: no longer a near miss, and forgotten.
    await updateClient(t.ctx, 'staging', shop, {
      postLogoutRedirectUris: ['https://shop.example.com/bye', 'https://shop.example.com/by'],
    });
    const after = await redirectReport(t.ctx, 'staging');
    expect(entry(after, shop, 'https://shop.example.com/bye').nearMisses).toBe(1);
    expect(
      (await t.ctx.stores.refusedPostLogoutRedirects.list('staging', shop)).map(
        (r) => r.redirectUri,
      ),
    ).not.toContain('https://shop.example.com/by');
    await updateClient(t.ctx, 'staging', shop, {
      postLogoutRedirectUris: ['https://shop.example.com/bye'],
    });
  });

  it('refuses an unknown environment, naming the known ones', async () => {
    await expect(redirectReport(t.ctx, 'prod')).rejects.toThrow(
      /^no environment "prod" \(known: [a-z, ]*staging/,
    );
  });
});
