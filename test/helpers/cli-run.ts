// `uzpgw` run in-process (src/cli/dispatch.ts main) with its output captured: for tests of a
// command's exit code, stdout and stderr without a child process.

import { Writable } from 'node:stream';
import { main } from '../../src/cli/dispatch.js';

export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void): Writable =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const code = await main(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}
