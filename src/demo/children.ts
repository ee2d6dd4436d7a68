// The demo's child processes: `node dist/cli/main.js rn|gateway|connect ...`, each started without
// a shell and stopped by its own pid (SIGTERM, SIGKILL after a grace period), never by name. A
// process-exit hook SIGKILLs any still running, so even a crashed demo leaves nothing behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SimErrorCode } from '../sim/errors.js';
import { CommonCode, LocalError } from '../lib/errors.js';

/** The built CLI next to this file (dist/demo -> dist/cli/main.js). */
export const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export type Role = 'rn' | 'gateway' | 'operator';

const STDERR_KEEP = 16 * 1024;
const STOP_GRACE_MS = 3000;
const live = new Set<number>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export class DemoChild {
  private err = '';
  private partial = '';
  private readonly lineListeners = new Set<(line: string) => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly role: Role,
    readonly label: string,
    readonly proc: ChildProcess,
    readonly pid: number,
  ) {
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => this.onStdout(s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.err = (this.err + s).slice(-STDERR_KEEP);
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => live.delete(pid));
  }

  /** Starts `node <CLI> args...`; resolves once the process exists (it has a pid). */
  static start(role: Role, label: string, args: readonly string[]): Promise<DemoChild> {
    hookExit();
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.once('error', (e) => reject(new LocalError(SimErrorCode.TOOL_FAILED, `could not start ${label}: ${e.message}`, { cause: e })));
      proc.once('spawn', () => {
        live.add(proc.pid!);
        resolve(new DemoChild(role, label, proc, proc.pid!));
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
    this.lineListeners.add(fn);
    return () => this.lineListeners.delete(fn);
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

  /** SIGTERM by pid, SIGKILL after the grace period; resolves with the exit status. */
  async stop(graceMs = STOP_GRACE_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      signal(this.pid, 'SIGTERM');
      const timer = setTimeout(() => signal(this.pid, 'SIGKILL'), graceMs);
      const r = await this.exited;
      clearTimeout(timer);
      return r;
    }
    return this.exited;
  }

  private onStdout(s: string): void {
    this.partial += s;
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) !== -1) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      for (const l of this.lineListeners) l(line);
    }
    // A child printing one endless line must not grow our memory without bound.
    if (this.partial.length > STDERR_KEEP) this.partial = '';
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
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
