// `npm run bench`: runs every bench/*.bench.mjs (one scenario per file) as its own child process,
// one after another, and passes their stdout JSON lines through (non-JSON stdout goes to stderr).
//   node bench/run.mjs [--only NAME] [--quick] [--soak MIN]
// NAME matches the file name without ".bench.mjs" (e.g. --only first-byte). --quick makes every
// scenario short (a smoke test; its figures are not worth quoting). --soak MIN passes `--soak MIN`
// to every scenario; those that have a soak (gateway-rss: RSS growth over MIN minutes of polling)
// run it, the others ignore it. Exit code 1 if any scenario failed.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const DIR = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node bench/run.mjs [--only NAME] [--quick] [--soak MIN]\n`);
  process.exit(2);
}

let only;
let quick = false;
let soak;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--quick') quick = true;
  else if (args[i] === '--only') {
    only = args[++i];
    if (!only) usage('--only needs a scenario name');
  } else if (args[i] === '--soak') {
    soak = args[++i];
    if (!/^\d{1,3}$/.test(soak ?? '') || Number(soak) < 1) usage('--soak needs a whole number of minutes, 1..999');
  } else if (args[i] === '--help') usage('Runs the UZP benchmarks; see docs/BENCH.md.');
  else usage(`unknown argument ${JSON.stringify(args[i])}`);
}

if (!existsSync(join(DIR, '../dist/cli/main.js'))) usage('dist/ is missing: run `npm run build` first (npm run bench does).');

const all = readdirSync(DIR)
  .filter((f) => f.endsWith('.bench.mjs'))
  .sort();
const names = all.map((f) => f.slice(0, -'.bench.mjs'.length));
if (only !== undefined && !names.includes(only)) usage(`no scenario ${JSON.stringify(only)}; have: ${names.join(', ')}`);
const files = only === undefined ? all : [`${only}.bench.mjs`];

let current = null;
const stopCurrent = () => {
  if (current !== null && current.exitCode === null) {
    try {
      process.kill(current.pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
};
process.on('SIGINT', () => {
  stopCurrent();
  process.exit(130);
});
process.on('SIGTERM', () => {
  stopCurrent();
  process.exit(143);
});

function runOne(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(DIR, file), ...(quick ? ['--quick'] : []), ...(soak !== undefined ? ['--soak', soak] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    current = child;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let ok = false;
      try {
        ok = typeof JSON.parse(line) === 'object';
      } catch {
        // not a figure
      }
      (ok ? process.stdout : process.stderr).write(line + '\n');
    });
    child.on('exit', (code) => {
      current = null;
      resolve(code === 0 ? 0 : 1);
    });
  });
}

let failed = 0;
for (const f of files) {
  process.stderr.write(`== ${f}${quick ? ' (quick)' : ''}\n`);
  if ((await runOne(f)) !== 0) {
    failed++;
    process.stderr.write(`== ${f} FAILED\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
