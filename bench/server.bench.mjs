// Gatehouse and oidc-provider side by side on this machine: each server in its own process, the
// load from this one (autocannon), bounded runs on loopback only. Prints a table, writes JSON to
// bench/results/. Figures only: nothing here passes or fails.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const here = new URL('.', import.meta.url);

function start(script, args = []) {
  const child = spawn(process.execPath, [new URL(script, here).pathname, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 30_000);
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, info: JSON.parse(line) });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** Peak resident set size of a process, from /proc (Linux). */
function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return Math.round(kb / 1024);
  } catch {
    return NaN;
  }
}

function run(request) {
  return new Promise((resolve, reject) => {
    autocannon({ ...request, connections: CONNECTIONS, duration: DURATION_S }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

function scenarios(info) {
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(info.clientId)}:${encodeURIComponent(info.clientSecret)}`).toString('base64')}`;
  return [
    {
      name: 'client_credentials (JWT access token)',
      request: {
        url: info.token,
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=reports%3Aread',
      },
    },
    { name: 'metadata', request: { url: info.metadata } },
    { name: 'JWKS', request: { url: info.jwks } },
  ];
}

const servers = [
  { name: 'gatehouse (SQLite)', script: 'gatehouse-server.mjs' },
  { name: 'oidc-provider (memory)', script: 'oidc-provider-server.mjs' },
];

const rows = [];
for (const server of servers) {
  const { child, info } = await start(server.script);
  try {
    for (const scenario of scenarios(info)) {
      // A short warm-up, so JIT and caches are not what is measured.
      await run({ ...scenario.request, duration: 1 });
      const result = await run(scenario.request);
      rows.push({
        scenario: scenario.name,
        server: server.name,
        'req/s': Math.round(result.requests.average),
        'p50 ms': result.latency.p50,
        'p99 ms': result.latency.p99,
        errors: result.errors + result.non2xx,
        'peak RSS MB': peakRssMb(child.pid),
      });
    }
  } finally {
    child.kill('SIGTERM');
  }
}

console.log(
  `Servers side by side, ${CONNECTIONS} connections, ${DURATION_S} s per scenario, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
);
console.table(rows);
for (const scenario of new Set(rows.map((r) => r.scenario))) {
  const [ours, peer] = servers.map((s) =>
    rows.find((r) => r.scenario === scenario && r.server === s.name),
  );
  if (ours && peer && peer['req/s'] > 0)
    console.log(
      `${scenario}: gatehouse ${(ours['req/s'] / peer['req/s']).toFixed(2)}× the peer's throughput`,
    );
}
mkdirSync(new URL('results/', here), { recursive: true });
const file = new URL(`results/server-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, here);
writeFileSync(
  file,
  JSON.stringify(
    { node: process.version, connections: CONNECTIONS, durationS: DURATION_S, rows },
    null,
    2,
  ),
);
console.log(`results written to ${file.pathname}`);
