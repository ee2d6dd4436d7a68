// Running `uzpgw` for the flash tests: in process through the dispatcher (fast, for refusals), or
// as a child process of the built CLI (what the unit runs) via test/helpers/processes.ts.

import { Writable } from 'node:stream';
import { main } from '../../src/cli/dispatch.js';
import { spawnCli } from '../helpers/processes.js';

export interface RunResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

function sink(f: (s: string) => void): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      f(String(chunk));
      cb();
    },
  });
}

/** `uzpgw ARGV` in this process, stdout and stderr captured. */
export async function runInProcess(...argv: string[]): Promise<RunResult> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}

/** `node dist/cli/main.js ARGV` as a child; resolves when it exits. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const child = spawnCli(argv, { env });
  const { code } = await child.exited;
  return { code: code ?? -1, out: child.stdout(), err: child.stderr() };
}

/** Parses a one-object JSON stdout, failing with the stderr when it is not JSON. */
export function jsonOf(r: RunResult): Record<string, unknown> {
  try {
    return JSON.parse(r.out) as Record<string, unknown>;
  } catch {
    throw new Error(`exit ${r.code}, stdout is not JSON:\n${r.out}\nstderr:\n${r.err}`);
  }
}
