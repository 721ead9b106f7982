// Seeds a large installation in bulk, for bench/large.bench.mjs: users, clients, refresh tokens,
// authorization codes and audit entries written straight into the tables, not through the HTTP
// API (ten million requests would take hours). The schema, the environments and the signing keys
// come from the server itself (openGatehouse of the built @gatehouse/server); the audit entries
// are chained with the server's own functions (extendChain, toRow of its dist), under the chain
// key derived from the seed's secret, so `gatehouse audit verify` checks them like any other.
//
// Every row is a function of its index, so a seed is the same each time. Keys that are hashes in
// production (token and code hashes) are SHA-256 hashes here too: spread over the whole key space,
// so the rows a benchmark inserts later land all over the index, as they would.
import { hash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';

const DAY = 86_400_000;
const ENVIRONMENT = 'development';

/** How many of each at scale 1 (issue #15). */
export const FULL_COUNTS = {
  users: 1_000_000,
  clients: 100_000,
  refresh_tokens: 10_000_000,
  authorization_codes: 10_000_000,
  audit_log: 10_000_000,
};

export function countsAt(scale) {
  return Object.fromEntries(
    Object.entries(FULL_COUNTS).map(([table, n]) => [table, Math.max(1, Math.round(n * scale))]),
  );
}

// One-shot hashing: tens of millions of calls.
const sha = (text) => hash('sha256', text, 'base64url');
const hex = (text) => hash('sha256', text, 'hex');
const uuid = (text) => {
  const h = hex(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
/** A function of the index, computed once per index: every token and entry names a user and client. */
const memo = (f) => {
  const known = [];
  return (i) => (known[i] ??= f(i));
};
const userId = memo((i) => uuid(`seed-user-${i}`));
const clientId = memo((i) => `ghc_${ENVIRONMENT}_${sha(`seed-client-${i}`).slice(0, 22)}`);
const redirectUri = (i) => `https://app${i}.seed.example/callback`;

/**
 * The rows of each table as functions of their index. `now` anchors the times: everything was
 * created over the last 30 days and stays alive for 30 more, so housekeeping removes none of it
 * while a benchmark runs (rotated refresh tokens of a live family, redeemed codes within their
 * expiry: both kept by the server's own rules, storage/expired.ts).
 */
function generators(counts, now) {
  const since = now - 30 * DAY;
  const createdAt = (i, n) => since + Math.floor((i / n) * 30 * DAY);
  const clientOf = (i) => i % counts.clients;
  const userOf = (i) => Math.floor(i / 7) % counts.users;
  let family = { n: -1, id: '' };
  const familyId = (n) => {
    if (family.n !== n) family = { n, id: uuid(`seed-family-${n}`) };
    return family.id;
  };
  return {
    users: (i) => ({
      id: userId(i),
      environment: ENVIRONMENT,
      email: `user${i}@seed.example`,
      email_key: `user${i}@seed.example`,
      name: `Seeded User ${i}`,
      password_hash: null,
      disabled: 0,
      created_at: createdAt(i, counts.users),
      updated_at: createdAt(i, counts.users),
    }),
    clients: (i) => ({
      client_id: clientId(i),
      environment: ENVIRONMENT,
      name: `Seeded client ${i}`,
      type: 'web',
      // Not a hash of any secret: no seeded client can authenticate, none needs to.
      secret_hash: `seed:${sha(`seed-secret-${i}`)}`,
      redirect_uris: JSON.stringify([redirectUri(i)]),
      grant_types: JSON.stringify(['authorization_code', 'refresh_token', 'client_credentials']),
      skip_consent: 0,
      managed_by: null,
      promoted_from: null,
      registration_token_hash: null,
      fetched_at: null,
      allowed_resources: null,
      exchange_audiences: null,
      created_at: createdAt(i, counts.clients),
      updated_at: createdAt(i, counts.clients),
    }),
    // Families of ten: nine rotated tokens and the live one.
    refresh_tokens: (i) => {
      const family = Math.floor(i / 10);
      const at = createdAt(i, counts.refresh_tokens);
      return {
        token_hash: sha(`seed-refresh-${i}`),
        family_id: familyId(family),
        environment: ENVIRONMENT,
        client_id: clientId(clientOf(family)),
        user_id: userId(userOf(family)),
        scope: 'openid offline_access',
        resource: null,
        auth_time: at,
        code_hash: sha(`seed-code-${family}`),
        expires_at: at + 60 * DAY,
        rotated_at: i % 10 === 9 ? null : at + 1000,
        revoked_at: null,
        impersonation_id: null,
        created_at: at,
      };
    },
    authorization_codes: (i) => {
      const at = createdAt(i, counts.authorization_codes);
      return {
        code_hash: sha(`seed-code-${i}`),
        environment: ENVIRONMENT,
        client_id: clientId(clientOf(i)),
        user_id: userId(userOf(i)),
        redirect_uri: redirectUri(clientOf(i)),
        redirect_uri_sent: 1,
        code_challenge: sha(`seed-verifier-${i}`),
        scope: 'openid offline_access',
        nonce: null,
        resource: null,
        auth_time: at,
        expires_at: at + 60 * DAY,
        consumed_at: at + 500,
        impersonation_id: null,
        created_at: at,
      };
    },
  };
}

const AUDIT_EVENTS = [
  (i, c) => ({
    type: 'token.issued',
    actor: `client:${c}`,
    clientId: c,
    data: { grant: 'client_credentials', n: i },
  }),
  (i, c, u) => ({
    type: 'code.redeemed',
    actor: `user:${u}`,
    clientId: c,
    userId: u,
    data: { n: i },
  }),
  (i, c, u) => ({
    type: 'token.refreshed',
    actor: `user:${u}`,
    clientId: c,
    userId: u,
    data: { n: i },
  }),
  (i, c, u) => ({
    type: 'consent.granted',
    actor: `user:${u}`,
    clientId: c,
    userId: u,
    data: { scope: 'openid offline_access' },
  }),
];

/**
 * `count` audit events after the chain's head, in batches, chained by the server's extendChain
 * with the chain key: yields the rows to insert.
 */
function* auditBatches(server, head, count, key, counts, now, batchSize) {
  const since = now - 30 * DAY;
  let at = head;
  for (let start = 0; start < count; start += batchSize) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + batchSize); i++) {
      const c = clientId(i % counts.clients);
      const u = userId(Math.floor(i / 3) % counts.users);
      const shape = AUDIT_EVENTS[i % AUDIT_EVENTS.length](i, c, u);
      batch.push({
        event: { environment: ENVIRONMENT, userId: null, clientId: null, ...shape },
        at: since + Math.floor((i / count) * 30 * DAY),
      });
    }
    const entries = server.extendChain(at, batch, key);
    const last = entries.at(-1);
    at = { seq: last.seq, hash: last.hash };
    yield entries.map(server.toRow);
  }
}

/** The server's own modules, from its build (packages/server/dist). */
export async function serverModules() {
  const dist = new URL('../../packages/server/dist/', import.meta.url);
  const [index, chain, entry, keys] = await Promise.all([
    import(new URL('index.js', dist).href),
    import(new URL('storage/audit/chain.js', dist).href),
    import(new URL('storage/audit/entry.js', dist).href),
    import(new URL('crypto/audit-keys.js', dist).href),
  ]);
  return {
    ...index,
    extendChain: chain.extendChain,
    toRow: entry.toRow,
    auditKeys: keys.auditKeys,
  };
}

/**
 * Creates the schema, environments and signing keys as the server does, then closes: the bulk
 * load works on the tables directly.
 */
async function prepareSchema(server, database, secret) {
  const { handle, stores } = await server.openGatehouse(database, { value: secret });
  try {
    await server.ensureDefaultEnvironments({ stores, clock: Date.now, actor: 'bench-seed' });
    await stores.audit.ensureKeyed();
  } finally {
    await handle.close();
  }
}

const TABLES = ['users', 'clients', 'refresh_tokens', 'authorization_codes'];

/** A progress line on stderr, at most every few seconds. */
const progress = (what) => {
  const t0 = Date.now();
  let shown = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - shown < 5000) return;
    shown = now;
    process.stderr.write(
      `  ${what}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} (${Math.round((now - t0) / 1000)} s)\n`,
    );
  };
};

/** Seeds a SQLite data directory; returns seconds per table. */
export async function seedSqlite(server, dataDir, secret, counts, now = Date.now()) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  await prepareSchema(server, { kind: 'sqlite', dataDir }, secret);
  const db = new SQLite(join(dataDir, 'gatehouse.sqlite'));
  const seconds = {};
  try {
    // For the load only: no rollback journal, no sync, a large page cache. A crash in the middle
    // leaves a seed to throw away (large.bench.mjs marks a seed complete only at the end).
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('cache_size = -2000000');
    db.pragma('temp_store = MEMORY');
    const gen = generators(counts, now);
    const insertAll = (table, rows, columns) => {
      const statement = db.prepare(
        `insert into ${table} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`,
      );
      return db.transaction((batch) => {
        for (const row of batch) statement.run(row);
      })(rows);
    };
    const withoutIndexes = (table, load) => {
      // Secondary indexes are built once at the end, sorted, instead of row by row.
      const indexes = db
        .prepare(
          `select name, sql from sqlite_master where type = 'index' and tbl_name = ? and sql is not null`,
        )
        .all(table);
      for (const { name } of indexes) db.exec(`drop index ${name}`);
      load();
      for (const { sql } of indexes) db.exec(sql);
    };
    for (const table of TABLES) {
      const t0 = Date.now();
      const columns = Object.keys(gen[table](0));
      const report = progress(table);
      withoutIndexes(table, () => {
        const batch = 50_000;
        for (let start = 0; start < counts[table]; start += batch) {
          const rows = [];
          for (let i = start; i < Math.min(counts[table], start + batch); i++)
            rows.push(gen[table](i));
          insertAll(table, rows, columns);
          report(start + rows.length, counts[table]);
        }
      });
      seconds[table] = (Date.now() - t0) / 1000;
    }
    const t0 = Date.now();
    const head = db.prepare('select seq, hash from audit_log order by seq desc limit 1').get() ?? {
      seq: 0,
      hash: '0'.repeat(64),
    };
    const key = server.auditKeys(secret).chain;
    const report = progress('audit_log');
    withoutIndexes('audit_log', () => {
      let done = 0;
      for (const rows of auditBatches(server, head, counts.audit_log, key, counts, now, 50_000)) {
        insertAll('audit_log', rows, Object.keys(rows[0]));
        done += rows.length;
        report(done, counts.audit_log);
      }
    });
    seconds.audit_log = (Date.now() - t0) / 1000;
    db.pragma('locking_mode = NORMAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } finally {
    db.close();
  }
  return seconds;
}

/** Seeds a PostgreSQL database (created by the caller); returns seconds per table. */
export async function seedPostgres(server, url, secret, counts, now = Date.now()) {
  await prepareSchema(server, { kind: 'postgres', url }, secret);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const seconds = {};
  try {
    // The load only: a lost transaction is a seed to throw away, not lost data.
    await client.query('set synchronous_commit = off');
    await client.query(`set maintenance_work_mem = '512MB'`);
    const withoutIndexes = async (table, load) => {
      const { rows: indexes } = await client.query(
        `select indexname, indexdef from pg_indexes
          where schemaname = current_schema() and tablename = $1
            and indexname not in (select conname from pg_constraint where conrelid = $1::regclass)`,
        [table],
      );
      for (const { indexname } of indexes) await client.query(`drop index "${indexname}"`);
      await load();
      for (const { indexdef } of indexes) await client.query(indexdef);
    };
    /** One statement per batch: the rows as one JSON parameter, made rows of the table again. */
    const insertAll = async (table, rows) => {
      const columns = Object.keys(rows[0]).join(', ');
      await client.query(
        `insert into ${table} (${columns}) select ${columns} from json_populate_recordset(null::${table}, $1::json)`,
        [JSON.stringify(rows)],
      );
    };
    const load = async (table, batches, total) => {
      const t0 = Date.now();
      const report = progress(table);
      await withoutIndexes(table, async () => {
        let done = 0;
        let pending = 0;
        await client.query('begin');
        for (const rows of batches) {
          await insertAll(table, rows);
          done += rows.length;
          pending += rows.length;
          // Large transactions, not one: a failure costs one of them, and the WAL recycles.
          if (pending >= 500_000) {
            await client.query('commit');
            await client.query('begin');
            pending = 0;
          }
          report(done, total);
        }
        await client.query('commit');
      });
      await client.query(`vacuum analyze ${table}`);
      seconds[table] = (Date.now() - t0) / 1000;
    };
    const gen = generators(counts, now);
    const batchesOf = function* (table, size = 20_000) {
      for (let start = 0; start < counts[table]; start += size) {
        const rows = [];
        for (let i = start; i < Math.min(counts[table], start + size); i++)
          rows.push(gen[table](i));
        yield rows;
      }
    };
    for (const table of TABLES) await load(table, batchesOf(table), counts[table]);
    const { rows } = await client.query(
      'select seq, hash from audit_log order by seq desc limit 1',
    );
    const head =
      rows[0] === undefined
        ? { seq: 0, hash: '0'.repeat(64) }
        : { seq: Number(rows[0].seq), hash: rows[0].hash };
    const key = server.auditKeys(secret).chain;
    await load(
      'audit_log',
      auditBatches(server, head, counts.audit_log, key, counts, now, 20_000),
      counts.audit_log,
    );
  } finally {
    await client.end();
  }
  return seconds;
}
