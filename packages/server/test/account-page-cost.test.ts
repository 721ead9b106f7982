/**
 * The account page's reads on a server that has run for months, on SQLite and PostgreSQL: every
 * GET of the page reads the user's sessions, refresh-token families and spent codes, and, for
 * each agent listed, its newest `token.exchanged` audit entry for the user ("last used"). Each
 * must be an index seek on the user (or the user and client), never a walk of the whole table:
 * a signed-in user reloading the page, or holding grants at many agents, would otherwise make
 * the server read the whole audit log (and the refresh-token table) per agent per request.
 *
 * The statements checked are the ones the stores run (captured as they execute), explained by
 * the database itself over a generated log of 20,000 entries and as many refresh tokens.
 */
import {
  CompiledQuery,
  sql,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/storage/database.js';
import { createStores, type Stores } from '../src/storage/index.js';
import { DATABASES, type ThrowawayDatabase } from './support/databases.js';

const ENV = 'development';
const ROWS = 20_000;

/** Remembers the statements run through it, to explain them afterwards. */
class Recorder implements KyselyPlugin {
  readonly nodes: { node: RootOperationNode; queryId: PluginTransformQueryArgs['queryId'] }[] = [];
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.nodes.push({ node: args.node, queryId: args.queryId });
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

describe.each(DATABASES)('the account page’s reads on $kind', ({ create, kind }) => {
  let db: ThrowawayDatabase;
  let handle: DatabaseHandle;
  let stores: Stores;
  let recorder: Recorder;
  const now = 1_900_000_000_000;

  beforeAll(async () => {
    db = await create();
    handle = await openDatabase(db.target);
    const audit = [];
    const refresh = [];
    const sessions = [];
    const codes = [];
    for (let i = 1; i <= ROWS; i++) {
      const user = `usr_${i % 2000}`;
      const client = `cl_${i % 40}`;
      audit.push({
        seq: i,
        at: now - ROWS + i,
        environment: ENV,
        type: i % 7 === 0 ? 'token.exchanged' : 'token.refreshed',
        actor: `client:${client}`,
        client_id: client,
        user_id: user,
        data: '{}',
        prev_hash: 'h',
        hash: 'h',
      });
      const row = { environment: ENV, client_id: client, user_id: user, scope: 'openid' };
      refresh.push({
        ...row,
        token_hash: `t${i}`,
        family_id: `f${i}`,
        resource: null,
        auth_time: now,
        code_hash: null,
        expires_at: now + 86_400_000,
        rotated_at: null,
        revoked_at: null,
        impersonation_id: null,
        session_claims: null,
        created_at: now - i,
      });
      sessions.push({
        id_hash: `s${i}`,
        environment: ENV,
        user_id: user,
        sid: `sid${i}`,
        auth_time: now,
        expires_at: now + 3_600_000,
        created_at: now - i,
      });
      codes.push({
        ...row,
        code_hash: `c${i}`,
        redirect_uri: 'https://app.example/cb',
        code_challenge: 'x',
        nonce: null,
        resource: null,
        auth_time: now,
        expires_at: now + 60_000,
        consumed_at: now - i,
        impersonation_id: null,
        grant_id: `g${i}`,
        session_claims: null,
        created_at: now - i,
      });
    }
    for (let i = 0; i < ROWS; i += 1000) {
      await handle.db
        .insertInto('audit_log')
        .values(audit.slice(i, i + 1000))
        .execute();
      await handle.db
        .insertInto('refresh_tokens')
        .values(refresh.slice(i, i + 1000))
        .execute();
      await handle.db
        .insertInto('sessions')
        .values(sessions.slice(i, i + 1000))
        .execute();
      await handle.db
        .insertInto('authorization_codes')
        .values(codes.slice(i, i + 1000))
        .execute();
    }
    await sql`analyze`.execute(handle.db);
    recorder = new Recorder();
    stores = createStores({ ...handle, db: handle.db.withPlugin(recorder) });
    // Hooks share a loaded machine with Chromium and other suites: more than the 10 s default.
  }, 120_000);
  afterAll(async () => {
    await handle.close();
    await db.drop();
  });

  /** The plan of the one statement `read` runs, as the database explains it, in one string. */
  async function planOf(read: () => Promise<unknown>): Promise<string> {
    recorder.nodes.length = 0;
    await read();
    expect(recorder.nodes).toHaveLength(1);
    const [{ node, queryId }] = recorder.nodes as [(typeof recorder.nodes)[number]];
    const compiled = handle.db.getExecutor().compileQuery(node, queryId);
    const explain = kind === 'sqlite' ? 'explain query plan ' : 'explain ';
    const result = await handle.db.executeQuery(
      CompiledQuery.raw(explain + compiled.sql, [...compiled.parameters]),
    );
    return result.rows.map((row) => Object.values(row as object).join(' ')).join('\n');
  }

  /** The table is reached by an index on its user column, not read whole. */
  function seeksByUser(plan: string, table: string, alias = table): void {
    if (kind === 'sqlite') {
      expect(plan).not.toMatch(new RegExp(`SCAN (${table}|${alias})\\b`));
      expect(plan).toMatch(
        new RegExp(`SEARCH (${table}|${alias}) USING (COVERING )?INDEX \\S+ \\([^)]*user_id=\\?`),
      );
    } else {
      expect(plan).not.toMatch(new RegExp(`Seq Scan on ${table}\\b`));
      expect(plan).toMatch(/Index Cond: .*user_id = /);
    }
  }

  it('an agent’s “last used” is a seek on (client, user), not a walk of the audit log', async () => {
    const plan = await planOf(() =>
      stores.audit.tail({
        environment: ENV,
        type: 'token.exchanged',
        clientId: 'cl_7',
        userId: 'usr_1999',
        limit: 1,
      }),
    );
    seeksByUser(plan, 'audit_log');
  });

  it('the user’s sessions, refresh-token families and spent codes are seeks on the user', async () => {
    seeksByUser(await planOf(() => stores.account.sessions(ENV, 'usr_7', now)), 'sessions');
    seeksByUser(
      await planOf(() => stores.account.refreshGrants(ENV, 'usr_7', now)),
      'refresh_tokens',
      't',
    );
    seeksByUser(
      await planOf(() => stores.account.spentCodeGrants(ENV, 'usr_7', now - 600_000)),
      'authorization_codes',
    );
  });
});
