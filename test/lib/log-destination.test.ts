// Log destinations that survive a failing disk (src/lib/log-destination.ts): lines written to
// /dev/full (every write fails with ENOSPC) from a fresh node process. pino's own destination
// re-emits the error with no listener left and the process dies; ours says so once on stderr and
// the process lives on. A closed pipe on fd 1 (EPIPE), which pino drops silently, reaches
// process.stdout's 'error' listeners instead (the CLI's output-closed.ts stops the servers on it).

import { execFile, spawn } from 'node:child_process';
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

/**
 * Logs three lines to fd 1 once told (a line on stdin), after the test closed the read end of that
 * pipe; process.stdout has an 'error' listener when `listening`. Resolves with stderr and the exit.
 */
async function writeToClosedPipe(listening: boolean): Promise<{ stderr: string; code: number | null }> {
  const script = `
    import { pino } from 'pino';
    import { logDestination } from ${JSON.stringify(DIST)};
    if (${listening}) process.stdout.on('error', (e) => process.stderr.write('stdout error: ' + e.code + '\\n'));
    const log = pino(logDestination(1, 'test log'));
    process.stdin.once('data', () => {
      for (let i = 0; i < 3; i++) log.info({ i }, 'a line');
      setTimeout(() => process.exit(0), 50);
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.destroy();
  child.stdin.write('go\n');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { stderr, code };
}

describe('logDestination: a closed pipe on fd 1', () => {
  it("reaches process.stdout's 'error' listeners, once, and nothing else is said", async () => {
    const r = await writeToClosedPipe(true);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('stdout error: EPIPE\n');
  });

  it('with no listener there, is said once on stderr like any other write error', async () => {
    const r = await writeToClosedPipe(false);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/test log: a write failed \(EPIPE\)/g)).toHaveLength(1);
  });
});
