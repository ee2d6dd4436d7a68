// `hil run`: the steps right after an `rn-kill` fault act through the operator session once it is
// stitched to the new RN. Before, the fault returned as soon as the new RN listened and the next
// operator step got the session still in failover: "could not be carried out ... SESSION_FROZEN".

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHilCli, writeScenario } from '../helpers/hil-run.js';
import { stopAll } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-rnkill-test-'));

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('hil run: after an RN kill', () => {
  it('an action and a diagnostics step right after rn-kill are carried out on the re-stitched session', async () => {
    const scenario = writeScenario(dir, 'rn-kill', [
      { expect: 'readings', slot: 'rs485-1', min: 2 },
      { fault: 'rn-kill' },
      { expect: 'action', slot: 'rs485-1', do: 'modbus.read', unit: 1, table: 'input', address: 0, count: 1, outcome: 'ok' },
      { expect: 'diagnostics', slot: 'rs485-1', counter: 'requests', min: 1 },
      { expect: 'readings', slot: 'rs485-1', min: 2, within_ms: 15000 },
    ]);
    const r = await runHilCli(scenario);
    expect(r.steps.map((s) => [s.step, s.ok, s.message]), r.stderr).toEqual([1, 2, 3, 4, 5].map((i) => [i, true, expect.any(String)]));
    expect(r.code).toBe(0);
  }, 90_000);
});
