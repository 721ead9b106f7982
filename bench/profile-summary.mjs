// Summarises V8 CPU profiles (.cpuprofile, from `node --cpu-prof`): where the time went, by
// function (self and total time) and by package.
//
//   BENCH_CPU_PROF=/tmp/prof BENCH_SERVERS=sqlite BENCH_SCENARIOS=client_credentials npm run bench
//   node bench/profile-summary.mjs /tmp/prof/*.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const TOP = Number(values.top);

/** Where a function lives: a package, a Gatehouse package's source, Node itself, or V8. */
function owner(url) {
  if (url === '') return '(v8/native)';
  if (url.startsWith('node:')) return 'node:*';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules !== null) return modules[1];
  const ours = /packages\/([^/]+)\//.exec(url);
  if (ours !== null) return `@gatehouse/${ours[1]}`;
  return url.replace(/^file:\/\//, '');
}

function label(frame) {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '');
  const short = file.replace(/^.*\/packages\//, 'packages/');
  return `${name}  ${short}:${frame.lineNumber + 1}`;
}

function summarise(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node from the samples: each sample's time delta belongs to its node.
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idleUs = [...selfUs]
    .filter(([id]) => ['(idle)', '(program)'].includes(nodes.get(id)?.callFrame.functionName))
    .reduce((sum, [, us]) => sum + us, 0);

  const bySelf = new Map();
  const byPackage = new Map();
  const byTotal = new Map();
  // Walk the tree once; a function's total time counts each sample once even when it recurses.
  const walk = (id, onStack) => {
    const node = nodes.get(id);
    const key = label(node.callFrame);
    const self = selfUs.get(id) ?? 0;
    bySelf.set(key, (bySelf.get(key) ?? 0) + self);
    const pkg = owner(node.callFrame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + self);
    let subtree = self;
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    for (const child of node.children ?? []) subtree += walk(child, onStack);
    if (fresh) {
      onStack.delete(key);
      byTotal.set(key, (byTotal.get(key) ?? 0) + subtree);
    }
    return subtree;
  };
  walk(profile.nodes[0].id, new Set());

  const busyUs = totalUs - idleUs;
  const pct = (us) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const top = (map, n, skip = []) =>
    [...map]
      .filter(([key]) => !skip.some((s) => key.startsWith(s)))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n);

  console.log(`\n# ${file}`);
  console.log(
    `sampled ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s (idle and (program) excluded from the shares below)`,
  );
  console.log('\n## self time by package');
  for (const [key, us] of top(byPackage, 15)) console.log(`${ms(us)} ${pct(us)}  ${key}`);
  console.log(`\n## top ${TOP} functions by self time`);
  for (const [key, us] of top(bySelf, TOP, ['(idle)', '(program)']))
    console.log(`${ms(us)} ${pct(us)}  ${key}`);
  console.log(`\n## top ${TOP} functions by total time (self + callees)`);
  for (const [key, us] of top(byTotal, TOP, ['(root)', '(idle)', '(program)']))
    console.log(`${ms(us)} ${pct(us)}  ${key}`);
}

if (positionals.length === 0) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile... [--top N]');
  process.exit(2);
}
for (const file of positionals) summarise(file);
