/**
 * Issue #15: a client_credentials token costs no write of its own, and the audit log still
 * accounts for every one. Over real HTTP, on SQLite and PostgreSQL: the block's reservation is in
 * the log before the first token of it is answered, later tokens add nothing, concurrent requests
 * share one reservation, stopping the server closes the block with the count it used, and two
 * servers on one PostgreSQL database reserve their own blocks (no jti is handed out twice).
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_KEYS_PER_CLIENT,
  JTI_BLOCK_CLOSED,
  JTI_BLOCK_RESERVED,
  parseBlockJti,
} from '../src/services/jti-blocks.js';
import { accountForJti } from '../src/services/token-audit.js';
import type { AuditEntry } from '../src/storage/audit.js';
import { DATABASES, throwawayPostgres, type ThrowawayDatabase } from './support/databases.js';
import { within } from './support/processes.js';
import { startTestServer, type TestServer } from './support/server.js';

const jtiOf = (token: string): string => decodeJwt(token).jti ?? '';

/** A client_credentials token for `client`, from `t`. */
async function machineToken(
  t: TestServer,
  client: { clientId: string; clientSecret?: string },
  scope = 'reports:read',
): Promise<string> {
  const reply = await t.tokenRequest({
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret ?? '',
    scope,
  });
  expect(reply.status).toBe(200);
  return reply.access_token;
}

const machine = (t: TestServer, name: string) =>
  t.client({
    type: 'web',
    name,
    redirectUris: [],
    grantTypes: ['client_credentials'],
    scopes: ['reports:read', 'reports:write'],
  });

describe.each(DATABASES)(
  'client_credentials accounted for by jti blocks on $kind',
  ({ create }) => {
    let db: ThrowawayDatabase;
    let t: TestServer;

    /** The client's entries but its creation. */
    const entriesOf = async (server: TestServer, clientId: string): Promise<AuditEntry[]> =>
      (await server.ctx.stores.audit.tail({ clientId, limit: 10_000 })).filter(
        (e) => e.type !== 'client.created',
      );

    beforeAll(async () => {
      db = await create();
      t = await startTestServer(db);
    });
    afterAll(async () => {
      await t.close();
      await db.drop();
    });

    it('writes the reservation before the first token, and nothing for the tokens after it', async () => {
      const client = await machine(t, 'Reporter');
      const first = await machineToken(t, client);
      const { block, n } = parseBlockJti(jtiOf(first)) ?? {};
      expect(n).toBe(0);
      // When the first answer came, the reservation was in the log (durable: an append resolves
      // only once committed and synced), and it is the only entry for the client.
      const [reservation, ...rest] = await entriesOf(t, client.clientId);
      expect(rest).toEqual([]);
      expect(reservation).toMatchObject({
        type: JTI_BLOCK_RESERVED,
        actor: `client:${client.clientId}`,
        data: {
          clientId: client.clientId,
          block,
          size: 64,
          scope: 'reports:read',
          resource: null,
          grantType: 'client_credentials',
        },
      });
      const head = (await t.ctx.stores.audit.head()).seq;
      const more = [];
      for (let i = 0; i < 10; i++) more.push(jtiOf(await machineToken(t, client)));
      expect(more).toEqual(
        Array.from({ length: 10 }, (_, i) => `${block}.${(i + 1).toString(36)}`),
      );
      // No write per token: the log has not grown.
      expect((await t.ctx.stores.audit.head()).seq).toBe(head);
      // Another scope is another block.
      const wider = jtiOf(await machineToken(t, client, 'reports:write reports:read'));
      expect(parseBlockJti(wider)?.block).not.toBe(block);
      expect(await accountForJti(t.ctx.stores.audit, wider)).toMatchObject({ status: 'maybe' });
    });

    it('makes one reservation for concurrent requests', async () => {
      const client = await machine(t, 'Burst');
      const tokens = await Promise.all(Array.from({ length: 40 }, () => machineToken(t, client)));
      const jtis = tokens.map(jtiOf);
      expect(new Set(jtis).size).toBe(40);
      // One block for the 40; past half of it, the next one (twice as large) is reserved ahead,
      // without holding up the requests: it may be written after the last answer.
      let entries: AuditEntry[] = [];
      await within(2_000, 'the next block is reserved ahead', async () => {
        entries = await entriesOf(t, client.clientId);
        return entries.length === 2;
      });
      expect(entries.map((e) => [e.type, e.data.size])).toEqual([
        [JTI_BLOCK_RESERVED, 64],
        [JTI_BLOCK_RESERVED, 128],
      ]);
      expect(new Set(jtis.map((jti) => parseBlockJti(jti)?.block))).toEqual(
        new Set([entries[0]?.data.block]),
      );
    });

    it('opens a new, larger block when one is used up, closing the old with the count it used', async () => {
      const client = await machine(t, 'Busy');
      const jtis: string[] = [];
      for (let i = 0; i < 65; i++) jtis.push(jtiOf(await machineToken(t, client)));
      // The closing entry is written after the token that used the block up, not before it.
      let entries: AuditEntry[] = [];
      await within(2_000, 'the used-up block is closed', async () => {
        entries = await entriesOf(t, client.clientId);
        return entries.length === 3;
      });
      // The second block was reserved ahead, when the first was half used.
      expect(entries.map((e) => [e.type, e.data.size ?? e.data.used])).toEqual([
        [JTI_BLOCK_RESERVED, 64],
        [JTI_BLOCK_RESERVED, 128],
        [JTI_BLOCK_CLOSED, 64],
      ]);
      expect(parseBlockJti(jtis[64] ?? '')).toEqual({ block: entries[1]?.data.block, n: 0 });
      expect(await accountForJti(t.ctx.stores.audit, jtis[63] ?? '')).toMatchObject({
        status: 'issued',
        n: 63,
        closedBy: { data: { used: 64 } },
      });
    });

    it('holds a client sending a new resource in every request to a bounded number of open keys', async () => {
      // The attack: with no resource registered, any absolute URI is a resource (RFC 8707), and
      // each one a key of its own, kept in memory for a minute unless bounded.
      const bystander = await machine(t, 'Bystander');
      const bystanders = jtiOf(await machineToken(t, bystander));
      const attacker = await machine(t, 'Permuter');
      const jtis: string[] = [];
      const requests = DEFAULT_MAX_KEYS_PER_CLIENT + 36;
      for (let i = 0; i < requests; i += 4)
        jtis.push(
          ...(await Promise.all(
            [0, 1, 2, 3].map(async (j) => {
              const reply = await t.tokenRequest({
                grant_type: 'client_credentials',
                client_id: attacker.clientId,
                client_secret: attacker.clientSecret ?? '',
                resource: `https://api.example/${i + j}`,
              });
              expect(reply.status).toBe(200);
              return jtiOf(reply.access_token);
            }),
          )),
        );
      // The keys beyond the bound were closed as they were pushed out, each with its one token.
      let open = 0;
      await within(5_000, 'the keys beyond the bound are closed', async () => {
        const entries = await entriesOf(t, attacker.clientId);
        const closed = new Set(
          entries.filter((e) => e.type === JTI_BLOCK_CLOSED).map((e) => e.data.block),
        );
        open = entries.filter(
          (e) => e.type === JTI_BLOCK_RESERVED && !closed.has(e.data.block),
        ).length;
        return open <= DEFAULT_MAX_KEYS_PER_CLIENT;
      });
      expect(open).toBe(DEFAULT_MAX_KEYS_PER_CLIENT);
      // Every token is still accounted for: issued (closed with it counted) or may have been.
      for (const jti of jtis)
        expect(['issued', 'maybe']).toContain(
          (await accountForJti(t.ctx.stores.audit, jti)).status,
        );
      expect(
        (await Promise.all(jtis.map((jti) => accountForJti(t.ctx.stores.audit, jti)))).filter(
          (a) => a.status === 'issued',
        ),
      ).toHaveLength(requests - DEFAULT_MAX_KEYS_PER_CLIENT);
      // Another client's key is not pushed out by this one's.
      expect(await accountForJti(t.ctx.stores.audit, bystanders)).toMatchObject({
        status: 'maybe',
      });
    });

    it('closes every open block when the server stops; the chain verifies', async () => {
      const client = await machine(t, 'Stopping');
      const jtis = [await machineToken(t, client), await machineToken(t, client)].map(jtiOf);
      await t.close();
      t = await startTestServer(db);
      const entries = await entriesOf(t, client.clientId);
      expect(entries.map((e) => [e.type, e.data.block, e.data.used])).toEqual([
        [JTI_BLOCK_RESERVED, parseBlockJti(jtis[0] ?? '')?.block, undefined],
        [JTI_BLOCK_CLOSED, parseBlockJti(jtis[0] ?? '')?.block, 2],
      ]);
      expect(await accountForJti(t.ctx.stores.audit, jtis[1] ?? '')).toMatchObject({
        status: 'issued',
      });
      expect(await t.ctx.stores.audit.verify()).toMatchObject({ ok: true });
    });
  },
);

describe('two servers on one PostgreSQL database', () => {
  let db: ThrowawayDatabase;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    db = await throwawayPostgres();
    a = await startTestServer(db);
    b = await startTestServer(db);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  it('each reserve their own blocks: no jti is handed out twice', async () => {
    const client = await machine(a, 'Shared');
    const tokens = await Promise.all(
      Array.from({ length: 60 }, (_, i) => machineToken(i % 2 === 0 ? a : b, client)),
    );
    const jtis = tokens.map(jtiOf);
    expect(new Set(jtis).size).toBe(60);
    const reserved = await a.ctx.stores.audit.tail({ type: JTI_BLOCK_RESERVED, limit: 100 });
    expect(reserved.filter((e) => e.clientId === client.clientId)).toHaveLength(2);
    expect(new Set(jtis.map((jti) => parseBlockJti(jti)?.block)).size).toBe(2);
    await a.close();
    await b.close();
    a = await startTestServer(db);
    b = await startTestServer(db);
    const closed = (await a.ctx.stores.audit.tail({ type: JTI_BLOCK_CLOSED, limit: 100 })).filter(
      (e) => e.clientId === client.clientId,
    );
    expect(closed.map((e) => e.data.used)).toEqual([30, 30]);
    for (const jti of jtis)
      expect((await accountForJti(a.ctx.stores.audit, jti)).status).toBe('issued');
    expect(await a.ctx.stores.audit.verify()).toMatchObject({ ok: true });
  });
});
