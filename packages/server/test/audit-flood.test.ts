/* eslint-disable @typescript-eslint/no-unsafe-assignment -- vitest asymmetric matchers are typed any */
/**
 * Issue #13, item 5: an anonymous sender cannot grow the audit log one entry a request. Before,
 * 300 refused redirect URIs from one address wrote 300 `redirect.refused` entries; now the first
 * refusals are audited at once and the rest counted, in bounded entries, while the console's
 * refused-redirects table still counts every one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import { refusedRedirectsOf } from '../src/services/redirects.js';
import { RepeatedEventAudit } from '../src/services/repeated-audit.js';
import type { AuditStore } from '../src/storage/audit.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';
import { FormBrowser, pkce, startTestServer, type TestServer } from './support/server.js';

describe.each(DATABASES)('refused redirects from one address on $kind', ({ create }) => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let now = Date.now();
  let clientId: string;

  beforeAll(async () => {
    db = await create();
    t = await startTestServer(db, { clock: () => now });
    clientId = (
      await createClient(t.ctx, {
        environment: 'development',
        type: 'native',
        name: 'Flooded',
        redirectUris: ['http://127.0.0.1/callback'],
      })
    ).client.clientId;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const authorize = (redirectUri: string) =>
    new FormBrowser(t.url).get(
      `/e/development/authorize?${new URLSearchParams({
        client_id: clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }).toString()}`,
    );
  const entries = async (type: string) =>
    (await t.ctx.stores.audit.tail({ type, limit: 10_000 })).filter((e) => e.clientId === clientId);

  it('(d) writes a bounded number of entries for 300 different refused URIs of 2 KB', async () => {
    const before = (await t.ctx.stores.audit.verify()).count;
    const statuses = [];
    for (let i = 0; i < 300; i++)
      statuses.push(
        (await authorize(`https://evil.example/${String(i).padStart(3, '0')}/${'a'.repeat(2000)}`))
          .status,
      );
    expect(statuses.every((s) => s === 400)).toBe(true);
    // Before: 300 entries. Now: the first five URIs from this address, the rest counted.
    const refused = await entries('redirect.refused');
    expect(refused).toHaveLength(5);
    expect(refused[0]?.data).toMatchObject({
      address: '127.0.0.1',
      policyCode: expect.any(String),
    });
    expect((await t.ctx.stores.audit.verify()).count - before).toBe(5);
    // The console's list counts them all (up to its own per-client bound).
    expect((await refusedRedirectsOf(t.ctx, 'development', clientId)).length).toBeGreaterThan(5);

    // When the window is over, the next refusal writes the count of the ones held back.
    now += 10 * 60_000;
    expect((await authorize('https://evil.example/again')).status).toBe(400);
    await until(async () => (await entries('redirect.refused.repeated')).length === 1);
    const [summary] = await entries('redirect.refused.repeated');
    expect(summary?.data).toMatchObject({ count: 295, subjects: 295, address: '127.0.0.1' });
    expect(await entries('redirect.refused')).toHaveLength(6);
  });

  it('(d) writes one entry and then one count for the same URI refused 300 times', async () => {
    now += 10 * 60_000;
    // The console's list holds 200 URIs a client: the first test filled it.
    await t.ctx.stores.refusedRedirects.forgetClient('development', clientId);
    const uri = 'https://evil.example/same';
    for (let i = 0; i < 300; i++) expect((await authorize(uri)).status).toBe(400);
    const first = (await entries('redirect.refused')).filter((e) => e.data.requested === uri);
    expect(first).toHaveLength(1);
    const counted = (await refusedRedirectsOf(t.ctx, 'development', clientId)).find(
      (r) => r.uri === uri,
    );
    expect(counted).toMatchObject({ count: 300 });
    now += 10 * 60_000;
    await authorize(uri);
    await until(async () =>
      (await entries('redirect.refused.repeated')).some(
        (e) => e.data.requested === uri && e.data.count === 299,
      ),
    );
  });
});

async function until(condition: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the per-process counter under attack (review of issue #13, item 5)', () => {
  const fakeAudit = () => {
    const written: string[] = [];
    const audit = {
      append: (event: { type: string }) => {
        written.push(event.type);
        return Promise.resolve();
      },
    };
    return { audit: audit as unknown as AuditStore, written };
  };
  const inside = (counter: RepeatedEventAudit) =>
    counter as unknown as {
      windows: Map<string, { subjects?: Set<string> }>;
      budgets: Map<string, unknown>;
    };
  const event = {
    environment: 'development',
    type: 'redirect.refused',
    actor: 'client:c',
    clientId: 'c',
  };

  it('keeps no copy of the sender’s text: 1000 refused URIs of 60 KB hold a few KB, not 60 MB', async () => {
    const { audit } = fakeAudit();
    const counter = new RepeatedEventAudit(audit, () => 0);
    const big = 'a'.repeat(60_000);
    for (let i = 0; i < 1000; i++)
      await counter.record(event, 0, {
        subject: `https://evil.example/${i}/${big}`,
        address: '::1',
      });
    const { windows } = inside(counter);
    let held = 0;
    for (const [key, counted] of windows) {
      held += key.length;
      for (const subject of counted.subjects ?? []) held += subject.length;
    }
    expect(held).toBeLessThan(200_000);
    await counter.flush();
  });

  it('bounds its budgets when every request comes from another address', async () => {
    const { audit } = fakeAudit();
    const limits = { windowMs: 600_000, perAddress: 5, perClient: 50, maxTracked: 100 };
    const counter = new RepeatedEventAudit(audit, () => 0, limits);
    for (let i = 0; i < 5000; i++)
      await counter.record(event, 0, {
        subject: 'https://evil.example/x',
        address: `2001:db8::${i.toString(16)}`,
      });
    expect(inside(counter).budgets.size).toBeLessThanOrEqual(2 * limits.maxTracked + 1);
    expect(inside(counter).windows.size).toBeLessThanOrEqual(limits.maxTracked + 1);
    await counter.flush();
  });
});
