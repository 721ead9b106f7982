// Soak: sustained mixed load against one Gatehouse process on SQLite, for minutes, with short
// token lifetimes, to show that storage stays bounded (issue #14): per minute it prints
// throughput, p99, the database and WAL file sizes and the server's RSS, then the sizes once the
// load has stopped. The goal is flat lines. Figures only: nothing here passes or fails. Not part
// of `npm test`.
//
// Short lifetimes: the server's clock runs SOAK_CLOCK_SPEED times faster than real time (default
// 60: a ten-minute access token expires after ten seconds, a code after one), and housekeeping
// runs every SOAK_HOUSEKEEPING_MS (default 5000). Every virtual user cycles through
// client_credentials, a code flow (authorize + token), a refresh-token rotation and an
// introspection; after 20 rotations it revokes its refresh token (a sign-out: the family ends)
// and starts a new family with a code flow. The audit log has a retention of one hour of the
// server's clock (a minute of real time at speed 60): older entries are archived to files in the
// data directory and removed, as `gatehouse serve --audit-retention` does.
//
// Settings (environment): SOAK_DURATION (s, default 180), SOAK_CONNECTIONS (virtual users,
// default 10), SOAK_CLOCK_SPEED, SOAK_HOUSEKEEPING_MS, SOAK_AUDIT_RETENTION (days of the server's
// clock, default 0.041667: an hour; `off` keeps the audit log), SOAK_AFTER (s to watch the files
// once the load stops, default 15). Writes JSON to bench/results/soak-<time>.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { VirtualUser } from './lib/load.mjs';
import { machine } from './lib/report.mjs';
import { describeTarget, SCENARIOS } from './lib/scenarios.mjs';

const DURATION_S = Number(process.env.SOAK_DURATION ?? 180);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 10);
const CLOCK_SPEED = Number(process.env.SOAK_CLOCK_SPEED ?? 60);
const HOUSEKEEPING_MS = Number(process.env.SOAK_HOUSEKEEPING_MS ?? 5000);
const AFTER_S = Number(process.env.SOAK_AFTER ?? 15);
const AUDIT_RETENTION = process.env.SOAK_AUDIT_RETENTION ?? '0.041667';
const WINDOW_S = 60;
const FORM = 'application/x-www-form-urlencoded';
const here = new URL('.', import.meta.url);

function startServer() {
  const child = spawn(
    process.execPath,
    [
      new URL('gatehouse-server.mjs', here).pathname,
      '--setup',
      String(CONNECTIONS),
      '--clock-speed',
      String(CLOCK_SPEED),
      '--housekeeping-ms',
      String(HOUSEKEEPING_MS),
      ...(AUDIT_RETENTION === 'off' ? [] : ['--audit-retention', AUDIT_RETENTION]),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GATEHOUSE_SECRET_KEY: randomBytes(36).toString('base64url') },
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) =>
      resolve({ child, info: JSON.parse(line) }),
    );
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}:\n${stderr}`)));
  });
}

const fileSize = (path) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};
const rssMb = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? NaN : Number(match[1]) / 1024;
};
const mb = (bytes) => bytes / 1024 / 1024;
const archivedMb = (dir) => {
  try {
    return mb(readdirSync(dir).reduce((sum, name) => sum + fileSize(join(dir, name)), 0));
  } catch {
    return 0;
  }
};
const TABLES = ['access_tokens', 'refresh_tokens', 'authorization_codes', 'audit_log'];
/** Rows per table, read on a connection of its own (WAL: it does not block the server). */
function rowCounts(file) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return Object.fromEntries(
      TABLES.map((table) => [table, db.prepare(`select count(*) as n from ${table}`).get().n]),
    );
  } finally {
    db.close();
  }
}

const scenario = (fragment) => SCENARIOS.find((s) => s.name.startsWith(fragment));
const clientCredentials = scenario('client_credentials');
const codeFlow = scenario('code flow');
const refresh = scenario('refresh-token');
const introspection = scenario('introspection');

async function revokeRefresh(user, target, metadata) {
  const response = await user.request({
    method: 'POST',
    path: new URL(metadata.revocation_endpoint).pathname,
    headers: { authorization: target.basic, 'content-type': FORM },
    body: new URLSearchParams({
      token: user.state.refreshToken,
      token_type_hint: 'refresh_token',
    }).toString(),
  });
  if (response.status !== 200) throw new Error(`revoke: HTTP ${response.status}`);
}

/** One step of a user's cycle. */
async function step(user, target, metadata) {
  const turn = user.state.step++ % 4;
  if (turn === 0) return clientCredentials.operation(user, target);
  if (turn === 1) return codeFlow.operation(user, target);
  if (turn === 2) {
    if (user.state.rotations++ >= 20) {
      await revokeRefresh(user, target, metadata);
      user.state.rotations = 0;
      return refresh.prepare(user, target);
    }
    return refresh.operation(user, target);
  }
  // Access tokens live ten seconds of real time at speed 60: take a new one now and then.
  if (user.state.introspections++ % 20 === 0) await introspection.prepare(user, target);
  return introspection.operation(user, target);
}

const percentile = (sorted, p) =>
  sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];

const { child, info } = await startServer();
const database = join(info.dataDir, 'gatehouse.sqlite');
try {
  const metadata = await (await fetch(`${info.issuer}/.well-known/openid-configuration`)).json();
  const target = describeTarget(info, metadata);
  const origin = new URL(info.url).origin;
  const users = Array.from({ length: CONNECTIONS }, (_, i) => new VirtualUser(i, [origin]));
  for (const user of users) {
    await refresh.prepare(user, target);
    await introspection.prepare(user, target);
    Object.assign(user.state, { step: user.index, rotations: 0, introspections: 1 });
  }
  console.log(
    `soak: ${DURATION_S} s, ${CONNECTIONS} users, clock x${CLOCK_SPEED}, housekeeping every ${HOUSEKEEPING_MS} ms`,
  );
  const rows = [];
  const header =
    'minute  req/s   p99 ms  errors  db MB   WAL MB  RSS MB  access  refresh  codes   audit   archived MB';
  console.log(header);
  let window = { latencies: [], errors: 0, firstError: undefined };
  const start = performance.now();
  const deadline = start + DURATION_S * 1000;
  let windowStart = start;
  const closeWindow = (label) => {
    const now = performance.now();
    const sorted = window.latencies.sort((a, b) => a - b);
    const row = {
      minute: label,
      perSecond: sorted.length / ((now - windowStart) / 1000),
      p99: percentile(sorted, 99),
      errors: window.errors,
      firstError: window.firstError,
      databaseMb: mb(fileSize(database)),
      walMb: mb(fileSize(`${database}-wal`)),
      rssMb: rssMb(info.pid),
      rows: rowCounts(database),
      archivedMb: archivedMb(join(info.dataDir, 'audit-archive')),
    };
    rows.push(row);
    console.log(
      `${String(label).padEnd(6)}  ${row.perSecond.toFixed(0).padStart(5)}  ${row.p99.toFixed(1).padStart(7)}  ${String(row.errors).padStart(6)}  ${row.databaseMb.toFixed(1).padStart(6)}  ${row.walMb.toFixed(1).padStart(6)}  ${row.rssMb.toFixed(0).padStart(6)}  ${String(row.rows.access_tokens).padStart(6)}  ${String(row.rows.refresh_tokens).padStart(7)}  ${String(row.rows.authorization_codes).padStart(5)}  ${String(row.rows.audit_log).padStart(6)}  ${row.archivedMb.toFixed(1).padStart(11)}`,
    );
    if (row.firstError !== undefined) console.log(`        first error: ${row.firstError}`);
    window = { latencies: [], errors: 0, firstError: undefined };
    windowStart = now;
  };
  const ticker = setInterval(() => closeWindow(rows.length + 1), WINDOW_S * 1000);
  await Promise.all(
    users.map(async (user) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await step(user, target, metadata);
          window.latencies.push(performance.now() - t0);
        } catch (error) {
          window.errors++;
          window.firstError ??= String(error.message ?? error);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }),
  );
  clearInterval(ticker);
  if (window.latencies.length > 0 && performance.now() - windowStart > 5_000)
    closeWindow(rows.length + 1);
  await Promise.all(users.map((user) => user.close()));
  // After the load: housekeeping and the checkpointer keep running; watch the files settle.
  await new Promise((resolve) => setTimeout(resolve, AFTER_S * 1000));
  const after = {
    databaseMb: mb(fileSize(database)),
    walMb: mb(fileSize(`${database}-wal`)),
    rssMb: rssMb(info.pid),
    rows: rowCounts(database),
  };
  console.log(
    `${AFTER_S} s after the load: db ${after.databaseMb.toFixed(1)} MB, WAL ${after.walMb.toFixed(1)} MB, RSS ${after.rssMb.toFixed(0)} MB, rows ${JSON.stringify(after.rows)}`,
  );
  mkdirSync(new URL('results/', here), { recursive: true });
  const file = new URL(`results/soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, here);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: machine(),
        settings: {
          durationS: DURATION_S,
          connections: CONNECTIONS,
          clockSpeed: CLOCK_SPEED,
          housekeepingMs: HOUSEKEEPING_MS,
          auditRetentionDays: AUDIT_RETENTION,
        },
        minutes: rows,
        after,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${file.pathname}`);
} finally {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
