// Processes a test did not start itself (a runner's children) and must see gone once the runner is
// killed. Each is named by its pid and its start time (/proc/PID/stat), so a pid reused meanwhile
// by an unrelated process is neither taken for the old one nor signalled. Read here without the
// code under test (src/lib/reaper-main.ts), so a mistake there cannot hide itself.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Proc {
  readonly pid: number;
  readonly args: string;
  readonly start: string;
}

function stat(pid: number): { state: string; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0]!, start: f[19]! };
}

/** The same process as when it was listed, and not exited (a zombie nobody reaped yet has). */
export function stillRunning(p: Proc): boolean {
  const s = stat(p.pid);
  return s !== undefined && s.state !== 'Z' && s.start === p.start;
}

/** The children of `parent` now. */
export function childrenOf(parent: number): Proc[] {
  const out = execFileSync('ps', ['--ppid', String(parent), '-o', 'pid=,args='], { encoding: 'utf8' }).trim();
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => ({ pid: Number(l.trim().split(/\s+/)[0]), args: l.trim().replace(/^\d+\s+/, '') }))
    .flatMap((c) => {
      const s = stat(c.pid);
      return s === undefined ? [] : [{ ...c, start: s.start }];
    });
}

/** Those of `procs` still running once none is, or at `maxMs` (a hang guard, not a timing claim). */
export async function stillRunningAfter(procs: readonly Proc[], maxMs: number): Promise<Proc[]> {
  const t0 = Date.now();
  while (procs.some(stillRunning) && Date.now() - t0 < maxMs) await new Promise((r) => setTimeout(r, 100));
  return procs.filter(stillRunning);
}

/** SIGKILLs those of `procs` still running (a test's cleanup), by pid. */
export function killStillRunning(procs: readonly Proc[]): void {
  for (const p of procs) if (stillRunning(p)) process.kill(p.pid, 'SIGKILL');
}
