// `hil run`: a diagnostics counter is judged from the step's start. The gateway counts from its own
// start, so before, "timeouts min 1" after a harmless slow slave passed on the timeouts an earlier
// dead-slave fault had left; `since: start` keeps the gateway's totals for who wants them.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHilCli, writeScenario } from '../helpers/hil-run.js';
import { stopAll } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-diag-test-'));

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('hil run: diagnostics counters', () => {
  it('count from the step, not from the gateway start (unless since: start)', async () => {
    const scenario = writeScenario(dir, 'diag-baseline', [
      { fault: 'dead-slave', slot: 'rs485-1', unit: 7 },
      { expect: 'diagnostics', slot: 'rs485-1', unit: 7, counter: 'timeouts', min: 1, within_ms: 5000 },
      { fault: 'heal', slot: 'rs485-1' },
      { expect: 'diagnostics', slot: 'rs485-1', unit: 7, counter: 'state', state: 'ok', within_ms: 5000 },
      // 5 ms late is well inside the slot's 300 ms timeout: no new timeouts.
      { fault: 'slow-slave', slot: 'rs485-1', unit: 7, delay_ms: 5 },
      { name: 'leftovers do not count', expect: 'diagnostics', slot: 'rs485-1', unit: 7, counter: 'timeouts', min: 1, within_ms: 1000 },
      { name: 'totals on request', expect: 'diagnostics', slot: 'rs485-1', unit: 7, counter: 'timeouts', min: 1, since: 'start', within_ms: 1000 },
      { expect: 'diagnostics', slot: 'rs485-1', unit: 7, counter: 'requests', min: 1, within_ms: 5000 },
    ]);
    const r = await runHilCli(scenario);
    expect(r.steps.map((s) => [s.step, s.ok]), r.stderr).toEqual([[1, true], [2, true], [3, true], [4, true], [5, true], [6, false], [7, true], [8, true]]);
    expect(r.steps[5]!.message).toMatch(/^rs485-1 unit 7 timeouts = 0 after 1000 ms; expected >= 1 \(since the step began; [1-9]\d* since the gateway started\)/);
    expect(r.steps[6]!.message).toMatch(/timeouts = [1-9]\d* \(since the gateway started\)/);
    expect(r.code).toBe(1);
  }, 60_000);
});
