// The reaper (src/lib/reaper-main.ts, reaper.ts) with real processes: it signals only a process
// still the one it was told about (pid and start time: pids are reused), SIGTERM first and SIGKILL
// for what ignores that, drops lines that are no message, and when its parent is SIGKILLed it
// stops what the parent listed, removes the listed directory, and exits itself. The last case runs
// the built reaper (dist/), as `uzpgw` does.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { reap, ReaperList } from '../../src/lib/reaper-main.js';
import { childrenOf, killStillRunning, stillRunning, stillRunningAfter, type Proc } from '../helpers/orphans.js';
import { spawnNode, stopAll, waitForJsonLine } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-reaper-test-'));
const started: ChildProcess[] = [];
let orphans: Proc[] = [];

afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  killStillRunning(orphans);
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A child of this process, once it runs, with how it will end. */
function startChild(args: readonly string[]): Promise<{ proc: ChildProcess; pid: number; start: string; ended: Promise<NodeJS.Signals | null> }> {
  const proc = spawn(process.execPath, ['-e', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(proc);
  const ended = new Promise<NodeJS.Signals | null>((r) => proc.once('exit', (_code, sig) => r(sig)));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    // The child says it is ready (its signal handlers are installed) with one line.
    proc.stdout!.once('data', () => {
      const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
      resolve({ proc, pid: proc.pid!, start, ended });
    });
  });
}

const SLEEPER = 'console.log("ready"); setInterval(() => {}, 1000);';
const STUBBORN = 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000);';
const line = (o: object): string => JSON.stringify(o) + '\n';

describe('reap', () => {
  it('signals no process whose start time differs from the one listed (its pid reused)', async () => {
    const c = await startChild([SLEEPER]);
    const list = new ReaperList();
    list.push(line({ pid: c.pid, start: String(Number(c.start) + 1) }));
    await reap(list, 200);
    expect(stillRunning({ pid: c.pid, args: '', start: c.start })).toBe(true);
    expect(c.proc.exitCode === null && c.proc.signalCode === null).toBe(true);
  });

  it('stops a listed process with SIGTERM, and one that ignores SIGTERM with SIGKILL after the grace', async () => {
    const polite = await startChild([SLEEPER]);
    const stubborn = await startChild([STUBBORN]);
    const list = new ReaperList();
    for (const c of [polite, stubborn]) list.push(line({ pid: c.pid, start: c.start }));
    await reap(list, 300);
    expect(await polite.ended).toBe('SIGTERM');
    expect(await stubborn.ended).toBe('SIGKILL');
  });

  it('forgets a process reported exited, and drops lines that are no message', async () => {
    const c = await startChild([SLEEPER]);
    const list = new ReaperList();
    const msg = line({ pid: c.pid, start: c.start });
    // Split across chunks, as a pipe may deliver it.
    list.push(msg.slice(0, 5));
    list.push(msg.slice(5));
    expect([...list.pids]).toEqual([[c.pid, c.start]]);
    list.push(line({ exited: c.pid }));
    for (const bad of ['not json', '[1]', '{"pid":1,"start":"5"}', '{"pid":"7","start":"5"}', '{"dir":"relative/path"}', '{"dir":"/"}', 'x'.repeat(70_000)]) list.push(bad + '\n');
    list.push('x'.repeat(70_000)); // an endless line is not buffered
    expect(list.pids.size).toBe(0);
    expect(list.dirs.size).toBe(0);
    await reap(list, 200);
    expect(c.proc.exitCode === null && c.proc.signalCode === null).toBe(true);
  });
});

describe('a parent killed with SIGKILL', () => {
  it('has its listed process stopped and its listed directory removed by its reaper, which then exits', async () => {
    const scratch = mkdtempSync(join(dir, 'run-'));
    const reaperJs = pathToFileURL(join(process.cwd(), 'dist/lib/reaper.js')).href;
    const parent = spawnNode([
      '--input-type=module',
      '-e',
      `import { spawn } from 'node:child_process';
       import { stopWithThisProcess, removeWithThisProcess } from ${JSON.stringify(reaperJs)};
       const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
       c.once('spawn', () => {
         stopWithThisProcess(c.pid);
         removeWithThisProcess(${JSON.stringify(scratch)});
         console.log(JSON.stringify({ pid: c.pid }));
       });`,
    ]);
    await waitForJsonLine(parent, (v) => typeof v.pid === 'number');
    const kids = childrenOf(parent.pid);
    orphans = kids;
    expect(kids.map((k) => k.args)).toEqual(expect.arrayContaining([expect.stringMatching(/reaper-main\.js$/), expect.stringMatching(/setInterval/)]));
    process.kill(parent.pid, 'SIGKILL');
    await parent.exited;
    expect((await stillRunningAfter(kids, 20_000)).map((k) => k.args)).toEqual([]);
    // The reaper removes the directory before it exits, and it has exited.
    expect(existsSync(scratch)).toBe(false);
  }, 30_000);

  it('a reaper that died is replaced and told the whole list again; a relative directory is listed absolute', async () => {
    const scratch = mkdtempSync(join(dir, 'run-'));
    const rel = relative(process.cwd(), scratch);
    const reaperJs = pathToFileURL(join(process.cwd(), 'dist/lib/reaper.js')).href;
    const parent = spawnNode([
      '--input-type=module',
      '-e',
      `import { spawn } from 'node:child_process';
       import { stopWithThisProcess, removeWithThisProcess } from ${JSON.stringify(reaperJs)};
       const start = () => new Promise((r) => { const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); c.once('spawn', () => { stopWithThisProcess(c.pid); r(c.pid); }); });
       const first = await start();
       removeWithThisProcess(${JSON.stringify(rel)});
       console.log(JSON.stringify({ first }));
       // Told to go on (SIGUSR2) once the test has killed the first reaper: list one more child.
       process.once('SIGUSR2', async () => console.log(JSON.stringify({ second: await start() })));
       setInterval(() => {}, 1000);`,
    ]);
    await waitForJsonLine(parent, (v) => typeof v.first === 'number');
    // Listed for afterAll from the start: a failing assertion below must not leave them running.
    orphans = childrenOf(parent.pid);
    const firstReaper = orphans.filter((k) => /reaper-main\.js$/.test(k.args));
    expect(firstReaper).toHaveLength(1);
    process.kill(firstReaper[0]!.pid, 'SIGKILL');
    expect(await stillRunningAfter(firstReaper, 10_000)).toEqual([]);
    // Replaced at once (something is listed), before any further message.
    const t0 = Date.now();
    while (!childrenOf(parent.pid).some((k) => /reaper-main\.js$/.test(k.args) && k.pid !== firstReaper[0]!.pid) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    process.kill(parent.pid, 'SIGUSR2');
    await waitForJsonLine(parent, (v) => typeof v.second === 'number');
    const kids = childrenOf(parent.pid);
    orphans = [...orphans, ...kids];
    // Two children listed and a new reaper, which holds both (and the directory) though it heard of the first before it ran.
    expect(kids.filter((k) => /setInterval/.test(k.args))).toHaveLength(2);
    expect(kids.filter((k) => /reaper-main\.js$/.test(k.args))).toHaveLength(1);
    process.kill(parent.pid, 'SIGKILL');
    await parent.exited;
    expect((await stillRunningAfter(kids, 20_000)).map((k) => k.args)).toEqual([]);
    expect(existsSync(scratch)).toBe(false);
  }, 30_000);
});
