// The reaper: a watchdog process that outlives the process that started it only to clean up after
// it. A runner (`uzpgw hil run`, `hil equipment`, the demo, a test) starts one (reaper.ts) and tells
// it, over the reaper's stdin, every process it starts and every temporary directory it makes, and
// each one it has seen exit or removed itself. Only the runner holds that pipe's write end, so
// when the runner dies, even by SIGKILL (a CI job timeout), which runs no exit hook, the kernel
// closes it and the reaper reads end-of-file. It then stops every process still listed (SIGTERM,
// so socat removes its links and mosquitto saves; SIGKILL to what is left after GRACE_MS), removes
// the directories and exits. socat and mosquitto cannot watch their parent themselves (the RN and
// the gateway do: parent-watch.ts); PR_SET_PDEATHSIG is out of Node's reach, and mosquitto running
// as root clears it when it drops to its own user.
//
// Pids are reused: a process is listed by its pid and its start time (/proc/PID/stat), and is
// signalled only while both still match and it has not exited (a zombie has). Without /proc there
// is no way to tell, and nothing is listed (reaper.ts).
//
// Self-contained on purpose (node: imports only): it runs as its own program, from dist/ as
// JavaScript and, under the test runner, from src/ as TypeScript (Node strips the types).

import { readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a runner tells its reaper, one JSON object a line. */
export type ReaperMessage =
  | { readonly pid: number; readonly start: string }
  | { readonly exited: number }
  | { readonly dir: string }
  | { readonly removed: string };

/** After SIGTERM, what still runs this long later gets SIGKILL (the runner's own stop deadline). */
const GRACE_MS = 2000;
const POLL_MS = 50;
/** A line longer than any message: the rest of it is dropped, not buffered. */
const MAX_LINE = 64 * 1024;

/** The state letter and start time (clock ticks since boot) of `pid`; undefined if there is no such process. */
export function procStat(pid: number): { readonly state: string; readonly start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2, the command name, is in parentheses and may itself hold spaces and ')': the fields
  // after it start past the last ')'. There, the state (field 3) is first, the start time (22) 20th.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = f[0];
  const start = f[19];
  return state !== undefined && start !== undefined && /^\d+$/.test(start) ? { state, start } : undefined;
}

/** Still the process that was listed: the same start time, and not exited (a zombie has). */
export function stillOurs(pid: number, start: string): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X' && s.start === start;
}

/** What the reaper will clean up; fed the runner's lines. */
export class ReaperList {
  readonly pids = new Map<number, string>();
  readonly dirs = new Set<string>();
  private partial = '';

  /** Takes a chunk of the runner's stream; complete lines are applied, a line that is no message is dropped. */
  push(chunk: string): void {
    this.partial += chunk;
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) !== -1) {
      this.apply(this.partial.slice(0, nl));
      this.partial = this.partial.slice(nl + 1);
    }
    if (this.partial.length > MAX_LINE) this.partial = '';
  }

  private apply(line: string): void {
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m === null || typeof m !== 'object') return;
    const o = m as Record<string, unknown>;
    if (isPid(o.pid) && typeof o.start === 'string') this.pids.set(o.pid, o.start);
    else if (isPid(o.exited)) this.pids.delete(o.exited);
    else if (isAbsolute(o.dir)) this.dirs.add(o.dir);
    else if (typeof o.removed === 'string') this.dirs.delete(o.removed);
  }
}

function isPid(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 1;
}

function isAbsolute(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith('/') && v !== '/';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

/**
 * Stops every listed process that is still ours (SIGTERM; SIGKILL to those running `graceMs`
 * later), then removes the listed directories. Resolves when done.
 */
export async function reap(list: ReaperList, graceMs = GRACE_MS): Promise<void> {
  const ours = (): number[] => [...list.pids].filter(([pid, start]) => stillOurs(pid, start)).map(([pid]) => pid);
  for (const pid of ours()) signal(pid, 'SIGTERM');
  const t0 = performance.now();
  while (ours().length > 0 && performance.now() - t0 < graceMs) await sleep(POLL_MS);
  // Checked again right before: a process that exited during the grace no longer owns its pid.
  for (const pid of ours()) signal(pid, 'SIGKILL');
  for (const d of list.dirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // nothing more to do about it: the reaper has no one left to tell
    }
  }
}

// Run as a program (not imported by a test): import.meta.main is Node >= 24.2 only, and
// scripts/node.sh accepts any system Node 24.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const list = new ReaperList();
  let reaping = false;
  const done = (): void => {
    if (reaping) return;
    reaping = true;
    void reap(list).finally(() => process.exit(0));
  };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (s: string) => list.push(s));
  process.stdin.once('end', done);
  process.stdin.once('error', done);
}
