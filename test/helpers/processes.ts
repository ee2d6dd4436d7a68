// Child processes and loopback ports for integration tests. Every child is stopped by its own
// pid (never by name), and stopAll() in an afterAll hook reaps whatever a failing test left.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Absolute path of the built CLI (`npm test` / `npx tsc -p .` builds it first). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout / stderr so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit status once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<Child>();

/** Spawns `node <args>` with piped stdio. */
export function spawnNode(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  return spawnProgram(process.execPath, args, opts);
}

/** Spawns any program (e.g. qemu-aarch64-static running a flashed node), tracked like spawnNode's children. */
export function spawnProgram(file: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  const proc = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  if (proc.pid === undefined) throw new Error(`spawn failed: ${file} ${args.join(' ')}`);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const child: Child = { proc, pid: proc.pid, stdout: () => out, stderr: () => err, exited };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** Spawns the built `uzpgw` CLI. */
export function spawnCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  return spawnNode([CLI, ...args], opts);
}

/**
 * Resolves with the first stdout line (already printed or still to come) that parses as JSON and
 * satisfies `match`. Rejects if the
 * process exits first (with its stderr in the message), so a failing child never hangs a test.
 */
export function waitForJsonLine<T = Record<string, unknown>>(child: Child, match: (v: Record<string, unknown>) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const scan = (s: string): void => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch {
          continue;
        }
        if (v !== null && typeof v === 'object' && match(v as Record<string, unknown>)) {
          cleanup();
          resolve(v as T);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`process ${child.pid} exited (code ${code}, signal ${signal}) before the expected JSON line; stderr:\n${child.stderr()}`));
    };
    const cleanup = (): void => {
      child.proc.stdout!.off('data', scan);
      child.proc.off('exit', onExit);
    };
    child.proc.stdout!.on('data', scan);
    child.proc.on('exit', onExit);
    scan(child.stdout()); // lines printed before this call count too
    if (child.proc.exitCode !== null) onExit(child.proc.exitCode, child.proc.signalCode);
  });
}

/** Sends `signal` to the child by its pid and waits for it to exit. */
export async function stopProcess(child: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) {
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  }
  return child.exited;
}

/** Sends a signal without waiting (e.g. SIGHUP). */
/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function signalProcess(child: Child, signal: NodeJS.Signals): void {
  process.kill(child.pid, signal);
}

/** SIGKILLs every child this module started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopProcess(c, 'SIGKILL')));
}
