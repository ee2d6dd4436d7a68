// `hil run --junit PATH` where PATH cannot be written (a directory) is refused before anything
// starts (exit 2, nothing on stdout). Before, only a missing directory was checked: the whole
// scenario ran, the summary said exit_code 0, then the process exited 2 telling the user to "make
// its directory". A named pipe (FIFO) nobody reads is refused the same way: before, the check's own
// open, then the report's write, waited for a reader that never came (the process hung). One a
// reader has open (`--junit >(wc -c)`) gets the report.

import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHilRun, writeScenario } from '../helpers/hil-run.js';
import { stopAll, stopProcess } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-junit-test-'));

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('hil run --junit', () => {
  it('a directory as the report path: refused before the run, with a message that fits', async () => {
    const child = startHilRun(writeScenario(dir, 'short', [{ wait_ms: 10 }]), ['--junit', dir]);
    const { code } = await child.exited;
    expect(code).toBe(2);
    expect(child.stderr()).toMatch(/--junit .*: .* is a directory; give a file path/);
    expect(child.stdout()).toBe('');
  }, 60_000);

  it('a named pipe (FIFO), or a link to one: refused before the run, not a hang', async () => {
    const fifo = join(dir, 'report.fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(dir, 'report-link.xml');
    symlinkSync(fifo, link);
    for (const path of [fifo, link]) {
      const child = startHilRun(writeScenario(dir, 'short', [{ wait_ms: 10 }]), ['--junit', path]);
      // A hang guard, not a timing claim: before, the process waited on the FIFO for ever.
      const guard = setTimeout(() => void stopProcess(child, 'SIGKILL'), 20_000);
      const { code, signal } = await child.exited;
      clearTimeout(guard);
      expect({ code, signal }, child.stderr()).toEqual({ code: 2, signal: null });
      expect(child.stderr()).toMatch(/--junit \S+: \S+ is a named pipe \(FIFO\): writing to it waits until a reader opens it, not a regular file; give the path of a file/);
      expect(child.stdout()).toBe('');
    }
  }, 60_000);

  it('a named pipe a reader has open (as `--junit >(wc -c)`): the run goes on and the reader gets the report', async () => {
    const fifo = join(dir, 'read-report.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const child = startHilRun(writeScenario(dir, 'short', [{ wait_ms: 10 }]), ['--junit', fifo]);
      // A hang guard, not a timing claim (the report of one step is far below a pipe's 64 KiB).
      const guard = setTimeout(() => void stopProcess(child, 'SIGKILL'), 40_000);
      const { code, signal } = await child.exited;
      clearTimeout(guard);
      expect({ code, signal }, child.stderr()).toEqual({ code: 0, signal: null });
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(reader, buf);
      expect(buf.subarray(0, n).toString('utf8')).toMatch(/^<\?xml[\s\S]*<testsuite[\s\S]*<\/testsuites?>\s*$/);
    } finally {
      closeSync(reader);
    }
  }, 60_000);
});
