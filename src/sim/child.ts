// Child processes of the simulators (socat, mosquitto): started without a shell, stopped by their
// own pid, never by name. A process-exit hook signals any still running so a crashed test run
// does not leave PTY relays or brokers behind; for a death that runs no hook (SIGKILL), each is
// also listed with this process's reaper (lib/reaper.ts), which stops it then.

import { spawn, type ChildProcess } from 'node:child_process';
import { SimErrorCode } from './errors.js';
import { LocalError } from '../lib/errors.js';
import { processExited, stopWithThisProcess } from '../lib/reaper.js';

export interface ToolProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** The last few KB of stderr (diagnostics for error messages). */
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<number>();
let hooked = false;
const STDERR_KEEP = 8192;

/**
 * Spawns `command args` with stderr captured. Rejects with TOOL_MISSING when the executable does not
 * exist (`hint` says how to install it), after the process has been set up or failed to spawn.
 * `pipes`: stdin and stdout are pipes to this process (`proc.stdin` / `proc.stdout`), not ignored.
 */
export function startTool(command: string, args: readonly string[], hint: string, opts: { readonly pipes?: boolean } = {}): Promise<ToolProcess> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const pid of live) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    });
  }
  return new Promise((resolve, reject) => {
    const proc = spawn(command, [...args], { stdio: opts.pipes === true ? ['pipe', 'pipe', 'pipe'] : ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err = (err + s).slice(-STDERR_KEEP);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
      proc.once('exit', (code, signal) => {
        if (proc.pid !== undefined) {
          live.delete(proc.pid);
          processExited(proc.pid);
        }
        res({ code, signal });
      });
    });
    proc.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new LocalError(SimErrorCode.TOOL_MISSING, `${command} not found: ${hint}`, { cause: e }));
      else reject(new LocalError(SimErrorCode.TOOL_FAILED, `${command} could not be started: ${e.message}`, { cause: e }));
    });
    proc.once('spawn', () => {
      live.add(proc.pid!);
      stopWithThisProcess(proc.pid!);
      resolve({ proc, pid: proc.pid!, stderr: () => err, exited });
    });
  });
}

/** Signals `t` by its pid and waits for it to exit; SIGKILL after `graceMs`. */
export async function stopTool(t: ToolProcess, graceMs = 3000): Promise<void> {
  if (t.proc.exitCode !== null || t.proc.signalCode !== null) return;
  const kill = (sig: NodeJS.Signals): void => {
    try {
      process.kill(t.pid, sig);
    } catch {
      // exited meanwhile
    }
  };
  kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((res) => {
    timer = setTimeout(() => {
      kill('SIGKILL');
      res();
    }, graceMs);
  });
  await Promise.race([t.exited, forced]);
  clearTimeout(timer);
  await t.exited;
}

export function isRunning(t: ToolProcess): boolean {
  return t.proc.exitCode === null && t.proc.signalCode === null;
}

/**
 * Resolves once `ready` holds for the tool's stderr so far (checked at each chunk); rejects with
 * TOOL_FAILED, the tool's log appended, when it exits first or `timeoutMs` passes.
 */
export function waitForStderr(tool: ToolProcess, ready: (log: string) => boolean, timeoutMs: number, say: { readonly exited: (code: number | null) => string; readonly timedOut: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = tool.proc.stderr!;
    const check = (): void => {
      if (ready(tool.stderr())) done(null);
    };
    const onExit = (code: number | null): void => done(new LocalError(SimErrorCode.TOOL_FAILED, `${say.exited(code)}:\n${tool.stderr()}`));
    const timer = setTimeout(() => done(new LocalError(SimErrorCode.TOOL_FAILED, `${say.timedOut}:\n${tool.stderr()}`)), timeoutMs);
    const done = (e: Error | null): void => {
      clearTimeout(timer);
      stream.off('data', check);
      tool.proc.off('exit', onExit);
      if (e === null) resolve();
      else reject(e);
    };
    stream.on('data', check);
    tool.proc.once('exit', onExit);
    check();
  });
}
