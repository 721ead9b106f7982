/**
 * The admin API's redirect inventory export: any signed-in operator (viewer and up) reads it, as
 * JSON or as a Markdown / CSV attachment; nobody else does; bad parameters are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.js';
import type { AdminSession } from './support/admin.js';
import { operatorSession } from './support/admin.js';
import { throwawaySqlite, type ThrowawayDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

const NOW = Date.UTC(2026, 5, 1, 12);

describe('admin API: redirect inventory report', () => {
  let db: ThrowawayDatabase;
  let t: TestServer;
  let viewer: AdminSession;
  let clientId = '';

  beforeAll(async () => {
    db = await throwawaySqlite();
    t = await startTestServer(db, { clock: () => NOW });
    clientId = (
      await createClient(t.ctx, {
        environment: 'staging',
        type: 'native',
        name: '=cmd|" /C calc"!A0',
        redirectUris: ['http://localhost/callback'],
      })
    ).client.clientId;
    viewer = (await operatorSession(t, 'vera@ops.example', 'viewer')).session;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const raw = (session: AdminSession | undefined, query: string) =>
    fetch(`${t.url}/admin/api/environments/staging/redirect-report${query}`, {
      headers: session === undefined ? {} : { cookie: session.jar.header() },
    });

  it('answers a viewer with the JSON report', async () => {
    const reply = await viewer.call('GET', '/environments/staging/redirect-report?unusedDays=0');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ environment: 'staging', tier: 'staging', unusedDays: 0 });
    const clients = reply.body.clients as {
      clientId: string;
      entries: { uri: string; flags: { code: string }[] }[];
    }[];
    const entry = clients.find((c) => c.clientId === clientId)?.entries[0];
    expect(entry?.uri).toBe('http://localhost/callback');
    expect(entry?.flags.map((f) => f.code).sort()).toEqual(['localhost_loopback', 'unused']);
  });

  it('sends CSV and Markdown as attachments, the CSV neutralised against formulas', async () => {
    const csv = await raw(viewer, '?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe(
      'attachment; filename="redirect-inventory-staging-2026-06-01.csv"',
    );
    expect(csv.headers.get('cache-control')).toBe('no-store');
    const text = await csv.text();
    expect(text).toContain(`,${clientId},"'=cmd|"" /C calc""!A0",native,`);
    const md = await raw(viewer, '?format=md&expiringDays=3');
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(md.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.md"$/);
    expect(await md.text()).toContain('expiring soon: within 3 days');
  });

  it('refuses callers without a session, unknown environments and bad parameters', async () => {
    const anonymous = await raw(undefined, '?format=csv');
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain(clientId);
    const unknown = await viewer.call('GET', '/environments/nowhere/redirect-report');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('unknown_environment');
    for (const query of ['?format=xlsx', '?unusedDays=-1', '?expiringDays=99999']) {
      const bad = await viewer.call('GET', `/environments/staging/redirect-report${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error).toBe('invalid_request');
    }
  });
});
