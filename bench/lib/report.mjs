// The results: a table on the console, JSON and an SVG bar chart under bench/results/.
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export function machine() {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  return {
    cpus: cpus().length,
    cpu: cpu.trim(),
    ramGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

const round = (value, digits = 1) =>
  Number.isFinite(value) ? Number(value.toFixed(digits)) : null;

/** Peak RSS of a row's largest process, in MB. */
const peakOf = (row) => {
  const known = row.peakRssMb.filter(Number.isFinite);
  return known.length === 0 ? NaN : Math.max(...known);
};

/** CPU time per operation of a server and its database together (ms). */
export const cpuSumOf = (row) => row.cpuMsPerOp + (row.postgresCpuMsPerOp || 0);

const ratioOf = (value, reference) =>
  Number.isFinite(value) && Number.isFinite(reference) && reference > 0
    ? round(value / reference, 2)
    : null;

/**
 * Rows with every figure as a ratio to the peer's in the same scenario and run: throughput
 * (`ratio`, above 1 is better), p99, CPU per operation of the server and its database together, and
 * peak RSS of the largest process (below 1 is better for these three).
 */
export function withRatios(rows, peer) {
  return rows.map((row) => {
    const cpuSumMsPerOp = cpuSumOf(row);
    const reference = rows.find((r) => r.scenario === row.scenario && r.server === peer);
    if (row.server === peer || reference === undefined)
      return {
        ...row,
        cpuSumMsPerOp,
        ratio: null,
        p99Ratio: null,
        cpuSumRatio: null,
        rssRatio: null,
      };
    return {
      ...row,
      cpuSumMsPerOp,
      ratio: ratioOf(row.perSecond, reference.perSecond),
      p99Ratio: ratioOf(row.p99Ms, reference.p99Ms),
      cpuSumRatio: ratioOf(cpuSumMsPerOp, cpuSumOf(reference)),
      rssRatio: ratioOf(peakOf(row), peakOf(reference)),
    };
  });
}

const times = (ratio) => (ratio === null ? '' : ` ${ratio.toFixed(2)}×`);

export function printTable(rows) {
  console.table(
    rows.map((row) => ({
      scenario: row.scenario,
      server: row.server,
      [`per s`]: `${Math.round(row.perSecond)} ${row.unit}/s${times(row.ratio)}`,
      'p50 ms': round(row.p50Ms),
      'p99 ms': `${round(row.p99Ms)}${times(row.p99Ratio)}`,
      errors: row.errors,
      'server CPU ms/op': round(row.cpuMsPerOp, 3),
      'db CPU ms/op': row.postgresCpuMsPerOp > 0 ? round(row.postgresCpuMsPerOp, 3) : '',
      'CPU sum ms/op': `${round(row.cpuSumMsPerOp, 3)}${times(row.cpuSumRatio)}`,
      'peak RSS MB': `${row.peakRssMb.join(' / ')}${times(row.rssRatio)}`,
      'other load %': Math.round(row.otherCpuPercent),
    })),
  );
  console.log(
    'ratios (×) are to the peer in the same scenario and run: throughput above 1 is better; p99, CPU sum (server + database) and peak RSS (largest process) below 1 are better',
  );
  const disturbed = rows.filter((row) => row.otherCpuPercent > 10 /* as in server.bench.mjs */);
  if (disturbed.length > 0)
    console.log(
      `warning: other work used more than 10% of the CPUs during ${disturbed.length} of ${rows.length} runs ("other load %"): those figures are low`,
    );
  for (const row of rows)
    if (row.firstError !== undefined)
      console.log(`${row.server}, ${row.scenario}: first error: ${row.firstError}`);
}

/** Peak RSS a Gatehouse process must stay under (issue #15). */
const RSS_LIMIT_MB = 200;
const FLOOR_SHARE = 0.75;

/**
 * The goals of issue #15, checked against one run's rows (with ratios): for each goal, whether
 * every Gatehouse target in `servers` meets it (`met` is null when the run did not measure it) and
 * the figures it was judged on.
 */
export function goals(rows, servers, floor) {
  const ours = rows.filter((r) => servers.includes(r.server));
  const of = (part) => ours.filter((r) => r.scenario.includes(part));
  const judge = (goal, checks) => ({
    goal,
    met:
      checks.length === 0 || checks.some((c) => c.value === null)
        ? null
        : checks.every((c) => c.ok),
    figures: checks.map((c) => `${c.label} ${c.value === null ? '?' : c.text}`),
    missed: checks.filter((c) => !c.ok).map((c) => `${c.label} ${c.value === null ? '?' : c.text}`),
  });
  const ratioCheck = (row, key, ok) => ({
    label: `${row.server.replace('gatehouse ', '')} ${row.scenario.split(' ')[0]}`,
    value: row[key],
    ok: row[key] !== null && ok(row[key]),
    text: `${row[key]?.toFixed(2)}×`,
  });
  const throughput = [...of('client_credentials'), ...of('code flow')];
  return [
    judge(
      'client_credentials and code flow: at least 2× the peer’s throughput',
      throughput.map((r) => ratioCheck(r, 'ratio', (v) => v >= 2)),
    ),
    judge(
      `client_credentials: at least ${FLOOR_SHARE}× the floor’s throughput`,
      of('client_credentials').map((row) => {
        const reference = rows.find((r) => r.scenario === row.scenario && r.server === floor);
        const value = reference === undefined ? null : ratioOf(row.perSecond, reference.perSecond);
        return {
          label: `${row.server.replace('gatehouse ', '')} vs floor`,
          value,
          ok: value !== null && value >= FLOOR_SHARE,
          text: `${value?.toFixed(2)}×`,
        };
      }),
    ),
    judge(
      'CPU per operation, server + database: at most 0.5× the peer’s (client_credentials, code flow)',
      throughput.map((r) => ratioCheck(r, 'cpuSumRatio', (v) => v <= 0.5)),
    ),
    judge(
      'p99 no worse than the peer’s, every scenario',
      ours.map((r) => ratioCheck(r, 'p99Ratio', (v) => v <= 1)),
    ),
    judge(
      `peak RSS under ${RSS_LIMIT_MB} MB per process`,
      [...new Set(ours.map((r) => r.server))].map((server) => {
        const peak = Math.max(...ours.filter((r) => r.server === server).map(peakOf));
        return {
          label: server.replace('gatehouse ', ''),
          value: Number.isFinite(peak) ? peak : null,
          ok: peak < RSS_LIMIT_MB,
          text: `${peak} MB`,
        };
      }),
    ),
  ];
}

export function printGoals(judged) {
  console.log('\nGoals of issue #15 (this run):');
  for (const { goal, met, figures, missed } of judged) {
    const mark = met === null ? 'not measured' : met ? 'MET' : 'NOT MET';
    const shown = met === false ? `; missed by ${missed.join(', ')}` : `: ${figures.join(', ')}`;
    console.log(`  [${mark}] ${goal}${shown}`);
  }
}

const escape = (text) =>
  String(text).replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c],
  );

const COLOURS = ['#1f6feb', '#2da44e', '#8250df', '#bf8700', '#cf222e', '#57606a'];

/**
 * Grouped horizontal bars, one group per scenario, each scaled to the fastest server in that
 * scenario (scenarios differ by orders of magnitude), with the figure written on each bar.
 */
export function svgChart(rows, servers, title) {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const bar = 18;
  const gap = 4;
  const groupGap = 22;
  const left = 250;
  const width = 960;
  const plot = width - left - 220;
  const top = 70;
  const groupHeight = servers.length * (bar + gap) + groupGap;
  const height = top + scenarios.length * groupHeight + 20;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">${escape(title)}</text>`,
  ];
  servers.forEach((server, i) => {
    const x = 16 + i * 210;
    parts.push(
      `<rect x="${x}" y="38" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${x + 18}" y="48">${escape(server)}</text>`,
    );
  });
  scenarios.forEach((scenario, g) => {
    const y0 = top + g * groupHeight;
    const inGroup = rows.filter((r) => r.scenario === scenario);
    const max = Math.max(...inGroup.map((r) => r.perSecond), 1);
    parts.push(
      `<text x="16" y="${y0 + 13}" font-weight="bold">${escape(scenario)}</text>`,
      `<text x="16" y="${y0 + 28}" fill="#57606a">${inGroup[0]?.unit === 'flow' ? 'flows' : 'requests'} per second</text>`,
    );
    servers.forEach((server, i) => {
      const row = inGroup.find((r) => r.server === server);
      if (row === undefined) return;
      const y = y0 + i * (bar + gap);
      const w = Math.max(1, (row.perSecond / max) * plot);
      const label = `${Math.round(row.perSecond)}  (p99 ${round(row.p99Ms)} ms)${row.ratio === null ? '' : `  ${row.ratio.toFixed(2)}×`}`;
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${COLOURS[i % COLOURS.length]}"/>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + 13}">${escape(label)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
