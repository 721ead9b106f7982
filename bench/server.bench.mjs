// Gatehouse and oidc-provider side by side on this machine. Each server runs in its own process(es)
// on loopback; this process is the load generator (bench/lib/load.mjs). Every scenario runs for a
// warm-up and then a bounded, measured time against each server. Prints a table and writes JSON and
// an SVG chart to bench/results/. Figures only: nothing here passes or fails.
//
// Gatehouse runs on SQLite, on PostgreSQL, and as two processes sharing one PostgreSQL database,
// with the load generator alternating between them request by request (no proxy in between, so
// a flow's authorize and token requests land on different processes).
//
// Settings (environment): BENCH_DURATION (s, default 5), BENCH_WARMUP (s, default 2),
// BENCH_CONNECTIONS (virtual users, default 10), BENCH_ROUNDS (runs per figure, the median is
// kept; default 1), BENCH_RETRIES (how often a run disturbed by other work on the machine is
// measured again; default 2), BENCH_SERVERS (comma list of peer, floor, sqlite,
// postgres, postgres2), BENCH_SCENARIOS (comma list of name fragments), BENCH_CPU_PROF (a folder:
// Gatehouse processes write V8 CPU profiles there; see bench/profile-summary.mjs),
// GATEHOUSE_BENCH_POSTGRES_URL (an admin URL; default postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_VARIANTS (see below), BENCH_RESULTS_FILE (where the JSON goes; default a new file in
// bench/results/).
//
// Seeded databases (bench/large.bench.mjs sets these): BENCH_LARGE_SQLITE_DIR (a SQLite data
// directory) and BENCH_LARGE_POSTGRES_URL (a database) add the targets sqlite-large and
// postgres-large, which run on that data instead of an empty database; BENCH_SECRET_KEY is then
// the secret it was seeded with (its signing keys are sealed and its audit chain keyed under it).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { runFor, VirtualUser } from './lib/load.mjs';
import { goals, machine, printGoals, printTable, svgChart, withRatios } from './lib/report.mjs';
import { describeTarget, SCENARIOS } from './lib/scenarios.mjs';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const RETRIES = Number(process.env.BENCH_RETRIES ?? 2);
/** A run during which other processes used more than this share of the CPUs is disturbed. */
const DISTURBED_PERCENT = 10;
const CPU_PROF = process.env.BENCH_CPU_PROF;
const POSTGRES_ADMIN_URL =
  process.env.GATEHOUSE_BENCH_POSTGRES_URL ??
  process.env.GATEHOUSE_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
// PostgreSQL start-up needs the key that seals signing keys; both processes share it.
const SECRET_KEY = process.env.BENCH_SECRET_KEY ?? randomBytes(36).toString('base64url');
const here = new URL('.', import.meta.url);
// Linux counts process CPU time in clock ticks: 100 a second on every common configuration.
const CLOCK_TICKS = 100;
const PEER = 'oidc-provider (memory)';

function start(script, args = [], nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, new URL(script, here).pathname, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GATEHOUSE_SECRET_KEY: SECRET_KEY },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 60_000);
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, info: JSON.parse(line) });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${stderr}`));
    });
  });
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Peak resident set size of a process so far, from /proc (Linux). */
function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024);
  } catch {
    return NaN;
  }
}

/** CPU time a process has used so far (user + system), in ms, from /proc (Linux). */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** CPU time of the whole machine so far, busy and total, in ms (Linux /proc/stat). */
function machineCpuMs() {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const ticks = fields.slice(0, 8).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: ((total - idle) * 1000) / CLOCK_TICKS, total: (total * 1000) / CLOCK_TICKS };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/**
 * CPU time used so far by the PostgreSQL processes working for one database: its backends (their
 * process titles name it) and the shared WAL writer, checkpointer and background writer.
 */
function postgresCpuMs(database) {
  if (database === undefined) return 0;
  let sum = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        if (
          title.startsWith('postgres: ') &&
          (title.includes(` ${database} `) ||
            /(walwriter|checkpointer|background writer)/.test(title))
        )
          sum += cpuMs(Number(entry));
      } catch {
        // the process ended meanwhile
      }
    }
  } catch {
    return NaN;
  }
  return sum;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway PostgreSQL database, dropped afterwards. */
async function throwawayPostgres() {
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (statement) => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

/** Each Gatehouse process profiles into a folder of its own, one file per thread. */
const profileArgs = (label) =>
  CPU_PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}/${label}-${Date.now()}`];

const TARGETS = [
  {
    key: 'peer',
    name: PEER,
    launch: async () => ({ processes: [await start('oidc-provider-server.mjs')] }),
  },
  {
    // Not an authorization server: Fastify signing one ES256 JWT per request and nothing else
    // (floor-server.mjs), the ceiling for any server on this stack.
    key: 'floor',
    name: 'floor (Fastify + ES256 only)',
    scenarios: ['client_credentials'],
    launch: async () => ({ processes: [await start('floor-server.mjs')] }),
  },
  {
    key: 'sqlite',
    name: 'gatehouse (SQLite)',
    launch: async (extra = []) => ({
      processes: [
        await start(
          'gatehouse-server.mjs',
          ['--setup', String(CONNECTIONS), ...extra],
          profileArgs('gatehouse-sqlite'),
        ),
      ],
    }),
  },
  {
    key: 'postgres',
    name: 'gatehouse (PostgreSQL)',
    async launch(extra = []) {
      const database = await throwawayPostgres();
      try {
        const args = ['--database-url', database.url, '--setup', String(CONNECTIONS), ...extra];
        return {
          processes: [await start('gatehouse-server.mjs', args, profileArgs('gatehouse-pg'))],
          cleanup: database.drop,
          database: database.name,
        };
      } catch (error) {
        await database.drop();
        throw error;
      }
    },
  },
  {
    key: 'postgres2',
    name: 'gatehouse (2 processes, PostgreSQL)',
    async launch() {
      const database = await throwawayPostgres();
      const processes = [];
      try {
        // One public base URL for both, as behind a load balancer: the issuer is the same.
        const [a, b] = [await freePort(), await freePort()];
        const common = ['--database-url', database.url, '--base-url', `http://127.0.0.1:${a}`];
        processes.push(
          await start(
            'gatehouse-server.mjs',
            [...common, '--port', String(a), '--setup', String(CONNECTIONS)],
            profileArgs('gatehouse-pg2-a'),
          ),
        );
        processes.push(
          await start(
            'gatehouse-server.mjs',
            [...common, '--port', String(b)],
            profileArgs('gatehouse-pg2-b'),
          ),
        );
        return { processes, cleanup: database.drop, database: database.name };
      } catch (error) {
        await Promise.all(processes.map(({ child }) => stop(child)));
        await database.drop();
        throw error;
      }
    },
  },
];

// Gatehouse on a seeded database (bench/large.bench.mjs), its data kept afterwards.
if (process.env.BENCH_LARGE_SQLITE_DIR !== undefined)
  TARGETS.push({
    key: 'sqlite-large',
    name: 'gatehouse (SQLite, seeded)',
    launch: async () => ({
      processes: [
        await start(
          'gatehouse-server.mjs',
          ['--data-dir', process.env.BENCH_LARGE_SQLITE_DIR, '--setup', String(CONNECTIONS)],
          profileArgs('gatehouse-sqlite-large'),
        ),
      ],
    }),
  });
if (process.env.BENCH_LARGE_POSTGRES_URL !== undefined)
  TARGETS.push({
    key: 'postgres-large',
    name: 'gatehouse (PostgreSQL, seeded)',
    launch: async () => ({
      processes: [
        await start(
          'gatehouse-server.mjs',
          ['--database-url', process.env.BENCH_LARGE_POSTGRES_URL, '--setup', String(CONNECTIONS)],
          profileArgs('gatehouse-pg-large'),
        ),
      ],
      database: new URL(process.env.BENCH_LARGE_POSTGRES_URL).pathname.slice(1),
    }),
  });

// BENCH_VARIANTS: other builds of @gatehouse/server run beside this one, to measure a change
// before and after in the same run: a comma list of NAME=PATH, PATH being a build's dist/index.js.
// Each adds the targets NAME-sqlite and NAME-postgres.
for (const variant of (process.env.BENCH_VARIANTS ?? '').split(',').filter((v) => v !== '')) {
  const [name, path] = variant.split('=');
  if (name === undefined || path === undefined) throw new Error(`BENCH_VARIANTS: ${variant}?`);
  for (const key of ['sqlite', 'postgres']) {
    const spec = TARGETS.find((t) => t.key === key);
    TARGETS.push({
      key: `${name}-${key}`,
      name: spec.name.replace('gatehouse', name),
      launch: () => spec.launch(['--module', path]),
    });
  }
}

const selectedServers = process.env.BENCH_SERVERS?.split(',').map((s) => s.trim());
const selectedScenarios = process.env.BENCH_SCENARIOS?.split(',').map((s) => s.trim());
const targets = TARGETS.filter(
  (t) => selectedServers === undefined || selectedServers.includes(t.key),
);
const scenarios = SCENARIOS.filter(
  (s) => selectedScenarios === undefined || selectedScenarios.some((part) => s.name.includes(part)),
);

/** Starts a target's processes and reads its discovery document. */
async function launch(spec) {
  const { processes, cleanup, database } = await spec.launch();
  const server = { spec, processes, cleanup, database, origins: processes.map((p) => p.info.url) };
  running.push(server);
  const { info } = processes[0];
  const metadata = await (await fetch(`${info.issuer}/.well-known/openid-configuration`)).json();
  server.target = describeTarget(info, metadata);
}

async function measure(server, scenario) {
  const { spec, processes, origins, target, database } = server;
  const users = Array.from({ length: CONNECTIONS }, (_, i) => new VirtualUser(i, origins));
  try {
    if (scenario.prepare !== undefined)
      await Promise.all(users.map((user) => scenario.prepare(user, target)));
    const operation = (user) => scenario.operation(user, target);
    // A warm-up, so that JIT compilation and cold caches are not what is measured.
    if (WARMUP_S > 0) await runFor(users, WARMUP_S, operation);
    const cpuBefore = processes.map(({ child }) => cpuMs(child.pid));
    const machineBefore = machineCpuMs();
    const loadBefore = process.cpuUsage();
    const postgresBefore = postgresCpuMs(database);
    const result = await runFor(users, DURATION_S, operation);
    const serverCpuMs = processes
      .map(({ child }, i) => cpuMs(child.pid) - cpuBefore[i])
      .reduce((a, b) => a + b, 0);
    const postgresMs = postgresCpuMs(database) - postgresBefore;
    const load = process.cpuUsage(loadBefore);
    const machineAfter = machineCpuMs();
    const machineBusyMs = machineAfter.busy - machineBefore.busy;
    // CPU used by anything but the servers, their database and this load generator: other work
    // on the machine, which the figures of this run share the CPUs with.
    const otherMs = machineBusyMs - serverCpuMs - postgresMs - (load.user + load.system) / 1000;
    process.stderr.write(
      `${spec.name}: ${scenario.name}: ${Math.round(result.perSecond)} ${scenario.unit}/s\n`,
    );
    return {
      scenario: scenario.name,
      server: spec.name,
      target: spec.key,
      unit: scenario.unit,
      perSecond: result.perSecond,
      operations: result.operations,
      p50Ms: result.p50,
      p99Ms: result.p99,
      errors: result.errors,
      // Server CPU per operation (all its processes; PostgreSQL's own is postgresCpuMsPerOp):
      // steadier than throughput when other work shares the machine.
      cpuMsPerOp: serverCpuMs / Math.max(1, result.operations + result.errors),
      serverCpuShare: serverCpuMs / (DURATION_S * 1000),
      postgresCpuMsPerOp: postgresMs / Math.max(1, result.operations + result.errors),
      loadGeneratorCpuShare: (load.user + load.system) / 1000 / (DURATION_S * 1000),
      // Of all the machine's CPUs (100% = every core busy).
      otherCpuPercent: Math.max(0, (100 * otherMs) / (machineAfter.total - machineBefore.total)),
      ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
      // Peak so far for each process: the servers live through every scenario in turn.
      peakRssMb: processes.map(({ child }) => peakRssMb(child.pid)),
    };
  } finally {
    await Promise.all(users.map((user) => user.close()));
  }
}

const running = [];

async function shutDown() {
  for (const server of running.splice(0)) {
    await Promise.all(server.processes.map(({ child }) => stop(child)));
    await server.cleanup?.();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    process.stderr.write('stopping: the servers, then the throwaway databases\n');
    void shutDown().finally(() => process.exit(130));
  });

const started = Date.now();
// Every server is started first and stays up; each scenario then runs against each server in
// turn, so the figures compared with each other are taken close together in time.
const rows = [];
try {
  for (const spec of targets) await launch(spec);
  for (const scenario of scenarios) {
    const taking = running.filter(
      (server) => server.spec.scenarios?.includes(scenario.name) ?? true,
    );
    const rounds = new Map(taking.map((server) => [server, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Every other round in reverse order, so a drift in the machine's speed during the
      // rounds weighs on every server alike.
      const order = round % 2 === 0 ? taking : [...taking].reverse();
      for (const server of order) {
        let row = await measure(server, scenario);
        // Other work on the machine takes CPU from the run: measure again, keep the quieter.
        for (let retry = 0; retry < RETRIES && row.otherCpuPercent > DISTURBED_PERCENT; retry++) {
          process.stderr.write(
            `  other work used ${Math.round(row.otherCpuPercent)}% of the CPUs: measuring again\n`,
          );
          await new Promise((resolve) => setTimeout(resolve, 3000));
          const again = await measure(server, scenario);
          if (again.otherCpuPercent < row.otherCpuPercent) row = again;
        }
        rounds.get(server).push(row);
      }
    }
    for (const server of taking) {
      // With several rounds, the median by throughput.
      const measured = rounds.get(server).sort((x, y) => x.perSecond - y.perSecond);
      rows.push({ ...measured[Math.floor(measured.length / 2)], rounds: measured.length });
    }
  }
} finally {
  await shutDown();
}
const results = withRatios(rows, PEER);
// The goals are judged on this build's targets with empty databases.
const judged = goals(
  results,
  targets.filter((t) => ['sqlite', 'postgres', 'postgres2'].includes(t.key)).map((t) => t.name),
  TARGETS.find((t) => t.key === 'floor').name,
);
const host = machine();
const title = `Gatehouse vs oidc-provider: ${CONNECTIONS} connections, ${DURATION_S} s per scenario, ${host.cpus} × ${host.cpu}, Node ${host.node}`;

console.log(`\n${title}`);
printTable(results);
for (const scenario of new Set(results.map((r) => r.scenario))) {
  const ratios = results
    .filter((r) => r.scenario === scenario && r.ratio !== null)
    .map((r) => `${r.server.replace('gatehouse ', '')} ${r.ratio.toFixed(2)}×`);
  if (ratios.length > 0) console.log(`${scenario}: gatehouse vs peer: ${ratios.join(', ')}`);
}
printGoals(judged);

const results_dir = new URL('results/', here);
mkdirSync(results_dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const json =
  process.env.BENCH_RESULTS_FILE === undefined
    ? new URL(`server-${stamp}.json`, results_dir)
    : new URL(process.env.BENCH_RESULTS_FILE, `file://${process.cwd()}/`);
const svg = new URL(`${json.href.replace(/\.json$/, '')}.svg`);
writeFileSync(
  json,
  `${JSON.stringify(
    {
      machine: host,
      settings: {
        connections: CONNECTIONS,
        durationS: DURATION_S,
        warmupS: WARMUP_S,
        rounds: ROUNDS,
        loadGenerator: 'undici Client per virtual user and process, pipelining 1, keep-alive',
      },
      startedAt: new Date(started).toISOString(),
      totalS: Math.round((Date.now() - started) / 1000),
      rows: results,
      goals: judged,
    },
    null,
    2,
  )}\n`,
);
writeFileSync(
  svg,
  svgChart(
    results,
    targets.map((t) => t.name),
    title,
  ),
);
console.log(`\nresults written to ${json.pathname} and ${svg.pathname}`);
