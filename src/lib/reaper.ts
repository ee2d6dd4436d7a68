// This process's reaper (reaper-main.ts): started on first use, it stops the processes and removes
// the directories listed here when this process dies, however it dies. Every process a runner
// starts (sim/child.ts: socat, mosquitto; hil-runner/children.ts: the RN, the gateway, operators)
// and every temporary directory it makes is listed, and taken off the list once it has exited or
// been removed in the ordinary way.
//
// The reaper runs detached (a session and process group of its own): a Ctrl-C or a signal to the
// runner's process group, which the runner answers with its ordered stop, does not end it first.
// It holds none of this process's stdout and stderr, so whoever reads those sees their end when
// this process ends. Neither it nor its pipe keeps this process alive.
//
// A kill that takes the reaper too (the whole cgroup) leaves the directories: at its first use of
// the reaper every runner sweeps TMPDIR for those whose owner is provably dead (temp-sweep.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { procStat, type ReaperMessage } from './reaper-main.js';
import { sweepTempDirs } from './temp-sweep.js';

/** reaper-main next to this file: .js from dist/, .ts from src/ under the test runner. */
const MAIN = fileURLToPath(new URL(`./reaper-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

let reaper: ChildProcess | undefined;
/**
 * What is listed now, kept here as well: a reaper that died (killed by hand, by the OOM killer) is
 * replaced at the next message, and the replacement is told the whole list again.
 */
const pids = new Map<number, string>();
const dirs = new Set<string>();

/** Reapers started after the first died: a reaper that cannot run must not be restarted in a loop. */
const MAX_RESPAWNS = 5;
let respawns = 0;

function spawnReaper(): ChildProcess {
  const r = spawn(process.execPath, [MAIN], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  // A reaper that cannot start only costs the cleanup after a crash; the ordinary stop does not
  // depend on it. One that is gone (its exit, or EPIPE on its pipe, whichever is seen first) is
  // replaced at once while something is listed, else at the next message.
  const lost = (): void => {
    if (reaper !== r) return;
    reaper = undefined;
    if (pids.size + dirs.size > 0 && respawns < MAX_RESPAWNS) {
      respawns++;
      reaper = spawnReaper();
    }
  };
  r.on('error', () => {});
  r.once('exit', lost);
  r.stdin!.on('error', lost);
  r.unref();
  (r.stdin as Socket).unref();
  for (const [pid, start] of pids) write(r, { pid, start });
  for (const dir of dirs) write(r, { dir });
  return r;
}

function write(r: ChildProcess, m: ReaperMessage): void {
  r.stdin!.write(JSON.stringify(m) + '\n');
}

/** TMPDIR is swept once per process, at its first message to the reaper (a runner's start). */
let swept = false;

function send(m: ReaperMessage): void {
  if (!swept) {
    swept = true;
    sweepTempDirs();
  }
  if (reaper === undefined) {
    if (respawns >= MAX_RESPAWNS) return;
    reaper = spawnReaper(); // told the list, this message's item included
    return;
  }
  write(reaper, m);
}

/**
 * Lists `pid`, a child of this process, to be stopped if this process dies before it. Call it
 * before the child can have been reaped (in its 'spawn' event, not later): its start time is read
 * now, so that a pid reused later by another process is never signalled.
 */
export function stopWithThisProcess(pid: number): void {
  const s = procStat(pid);
  if (s === undefined) return;
  pids.set(pid, s.start);
  send({ pid, start: s.start });
}

/** `pid` has exited: off the list. */
export function processExited(pid: number): void {
  if (!pids.delete(pid)) return;
  if (reaper !== undefined) write(reaper, { exited: pid });
}

/**
 * Lists `dir` to be removed, with everything in it, if this process dies first. Made absolute here
 * (a relative TMPDIR gives relative temporary directories, and the reaper takes absolute paths only).
 */
export function removeWithThisProcess(dir: string): void {
  const abs = resolve(dir);
  dirs.add(abs);
  send({ dir: abs });
}

/** `dir` has been removed (or handed over): off the list. */
export function dirRemoved(dir: string): void {
  const abs = resolve(dir);
  if (!dirs.delete(abs)) return;
  if (reaper !== undefined) write(reaper, { removed: abs });
}
