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

/** Rows with each Gatehouse figure's ratio to the peer's in the same scenario. */
export function withRatios(rows, peer) {
  return rows.map((row) => {
    const reference = rows.find((r) => r.scenario === row.scenario && r.server === peer);
    const ratio =
      row.server === peer || reference === undefined || !(reference.perSecond > 0)
        ? null
        : row.perSecond / reference.perSecond;
    return { ...row, ratio: round(ratio, 2) };
  });
}

export function printTable(rows) {
  console.table(
    rows.map((row) => ({
      scenario: row.scenario,
      server: row.server,
      [`per s`]: `${Math.round(row.perSecond)} ${row.unit}/s`,
      'p50 ms': round(row.p50Ms),
      'p99 ms': round(row.p99Ms),
      errors: row.errors,
      'server CPU ms/op': round(row.cpuMsPerOp, 3),
      'db CPU ms/op': row.postgresCpuMsPerOp > 0 ? round(row.postgresCpuMsPerOp, 3) : '',
      'other load %': Math.round(row.otherCpuPercent),
      'peak RSS MB': row.peakRssMb.join(' / '),
      'vs peer': row.ratio === null ? '' : `${row.ratio.toFixed(2)}×`,
    })),
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
