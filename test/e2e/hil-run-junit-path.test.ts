// `hil run --junit PATH` where PATH cannot be written (a directory) is refused before anything
// starts (exit 2, nothing on stdout). Before, only a missing directory was checked: the whole
// scenario ran, the summary said exit_code 0, then the process exited 2 telling the user to "make
// its directory".

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHilRun, writeScenario } from '../helpers/hil-run.js';
import { stopAll } from '../helpers/processes.js';

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
});
