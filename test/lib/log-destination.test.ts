// Log destinations that survive a failing disk (src/lib/log-destination.ts): lines written to
// /dev/full (every write fails with ENOSPC) from a fresh node process. pino's own destination
// re-emits the error with no listener left and the process dies; ours says so once on stderr and
// the process lives on.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DIST = fileURLToPath(new URL('../../dist/lib/log-destination.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Writes 200 lines to /dev/full, then says "alive" after 200 ms: stdout, stderr and the exit code. */
async function writeToFull(guarded: boolean): Promise<{ stdout: string; stderr: string; code: number }> {
  const script = `
    import { pino } from 'pino';
    import { logDestination } from ${JSON.stringify(DIST)};
    const log = pino(${guarded} ? logDestination('/dev/full', 'test log') : pino.destination({ dest: '/dev/full', sync: true }));
    for (let i = 0; i < 200; i++) log.info({ i }, 'a line');
    setTimeout(() => console.log('alive'), 200);
  `;
  try {
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 30_000 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { stdout: x.stdout, stderr: x.stderr, code: x.code };
  }
}

describe.skipIf(!existsSync('/dev/full'))('logDestination: a write that fails does not end the process', () => {
  it('the process lives on and says it once', async () => {
    const r = await writeToFull(true);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('alive');
    expect(r.stderr.match(/test log: a write failed \(ENOSPC\)/g)).toHaveLength(1);
  });

  it("pino's own destination, for contrast: the process dies", async () => {
    const r = await writeToFull(false);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('alive');
  });
});
