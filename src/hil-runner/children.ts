// Child processes of the demo and `uzpgw hil run`: `node dist/cli/main.js rn|gateway|connect ...`, each started without
// a shell and stopped by its own pid (SIGTERM, SIGKILL at a deadline), never by name or process
// group. A process-exit hook SIGKILLs any still running, so even a crashed demo leaves nothing
// behind; a runner killed with SIGKILL runs no hook, and then the RN and the gateway stop
// themselves (lib/parent-watch.ts) and this process's reaper stops the rest (lib/reaper.ts).
//
// They stay in the demo's process group on purpose: a terminal's Ctrl-C then reaches every one of
// them at once, as it would any shell pipeline, and nothing survives the demo being killed hard.
// The demo still signals each by pid, because SIGINT from a terminal is not the only way it ends
// (deadline, SIGTERM, `kill -INT <demo pid>`).

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SimErrorCode } from '../sim/errors.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { EXIT_WITH_PARENT_ENV } from '../lib/parent-watch.js';
import { processExited, stopWithThisProcess } from '../lib/reaper.js';

/** The built CLI next to this file (dist/hil-runner -> dist/cli/main.js). */
export const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export type Role = 'rn' | 'gateway' | 'operator';

const OUTPUT_KEEP = 16 * 1024;
const live = new Set<number>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const pid of live) signalPid(pid, 'SIGKILL');
  });
}

/** Splits a text stream into lines for listeners; keeps a bounded partial line. */
class Lines {
  private partial = '';
  readonly listeners = new Set<(line: string) => void>();

  push(s: string): void {
    this.partial += s;
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) !== -1) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      for (const l of this.listeners) l(line);
    }
    // A child printing one endless line must not grow our memory without bound.
    if (this.partial.length > OUTPUT_KEEP) this.partial = '';
  }
}

export class CliChild {
  private err = '';
  private readonly out = new Lines();
  private readonly errLines = new Lines();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly role: Role,
    readonly label: string,
    readonly proc: ChildProcess,
    readonly pid: number,
  ) {
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => this.out.push(s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.err = (this.err + s).slice(-OUTPUT_KEEP);
      this.errLines.push(s);
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => {
      live.delete(pid);
      processExited(pid);
    });
  }

  /** Starts `node <CLI> args...`; resolves once the process exists (it has a pid). */
  static start(role: Role, label: string, args: readonly string[]): Promise<CliChild> {
    hookExit();
    return new Promise((resolve, reject) => {
      // The RN and the gateway exit with this process even when it is SIGKILLed (no exit hook runs):
      // they watch a stdin pipe that only this process holds open (lib/parent-watch.ts).
      const watched = role !== 'operator';
      const proc = spawn(process.execPath, [CLI, ...args], { stdio: [watched ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: watched ? { ...process.env, [EXIT_WITH_PARENT_ENV]: '1' } : process.env });
      proc.once('error', (e) => reject(new LocalError(SimErrorCode.TOOL_FAILED, `could not start ${label}: ${e.message}`, { cause: e })));
      proc.once('spawn', () => {
        live.add(proc.pid!);
        stopWithThisProcess(proc.pid!);
        resolve(new CliChild(role, label, proc, proc.pid!));
      });
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  stderr(): string {
    return this.err;
  }

  /** Calls `fn` with every complete stdout line from now on; returns the unsubscribe function. */
  onLine(fn: (line: string) => void): () => void {
    this.out.listeners.add(fn);
    return () => this.out.listeners.delete(fn);
  }

  /** Calls `fn` with every complete stderr line from now on. */
  onStderrLine(fn: (line: string) => void): void {
    this.errLines.listeners.add(fn);
  }

  /**
   * Resolves with the first JSON stdout line that satisfies `match`; rejects when the process exits
   * first, `timeoutMs` passes (a hang guard for start-up, with the child's stderr in the message) or
   * `signal` aborts (the demo's deadline or Ctrl-C).
   */
  waitForJson(match: (v: Record<string, unknown>) => boolean, timeoutMs: number, what: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const done = (e: Error | null, v?: Record<string, unknown>): void => {
        clearTimeout(timer);
        off();
        this.proc.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve(v!);
      };
      const onAbort = (): void => done(new LocalError(CommonCode.ABORTED, `stopped while waiting for ${what} from ${this.label}`));
      signal?.addEventListener('abort', onAbort);
      const off = this.onLine((line) => {
        const v = parseJsonLine(line);
        if (v !== undefined && match(v)) done(null, v);
      });
      const onExit = (code: number | null): void => done(new LocalError(SimErrorCode.TOOL_FAILED, `${this.label} exited (code ${code}) before ${what}:\n${this.err.trim()}`));
      const timer = setTimeout(() => done(new LocalError(SimErrorCode.TOOL_FAILED, `${this.label}: no ${what} within ${timeoutMs} ms:\n${this.err.trim()}`)), timeoutMs);
      this.proc.once('exit', onExit);
      if (!this.running) onExit(this.proc.exitCode);
      else if (signal?.aborted) onAbort();
    });
  }

  /** Asks the child to stop: SIGTERM to its pid. */
  terminate(): void {
    if (this.running) signalPid(this.pid, 'SIGTERM');
  }

  /** Stops the child now: SIGKILL to its pid. */
  kill(): void {
    if (this.running) signalPid(this.pid, 'SIGKILL');
  }
}

/**
 * Stops `groups` one after the other (SIGTERM to each pid of a group, then wait for the group).
 * One deadline covers all groups: at `graceMs` every child still running gets SIGKILL, so the
 * whole stop is bounded by `graceMs` however many groups there are or however a child handles
 * SIGTERM. Resolves with the children that needed the SIGKILL.
 */
export async function stopInOrder(groups: readonly (readonly CliChild[])[], graceMs: number): Promise<CliChild[]> {
  const killed: CliChild[] = [];
  const timer = setTimeout(() => {
    for (const c of groups.flat()) {
      if (!c.running) continue;
      killed.push(c);
      c.kill();
    }
  }, graceMs);
  try {
    for (const group of groups) {
      for (const c of group) c.terminate();
      await Promise.all(group.map((c) => c.exited));
    }
  } finally {
    clearTimeout(timer);
  }
  return killed;
}

export function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
