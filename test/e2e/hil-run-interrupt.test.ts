// `hil run` stopped by Ctrl-C or SIGTERM is never a pass: before, a stop during the last step (a
// soak `wait_ms`) printed PASS, exited 0 and wrote an all-green JUnit file, because "interrupted"
// was recorded only when another step was to come and a wait cut short counted as ok; the steps
// it never ran were missing from the JUnit file.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hilLines, startHilRun, writeScenario } from '../helpers/hil-run.js';
import { stopAll, waitForJsonLine } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-interrupt-test-'));

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `steps`, sends `signal` once step 1 is reported, returns what the run said. */
async function interrupt(name: string, steps: object[], signal: NodeJS.Signals): Promise<{ r: ReturnType<typeof hilLines>; xml: string }> {
  const junit = join(dir, `${name}.xml`);
  const child = startHilRun(writeScenario(dir, name, steps), ['--junit', junit]);
  await waitForJsonLine(child, (v) => v.event === 'step' && v.step === 1);
  process.kill(child.pid, signal);
  const { code } = await child.exited;
  execFileSync('xmllint', ['--noout', '--schema', 'test/fixtures/junit.xsd', junit], { stdio: 'pipe' });
  return { r: hilLines(child, code), xml: readFileSync(junit, 'utf8') };
}

describe('hil run: an interrupted run', () => {
  it('SIGTERM during the last step (a soak wait): FAIL, exit 1, and the JUnit file says so', async () => {
    const { r, xml } = await interrupt('soak', [{ expect: 'readings', slot: 'tty-1', min: 1 }, { name: 'soak', wait_ms: 60_000 }], 'SIGTERM');
    expect(r.code, r.stderr).toBe(1);
    expect(r.steps.map((s) => [s.step, s.ok])).toEqual([[1, true], [2, false]]);
    expect(r.steps[1]!.message).toMatch(/^interrupted: waited \d+ ms \(stopped early\)/);
    expect(r.summary).toMatchObject({ ok: false, exit_code: 1, setup_error: 'interrupted during step 2 (the last)' });
    expect(xml).toMatch(/<testsuite [^>]*errors="2" skipped="0"/);
  }, 60_000);

  it('Ctrl-C with steps left: each is a skipped case in the JUnit file', async () => {
    const { r, xml } = await interrupt('skips', [{ expect: 'readings', slot: 'tty-1', min: 1 }, { wait_ms: 60_000 }, { expect: 'readings', slot: 'rs485-1' }, { name: 'last', wait_ms: 10 }], 'SIGINT');
    expect(r.code, r.stderr).toBe(1);
    expect(r.summary).toMatchObject({ ok: false, skipped: 2, setup_error: 'interrupted before step 3' });
    expect(xml).toMatch(/<testsuite [^>]*tests="5" failures="0" errors="2" skipped="2"/);
    expect(xml).toMatch(/<testcase [^>]*name="#3 readings rs485-1"[^>]*>\s*<skipped message="not run: interrupted before step 3"/);
    expect(xml).toMatch(/<testcase [^>]*name="#4 last"[^>]*>\s*<skipped /);
  }, 60_000);
});
