// `hil run` when the gateway dies mid-run: the run stops, says which process ended and how (exit
// code or signal, the end of its stderr) and fails. Before, nothing said so: the step under way
// and every one after it waited out its within_ms and failed as if failover were slow.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hilLines, startHilRun, writeScenario } from '../helpers/hil-run.js';
import { stopAll, waitForJsonLine } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-death-test-'));

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The pid of the `uzpgw gateway` child of `parent` (ps: the runner does not print it). */
function gatewayPid(parent: number): number {
  const rows = execFileSync('ps', ['--ppid', String(parent), '-o', 'pid=,args='], { encoding: 'utf8' }).trim().split('\n');
  const row = rows.find((l) => / gateway --config /.test(l));
  if (row === undefined) throw new Error(`no gateway child of ${parent}:\n${rows.join('\n')}`);
  return Number(row.trim().split(/\s+/)[0]);
}

describe('hil run: the gateway dies mid-run', () => {
  it('stops the run, names the dead process and how it ended, fails; the steps left are skipped', async () => {
    const junit = join(dir, 'death.xml');
    const scenario = writeScenario(dir, 'death', [
      { expect: 'readings', slot: 'rs485-1', min: 1 },
      { name: 'long watch', expect: 'readings', slot: 'rs485-1', min: 1_000_000, within_ms: 600_000 },
      { expect: 'readings', slot: 'tty-1', min: 1, within_ms: 600_000 },
    ]);
    const child = startHilRun(scenario, ['--junit', junit]);
    await waitForJsonLine(child, (v) => v.event === 'step' && v.step === 1);
    process.kill(gatewayPid(child.pid), 'SIGKILL');
    const { code } = await child.exited;
    const r = hilLines(child, code);
    expect(code, r.stderr).toBe(1);
    expect(r.steps.map((s) => [s.step, s.ok, s.error === true])).toEqual([[1, true, false], [2, false, true]]);
    expect(r.steps[1]!.message).toMatch(/^stopped: the gateway exited: /);
    expect(r.summary).toMatchObject({ ok: false, skipped: 1, setup_error: expect.stringMatching(/^the gateway exited on its own \(signal SIGKILL\)/) });
    expect(r.notes.some((n) => n.startsWith('the gateway exited on its own (signal SIGKILL)'))).toBe(true);
    expect(readFileSync(junit, 'utf8')).toMatch(/name="#3 readings tty-1"[^>]*>\s*<skipped message="not run: the gateway exited on its own/);
  }, 60_000);
});
