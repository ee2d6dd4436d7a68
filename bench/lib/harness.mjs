// Shared plumbing of the bench scenarios: child processes (stopped by pid, always), the IPC
// request/response protocol of bench/lib/peer.mjs, JSON-line output, medians, flags.
// Figures go to stdout as JSON lines; everything else goes to stderr.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');
export const LIB = fileURLToPath(new URL('./', import.meta.url));

export const argv = process.argv.slice(2);
export const QUICK = argv.includes('--quick');
/** `--soak MIN` (bench/run.mjs passes it on): minutes of soak for scenarios that have one; 0 = none. */
export const SOAK_MIN = argv.includes('--soak') ? Number(argv[argv.indexOf('--soak') + 1]) || 0 : 0;

/** Diagnostics and progress: stderr only (stdout is reserved for figure lines). */
export function log(...parts) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${parts.join(' ')}\n`);
}

/** One figure: exactly the line format docs/BENCH.md documents. */
export function emit(bench, metric, value, unit, baseline, baselineValue) {
  const r = (x) => Number(x.toPrecision(6));
  const line = { bench, metric, value: r(value), unit, baseline, baseline_value: r(baselineValue), ratio: r(value / baselineValue) };
  process.stdout.write(JSON.stringify(line) + '\n');
}

export function median(xs) {
  if (xs.length === 0) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Monotonic ns clock shared by all processes of the box (CLOCK_MONOTONIC on Linux). */
export const nowNs = () => process.hrtime.bigint();

// ---- child processes ----

const children = new Set();

/** SIGKILL every child still running (synchronous: safe in an 'exit' handler). */
export function killAll() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

process.on('exit', () => {
  killAll();
  for (const dir of [...tempDirs]) removeDir(dir);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    process.stderr.write(`${sig}: stopping ${children.size} child process(es)\n`);
    killAll();
    process.exit(130);
  });
}

/**
 * Spawns `node [nodeArgs] script [args]`. stdout is captured (and scanned for JSON lines),
 * stderr is passed through with a name prefix. `ipc` adds an IPC channel for peer.mjs.
 */
export function spawnNode(name, script, args = [], { nodeArgs = [], ipc = false, env } = {}) {
  return spawnProgram(name, process.execPath, [...nodeArgs, script, ...args], { ipc, env });
}

/** Spawns any program as spawnNode does (tracked, stopped by pid at exit, output captured). */
export function spawnProgram(name, file, args = [], { ipc = false, env } = {}) {
  const proc = spawn(file, args, {
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
    env: { ...process.env, ...env },
    cwd: ROOT,
  });
  if (proc.pid === undefined) throw new Error(`spawn failed: ${file}`);
  children.add(proc);
  proc.name = name;
  proc.stdoutText = '';
  proc.stderrTail = '';
  proc.stdout.setEncoding('utf8').on('data', (s) => (proc.stdoutText += s));
  proc.stderrLines = []; // the last 200 complete lines (the RN logs JSON lines here)
  let partial = '';
  proc.stderr.setEncoding('utf8').on('data', (s) => {
    proc.stderrTail = (proc.stderrTail + s).slice(-4000);
    const lines = (partial + s).split('\n');
    partial = lines.pop();
    proc.stderrLines.push(...lines);
    if (proc.stderrLines.length > 200) proc.stderrLines.splice(0, proc.stderrLines.length - 200);
    if (process.env.BENCH_VERBOSE) process.stderr.write(s.replace(/^(?=.)/gm, `  ${name}| `));
  });
  proc.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  proc.exited.then(() => children.delete(proc));
  if (ipc) attachRpc(proc);
  return proc;
}

/** Stops a child by its pid (SIGTERM, then SIGKILL after `graceMs`) and waits for its exit. */
export async function stop(proc, graceMs = 3000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exited;
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    return proc.exited;
  }
  const t = setTimeout(() => {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, graceMs);
  const r = await proc.exited;
  clearTimeout(t);
  return r;
}

export async function stopAll() {
  await Promise.all([...children].map((c) => stop(c)));
}

/** First stdout JSON line of `proc` satisfying `match`; rejects if the process exits or time runs out. */
export function waitForJsonLine(proc, match = () => true, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    let scanned = 0;
    const scan = () => {
      const text = proc.stdoutText;
      let nl;
      while ((nl = text.indexOf('\n', scanned)) !== -1) {
        const line = text.slice(scanned, nl);
        scanned = nl + 1;
        try {
          const v = JSON.parse(line);
          if (v !== null && typeof v === 'object' && match(v)) return done(null, v);
        } catch {
          // not JSON
        }
      }
    };
    const onExit = () => done(new Error(`${proc.name} (pid ${proc.pid}) exited before the expected line; stderr:\n${proc.stderrTail}`));
    const timer = setTimeout(() => done(new Error(`${proc.name}: no expected line within ${timeoutMs} ms; stderr:\n${proc.stderrTail}`)), timeoutMs);
    const done = (err, v) => {
      clearTimeout(timer);
      proc.stdout.off('data', scan);
      proc.off('exit', onExit);
      if (err) reject(err);
      else resolve(v);
    };
    proc.stdout.on('data', scan);
    proc.on('exit', onExit);
    scan();
    if (proc.exitCode !== null) onExit();
  });
}

// ---- IPC request/response (parent side; bench/lib/peer.mjs is the child side) ----

function attachRpc(proc) {
  let nextId = 1;
  const pending = new Map();
  const eventWaiters = [];
  proc.on('message', (m) => {
    if (m && typeof m.re === 'number') {
      const p = pending.get(m.re);
      if (!p) return;
      pending.delete(m.re);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${proc.name}: ${m.error}`));
    } else if (m && typeof m.event === 'string') {
      const i = eventWaiters.findIndex((w) => w.match(m));
      if (i !== -1) {
        const [w] = eventWaiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  });
  proc.on('exit', (code, signal) => {
    const err = new Error(`${proc.name} (pid ${proc.pid}) exited (code ${code}, signal ${signal}); stderr:\n${proc.stderrTail}`);
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
    for (const w of eventWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  });
  /** Sends a command; resolves with the child's result. */
  proc.rpc = (cmd, args = {}, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${proc.name}: ${cmd} timed out after ${timeoutMs} ms; stderr:\n${proc.stderrTail}`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      proc.send({ id, cmd, args });
    });
  /** Resolves with the next unsolicited event the child sends that matches. */
  proc.nextEvent = (match, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const w = { match, resolve, reject };
      w.timer = setTimeout(() => {
        const i = eventWaiters.indexOf(w);
        if (i !== -1) eventWaiters.splice(i, 1);
        reject(new Error(`${proc.name}: no matching event within ${timeoutMs} ms; stderr:\n${proc.stderrTail}`));
      }, timeoutMs);
      eventWaiters.push(w);
    });
}

/**
 * Extra node flags for profiling: BENCH_CPU_PROF=DIR writes a .cpuprofile per peer / RN process
 * into DIR on exit (open them in Chrome DevTools or speedscope).
 */
let profileSeq = 0;
export function profileArgs(name) {
  const dir = process.env.BENCH_CPU_PROF;
  const extra = process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : [];
  return [...extra, ...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${process.pid}-${++profileSeq}.cpuprofile`] : [])];
}

/** A peer process (bench/lib/peer.mjs) with an IPC channel; resolves once it said "ready". */
export async function spawnPeer(name, nodeArgs = []) {
  const p = spawnNode(name, join(LIB, 'peer.mjs'), [], { ipc: true, nodeArgs: [...profileArgs(name), ...nodeArgs] });
  await p.nextEvent((m) => m.event === 'ready', 15_000);
  return p;
}

// ---- misc ----

const tempDirs = new Set();

/** A scratch directory, removed by removeDir() or, at the latest, when the process exits. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** User + system CPU ms of these pids so far (/proc/PID/stat, clock ticks of 10 ms: Linux's USER_HZ); a gone pid counts 0. */
export function cpuMs(...pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks * 10;
}

/** VmRSS of a process in bytes (Linux /proc). */
export function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Node flags of a process whose RSS a bench samples: SIGUSR2 runs two full GCs (gc-on-signal.mjs). */
export const GC_NODE_ARGS = ['--expose-gc', '--import', join(LIB, 'gc-on-signal.mjs')];

/** VmRSS after two full GCs (the process runs with GC_NODE_ARGS): the median of 5 reads 100 ms apart. */
export async function settledRss(proc) {
  for (let i = 0; i < 2; i++) {
    process.kill(proc.pid, 'SIGUSR2');
    await sleep(300);
  }
  const xs = [];
  for (let i = 0; i < 5; i++) {
    xs.push(rssBytes(proc.pid));
    await sleep(100);
  }
  return median(xs);
}

/** `items` dealt round-robin into `k` lists (item i to list i % k). */
export function split(items, k) {
  const out = Array.from({ length: k }, () => []);
  items.forEach((x, i) => out[i % k].push(x));
  return out;
}

/** Runs `main`, always stopping every child afterwards; exit code 1 on failure. */
export async function runBench(name, main) {
  const t0 = Date.now();
  try {
    await main();
    log(`${name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    log(`${name}: FAILED: ${e?.stack ?? e}`);
    process.exitCode = 1;
  } finally {
    await stopAll();
    killAll();
    // A scenario that failed half-way can leave a handle open (a serial port, a socket) and would
    // keep `npm run bench` waiting forever: whatever is left gets 2 s, then the process ends.
    setTimeout(() => process.exit(), 2_000).unref();
  }
}
