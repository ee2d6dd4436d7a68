// `uzpgw demo` on a real pseudo-terminal, as a person runs it. util-linux `script` opens the pty
// and starts a shell as the session leader with the pty as its controlling terminal; the shell
// runs the demo in the foreground process group, so a 0x03 written to the pty makes the kernel's
// line discipline send SIGINT to the demo and every child it started, exactly as Ctrl-C does.
//
// The shell catches SIGINT with a no-op trap (a handler, not "ignore", so the demo and its
// children start with the default disposition) and stays alive after the demo, waiting for a line:
// like an interactive shell, it keeps the session open, so no SIGHUP from a departing session
// leader tidies up processes the demo should have stopped itself. Every process of the session
// is found through /proc (its session id), so "nothing left" covers whatever the demo started,
// named in its output or not.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CLI } from '../helpers/processes.js';

export const COLUMNS = 120;
export const ROWS = 50;

export interface SessionProcess {
  readonly pid: number;
  /** /proc/PID/cmdline, arguments joined with spaces. */
  readonly cmd: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class PtyDemo {
  private raw = '';
  private readonly listeners = new Set<() => void>();
  private exitAt: number | undefined;
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;

  /** Starts `uzpgw demo ARGS` on a fresh pty of COLUMNS x ROWS. */
  constructor(args: readonly string[]) {
    const demo = [process.execPath, CLI, 'demo', ...args].map(quote).join(' ');
    const shell = `stty cols ${COLUMNS} rows ${ROWS}; trap : INT; echo "uzp-shell $$"; ${demo}; echo "uzp-demo-exit $?"; read _`;
    this.proc = spawn('script', ['-qfec', shell, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.raw += s;
      if (this.exitAt === undefined && /uzp-demo-exit \d+/.test(this.raw)) this.exitAt = performance.now();
      for (const l of this.listeners) l();
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => (this.raw += s));
    // Typing into a terminal that has closed is a no-op, as on a real one.
    this.proc.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  /** Everything the terminal received so far (escape sequences included). */
  output(): string {
    return this.raw;
  }

  /** The shell's pid: the session id of every process the demo started. */
  get sessionId(): number | undefined {
    const m = /uzp-shell (\d+)/.exec(this.raw);
    return m === null ? undefined : Number(m[1]);
  }

  /** The demo's exit status once it has exited, as the shell saw it. */
  get demoExit(): { code: number; at: number } | undefined {
    const m = /uzp-demo-exit (\d+)/.exec(this.raw);
    return m === null || this.exitAt === undefined ? undefined : { code: Number(m[1]), at: this.exitAt };
  }

  /** Types `s` on the terminal (0x03 is Ctrl-C). */
  type(s: string): void {
    this.proc.stdin!.write(s);
  }

  /**
   * Resolves once `ready(output)` holds; rejects after `guardMs` (a hang guard, not a timing
   * claim) or when the terminal closes first, with the output in the message.
   */
  until(ready: (raw: string) => boolean, what: string, guardMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!ready(this.raw)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${guardMs} ms; the terminal shows:\n${this.raw.slice(-4000)}`));
      }, guardMs);
      const onExit = (): void => {
        done();
        reject(new Error(`the terminal closed before ${what}:\n${this.raw.slice(-4000)}`));
      };
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        this.proc.off('exit', onExit);
      };
      this.listeners.add(check);
      this.proc.once('exit', onExit);
      check();
    });
  }

  /** Every live process of the session but the shell (zombies count as gone). */
  sessionProcesses(): SessionProcess[] {
    const sid = this.sessionId;
    if (sid === undefined) return [];
    return livePids()
      .filter((p) => p.session === sid && p.pid !== sid)
      .map((p) => ({ pid: p.pid, cmd: cmdline(p.pid) }));
  }

  /** Ends the session: a line for the shell's `read`, then SIGKILL to `script` by pid if need be. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.type('\n');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Last resort after a failed test: every process of the session but the shell, by pid. */
  killSession(): void {
    for (const p of this.sessionProcesses()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** Whether `pid` is alive in session `sid` (a pid reused by an unrelated process does not count). */
export function aliveIn(pid: number, sid: number): boolean {
  return livePids().some((p) => p.pid === pid && p.session === sid);
}

function livePids(): { pid: number; session: number }[] {
  const out: { pid: number; session: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid pgrp session …; comm may hold spaces and parentheses.
    const [state, , , session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state !== 'Z' && state !== 'X') out.push({ pid: Number(name), session: Number(session) });
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}
