/**
 * Matches and validations per second, printed as a table. Figures only: nothing here passes or
 * fails, and no test asserts a time. Run with `npm run bench` (it builds first and measures the
 * compiled package, as users get it).
 */
import { Bench } from 'tinybench';
import { matchRedirectUri, validateRedirectUri } from '@gatehouse/redirect-policy';

/** Calls per timed sample: single calls take tens of nanoseconds, below a timer's resolution. */
const BATCH = 1000;

function registrations(count: number, last: string): string[] {
  const uris = Array.from(
    { length: count - 1 },
    (_, i) => `https://app-${i}.example.com/oauth/callback`,
  );
  return [...uris, last];
}

interface Scenario {
  name: string;
  registered: number;
  run: () => boolean;
}

const scenarios: Scenario[] = [];
for (const count of [1, 10, 100]) {
  // The matching entry is always the last one: the worst case for a scan.
  const exact = registrations(count, 'https://app.example.com/oauth/callback');
  const loopback = registrations(count, 'http://127.0.0.1/callback');
  const wildcard = registrations(count, 'https://*.preview.example.com/callback');
  scenarios.push(
    {
      name: 'match exact',
      registered: count,
      run: () => matchRedirectUri('https://app.example.com/oauth/callback', exact).ok,
    },
    {
      name: 'match loopback port',
      registered: count,
      run: () => matchRedirectUri('http://127.0.0.1:53682/callback', loopback).ok,
    },
    {
      name: 'match wildcard label',
      registered: count,
      run: () => matchRedirectUri('https://pr-1234.preview.example.com/callback', wildcard).ok,
    },
  );
}
for (const count of [1, 10]) {
  const exact = registrations(count, 'https://app.example.com/oauth/callback');
  scenarios.push({
    name: 'mismatch + explanation',
    registered: count,
    run: () => matchRedirectUri('https://app.example.com/oauth/callback/', exact).ok,
  });
}
const native = { environment: 'production', clientType: 'native' } as const;
const staging = { environment: 'staging', clientType: 'web' } as const;
scenarios.push(
  {
    name: 'validate https',
    registered: 0,
    run: () => validateRedirectUri('https://app.example.com/oauth/callback', native).ok,
  },
  {
    name: 'validate loopback',
    registered: 0,
    run: () => validateRedirectUri('http://127.0.0.1/callback', native).ok,
  },
  {
    name: 'validate wildcard (PSL)',
    registered: 0,
    run: () => validateRedirectUri('https://*.preview.example.com/callback', staging).ok,
  },
  {
    name: 'validate refused',
    registered: 0,
    run: () => validateRedirectUri('HTTPS://App.example.com:443/cb', native).ok,
  },
);

let sink = 0;
const bench = new Bench({ time: 400, warmupTime: 100 });
for (const scenario of scenarios) {
  bench.add(`${scenario.name} #${scenario.registered}`, () => {
    for (let i = 0; i < BATCH; i++) if (scenario.run()) sink++;
  });
}
await bench.run();

const rows = bench.tasks.map((task, index) => {
  const scenario = scenarios[index] as Scenario;
  const result = task.result;
  if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
  const nsPerCall = (result.latency.p50 * 1e6) / BATCH;
  return {
    scenario: scenario.name,
    registered: scenario.registered === 0 ? '-' : String(scenario.registered),
    'calls/s': Math.round(1e9 / nsPerCall).toLocaleString('en-US'),
    'ns/call p50': nsPerCall.toFixed(1),
    'ns/call p99': ((result.latency.p99 * 1e6) / BATCH).toFixed(1),
  };
});

console.log(`@gatehouse/redirect-policy on Node ${process.version}, ${BATCH} calls per sample`);
console.table(rows);
const exactWorst = rows.find((row) => row.scenario === 'match exact' && row.registered === '100');
console.log(
  `exact match, 100 registered URIs: ${exactWorst?.['ns/call p50'] ?? '?'} ns per request check (goal: well under 1000 ns)`,
);
if (sink === 0) console.log('(no call matched: the scenarios are wrong)');
