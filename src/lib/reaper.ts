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

import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { procStat, type ReaperMessage } from './reaper-main.js';

/** reaper-main next to this file: .js from dist/, .ts from src/ under the test runner. */
const MAIN = fileURLToPath(new URL(`./reaper-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

let reaper: ChildProcess | undefined;

function send(m: ReaperMessage): void {
  if (reaper === undefined) {
    reaper = spawn(process.execPath, [MAIN], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    // A reaper that cannot start, or that died (EPIPE on the next write), only costs the cleanup
    // after a crash; the ordinary stop does not depend on it.
    reaper.on('error', () => {});
    reaper.stdin!.on('error', () => {});
    reaper.unref();
    (reaper.stdin as Socket).unref();
  }
  reaper.stdin!.write(JSON.stringify(m) + '\n');
}

/**
 * Lists `pid`, a child of this process, to be stopped if this process dies before it. Call it
 * before the child can have been reaped (in its 'spawn' event, not later): its start time is read
 * now, so that a pid reused later by another process is never signalled.
 */
export function stopWithThisProcess(pid: number): void {
  const s = procStat(pid);
  if (s !== undefined) send({ pid, start: s.start });
}

/** `pid` has exited: off the list. */
export function processExited(pid: number): void {
  if (reaper !== undefined) send({ exited: pid });
}

/** Lists `dir` (absolute) to be removed, with everything in it, if this process dies first. */
export function removeWithThisProcess(dir: string): void {
  send({ dir });
}

/** `dir` has been removed (or handed over): off the list. */
export function dirRemoved(dir: string): void {
  if (reaper !== undefined) send({ removed: dir });
}
