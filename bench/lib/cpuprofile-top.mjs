// Prints the hottest functions of a V8 .cpuprofile (from BENCH_CPU_PROF=DIR npm run bench):
//   node bench/lib/cpuprofile-top.mjs FILE.cpuprofile [N] [--under TEXT]
// --under keeps only samples whose stack has a frame containing TEXT (e.g. "endpoint.js:25").
// "self" is time in the function itself; "total" includes its callees (counted once per stack).
// Source positions are of dist/*.js; the .js.map next to each file maps them back to src/.

import { readFileSync } from 'node:fs';

const rest = process.argv.slice(2);
const u = rest.indexOf('--under');
const under = u === -1 ? undefined : rest.splice(u, 2)[1];
const [file, nArg] = rest;
if (!file) {
  process.stderr.write('usage: node bench/lib/cpuprofile-top.mjs FILE.cpuprofile [N]\n');
  process.exit(2);
}
const n = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);

const dt = new Map(); // node id -> µs
for (let i = 0; i < prof.samples.length; i++) {
  const d = prof.timeDeltas[i + 1] ?? 0;
  dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + d);
}
const keyOf = (x) => {
  const f = x.callFrame;
  const url = f.url.replace(/^file:\/\/.*?\/(dist|bench|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${url}${url ? `:${f.lineNumber + 1}` : ''}`;
};
const self = new Map();
const total = new Map();
let all = 0;
const stackHas = (id, text) => {
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (keyOf(byId.get(cur)).includes(text)) return true;
  return false;
};
for (const [id, us] of dt) {
  if (under !== undefined && !stackHas(id, under)) continue;
  all += us;
  let x = byId.get(id);
  self.set(keyOf(x), (self.get(keyOf(x)) ?? 0) + us);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = keyOf(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) ?? 0) + us);
  }
}
const pct = (us) => ((100 * us) / all).toFixed(1).padStart(5) + '%';
console.log(`${file}: ${(all / 1000).toFixed(0)} ms sampled${under ? ` under ${JSON.stringify(under)}` : ''}`);
console.log('-- self');
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(us)} ${k}`);
console.log('-- total');
for (const [k, us] of [...total].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(us)} ${k}`);
