// Cost as the data grows (issue #15): seeds a large installation on SQLite and on PostgreSQL in
// bulk (bench/lib/seed.mjs), runs the scenarios of bench/server.bench.mjs against the seeded
// databases side by side with empty ones and the peer, in one run, then `gatehouse audit verify`
// over each seeded chain. Figures only: nothing here passes or fails.
//
//   npm run bench:large                     one million users, a hundred thousand clients, ten
//                                           million refresh tokens, codes and audit entries
//   BENCH_SCALE=0.01 npm run bench:large    a hundredth of that (a quick check)
//
// Settings (environment): BENCH_SCALE (default 1), BENCH_LARGE_DIR (where seeds are kept between
// runs; default $TMPDIR/gatehouse-bench-large), BENCH_RESEED=1 (seed again even when a seed of
// this scale is kept), BENCH_LARGE_DATABASES (sqlite,postgres), BENCH_LARGE_STEPS (seed,bench,verify;
// `seed` alone seeds and stops), GATEHOUSE_BENCH_POSTGRES_URL (an
// admin URL), and every setting of server.bench.mjs (BENCH_DURATION, BENCH_SCENARIOS, ...).
//
// A seed is kept (SQLite: a data directory; PostgreSQL: a database named after the scale) and
// used again by the next run of the same scale; each run adds what its requests write (a few
// hundred thousand rows at most). Remove it with BENCH_RESEED=1, or delete the directory and
// `drop database gatehouse_bench_large_<scale>`.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { machine } from './lib/report.mjs';
import { countsAt, seedPostgres, seedSqlite, serverModules } from './lib/seed.mjs';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
if (!(SCALE > 0 && SCALE <= 10)) throw new Error(`BENCH_SCALE must be above 0 and at most 10`);
const DATABASES = (process.env.BENCH_LARGE_DATABASES ?? 'sqlite,postgres').split(',');
const STEPS = (process.env.BENCH_LARGE_STEPS ?? 'seed,bench,verify').split(',');
const POSTGRES_ADMIN_URL =
  process.env.GATEHOUSE_BENCH_POSTGRES_URL ??
  process.env.GATEHOUSE_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const here = new URL('.', import.meta.url);
const tag = String(SCALE).replace('.', '_');
const root = join(
  process.env.BENCH_LARGE_DIR ?? join(tmpdir(), 'gatehouse-bench-large'),
  `scale-${tag}`,
);
const metaFile = join(root, 'seed.json');
const sqliteDir = join(root, 'sqlite');
const postgresName = `gatehouse_bench_large_${tag}`;
const postgresUrl = (() => {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${postgresName}`;
  return url.href;
})();
const counts = countsAt(SCALE);

async function admin(statement) {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

/** What is kept of a seed: its secret, its counts, and which databases are complete. */
function readMeta() {
  if (process.env.BENCH_RESEED === '1' || !existsSync(metaFile)) return undefined;
  const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
  return JSON.stringify(meta.counts) === JSON.stringify(counts) ? meta : undefined;
}

function writeMeta(meta) {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  // Another run of the same seed may have finished a database meanwhile (one per database, in
  // parallel: BENCH_LARGE_DATABASES=sqlite and =postgres): keep what it recorded.
  if (existsSync(metaFile)) {
    const kept = JSON.parse(readFileSync(metaFile, 'utf8'));
    if (kept.secret === meta.secret) meta.seeded = { ...kept.seeded, ...meta.seeded };
  }
  // It holds the seed's server secret: owner only.
  writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
}

const du = (path) => {
  let bytes = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    bytes += entry.isDirectory() ? du(full) : statSync(full).size;
  }
  return bytes;
};
const mb = (bytes) => Math.round(bytes / 2 ** 20);

async function ensureSeeds() {
  let meta = readMeta();
  if (meta === undefined) {
    rmSync(root, { recursive: true, force: true });
    await admin(`drop database if exists ${postgresName} with (force)`);
    meta = { scale: SCALE, counts, secret: randomBytes(36).toString('base64url'), seeded: {} };
    writeMeta(meta);
  }
  const server = await serverModules();
  if (DATABASES.includes('sqlite') && meta.seeded.sqlite === undefined) {
    process.stderr.write(`seeding SQLite in ${sqliteDir}\n`);
    rmSync(sqliteDir, { recursive: true, force: true });
    const t0 = Date.now();
    const tables = await seedSqlite(server, sqliteDir, meta.secret, counts);
    meta.seeded.sqlite = {
      seconds: Math.round((Date.now() - t0) / 1000),
      tables,
      at: new Date().toISOString(),
    };
    writeMeta(meta);
  }
  if (DATABASES.includes('postgres')) {
    const exists =
      (await admin(`select 1 from pg_database where datname = '${postgresName}'`)).rowCount > 0;
    if (meta.seeded.postgres === undefined || !exists) {
      process.stderr.write(`seeding PostgreSQL in the database ${postgresName}\n`);
      await admin(`drop database if exists ${postgresName} with (force)`);
      await admin(`create database ${postgresName}`);
      const t0 = Date.now();
      const tables = await seedPostgres(server, postgresUrl, meta.secret, counts);
      meta.seeded.postgres = {
        seconds: Math.round((Date.now() - t0) / 1000),
        tables,
        at: new Date().toISOString(),
      };
      writeMeta(meta);
    }
  }
  return meta;
}

/** Disk used by each seeded database now. */
async function sizes() {
  const result = {};
  if (DATABASES.includes('sqlite') && existsSync(sqliteDir)) result.sqliteMb = mb(du(sqliteDir));
  if (DATABASES.includes('postgres'))
    result.postgresMb = mb(
      Number(
        (await admin(`select pg_database_size('${postgresName}') as size`)).rows[0]?.size ?? NaN,
      ),
    );
  return result;
}

function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`)),
    );
  });
}

/**
 * `gatehouse audit verify` over a seeded chain, under /usr/bin/time -v: its wall time and peak
 * RSS (the whole process, Node.js included).
 */
function auditVerify(dataArgs, secret) {
  const cli = new URL('../packages/cli/bin/gatehouse.js', here).pathname;
  const result = spawnSync(
    '/usr/bin/time',
    ['-v', process.execPath, cli, 'audit', 'verify', '--json', ...dataArgs],
    { encoding: 'utf8', env: { ...process.env, GATEHOUSE_SECRET_KEY: secret }, maxBuffer: 2 ** 24 },
  );
  const stderr = result.stderr ?? '';
  const field = (name) => new RegExp(`${name}: (.+)`).exec(stderr)?.[1]?.trim();
  const [h, m, s] = (field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)') ?? '')
    .split(':')
    .map(Number)
    .reverse()
    .concat([0, 0])
    .slice(0, 3)
    .reverse();
  const seconds = h * 3600 + m * 60 + s;
  let verification;
  try {
    verification = JSON.parse(result.stdout);
  } catch {
    verification = {
      ok: false,
      reason: `no JSON: ${result.stdout.slice(0, 200)} ${stderr.slice(-400)}`,
    };
  }
  return {
    ok: verification.ok === true,
    entries: verification.count,
    seconds,
    entriesPerSecond: Math.round(verification.count / seconds),
    peakRssMb: Math.round(Number(field('Maximum resident set size \\(kbytes\\)')) / 1024),
    ...(verification.ok === true ? {} : { reason: verification.reason }),
  };
}

const ratio = (value, reference) =>
  Number.isFinite(value) && reference > 0 ? Number((value / reference).toFixed(2)) : null;

/**
 * The scenarios of server.bench.mjs on the seeded databases, the empty ones and the peer in one
 * run; each seeded figure as a ratio to the empty one (the goal: throughput within 10%, p99
 * within 20%).
 */
async function benchSeededAgainstEmpty() {
  const servers = ['peer', ...DATABASES, ...DATABASES.map((d) => `${d}-large`)];
  await run(process.execPath, [new URL('server.bench.mjs', here).pathname], {
    BENCH_SERVERS: process.env.BENCH_SERVERS ?? servers.join(','),
    BENCH_SECRET_KEY: meta.secret,
    BENCH_RESULTS_FILE: serverResults,
    ...(DATABASES.includes('sqlite') ? { BENCH_LARGE_SQLITE_DIR: sqliteDir } : {}),
    ...(DATABASES.includes('postgres') ? { BENCH_LARGE_POSTGRES_URL: postgresUrl } : {}),
  });
  const { rows } = JSON.parse(readFileSync(serverResults, 'utf8'));

  // Seeded against empty, in the same run: the goal is throughput within 10% and p99 within 20%.
  const comparison = [];
  for (const database of DATABASES)
    for (const row of rows.filter((r) => r.target === `${database}-large`)) {
      const empty = rows.find((r) => r.target === database && r.scenario === row.scenario);
      if (empty === undefined) continue;
      const throughput = ratio(row.perSecond, empty.perSecond);
      const p99 = ratio(row.p99Ms, empty.p99Ms);
      comparison.push({
        database,
        scenario: row.scenario,
        emptyPerSecond: Math.round(empty.perSecond),
        seededPerSecond: Math.round(row.perSecond),
        throughputRatio: throughput,
        emptyP99Ms: empty.p99Ms,
        seededP99Ms: row.p99Ms,
        p99Ratio: p99,
        seededVsPeer: row.ratio,
        met: throughput !== null && p99 !== null && throughput >= 0.9 && p99 <= 1.2,
      });
    }
  console.log(`\nSeeded (scale ${SCALE}: ${JSON.stringify(counts)}) against empty, same run:`);
  console.table(
    comparison.map((c) => ({
      database: c.database,
      scenario: c.scenario,
      'per s, empty → seeded': `${c.emptyPerSecond} → ${c.seededPerSecond}`,
      'throughput ×': c.throughputRatio,
      'p99 ms, empty → seeded': `${c.emptyP99Ms?.toFixed(1)} → ${c.seededP99Ms?.toFixed(1)}`,
      'p99 ×': c.p99Ratio,
      'seeded vs peer ×': c.seededVsPeer,
      'goal (≥ 0.9×, p99 ≤ 1.2×)': c.met ? 'met' : 'NOT MET',
    })),
  );
  return comparison;
}

const started = Date.now();
const meta = await ensureSeeds();
const seedSizes = await sizes();
process.stderr.write(
  `seeds of scale ${SCALE} in ${root}: ${JSON.stringify(meta.seeded)} ${JSON.stringify(seedSizes)}\n`,
);

const resultsDir = new URL('results/', here);
mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const serverResults = new URL(`large-${tag}-${stamp}-server.json`, resultsDir).pathname;
const comparison = STEPS.includes('bench') ? await benchSeededAgainstEmpty() : [];

const verify = {};
if (STEPS.includes('verify') && DATABASES.includes('sqlite'))
  verify.sqlite = auditVerify(['--data-dir', sqliteDir], meta.secret);
if (STEPS.includes('verify') && DATABASES.includes('postgres'))
  verify.postgres = auditVerify(['--database-url', postgresUrl], meta.secret);
if (Object.keys(verify).length > 0) {
  console.log(
    '\ngatehouse audit verify over the seeded chains (the whole process, under /usr/bin/time -v):',
  );
  console.table(
    Object.entries(verify).map(([database, v]) => ({
      database,
      result: v.ok ? 'intact' : `FAILED: ${v.reason}`,
      entries: v.entries,
      s: v.seconds,
      'entries/s': v.entriesPerSecond,
      'peak RSS MB': v.peakRssMb,
    })),
  );
}

const finalSizes = await sizes();
const host = machine();
console.log(
  `\nSeeding (s): ${Object.entries(meta.seeded)
    .map(([d, s]) => `${d} ${s.seconds}`)
    .join(', ')}; disk now: ${Object.entries(finalSizes)
    .map(([d, s]) => `${d} ${s} MB`)
    .join(', ')}; ${host.cpus} × ${host.cpu}`,
);
const json = new URL(`large-${tag}-${stamp}.json`, resultsDir).pathname;
writeFileSync(
  json,
  `${JSON.stringify(
    {
      machine: host,
      scale: SCALE,
      counts,
      seeded: meta.seeded,
      disk: finalSizes,
      comparison,
      auditVerify: verify,
      serverResults: STEPS.includes('bench') ? serverResults : null,
      totalS: Math.round((Date.now() - started) / 1000),
    },
    null,
    2,
  )}\n`,
);
console.log(
  `results written to ${json}${STEPS.includes('bench') ? ` (the bench table: ${serverResults})` : ''}`,
);
