// `hil run`: a serial.write step's outcome is the gateway's. The gateway answers a write only when
// it refuses it (a Grant without serial.write, a port that is down), so the step listens for that
// refusal; before, it reported "ok" as soon as the bytes were sent.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHilCli, writeScenario } from '../helpers/hil-run.js';
import { stopAll } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-write-test-'));

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('hil run: serial.write outcomes', () => {
  it('reports the refusal of a write under a read-only Grant and of a write to an unplugged port', async () => {
    const scenario = writeScenario(dir, 'serial-write', [
      { expect: 'action', slot: 'tty-2', do: 'serial.write', text: 'A', purposes: ['serial.read'], outcome: 'PURPOSE_NOT_GRANTED' },
      { expect: 'action', slot: 'tty-2', do: 'serial.write', text: 'B', purposes: ['serial.read'], outcome: 'ok' },
      { expect: 'action', slot: 'tty-2', do: 'serial.write', text: 'C', outcome: 'ok' },
      { expect: 'action', slot: 'tty-2', do: 'serial.write', text: 'PING\r\n', echo: true, outcome: 'ok' },
      { fault: 'unplug', slot: 'tty-2' },
      { wait_ms: 500 },
      { expect: 'action', slot: 'tty-2', do: 'serial.write', text: 'D', outcome: 'ok' },
    ]);
    const r = await runHilCli(scenario);
    expect(r.steps.map((s) => [s.step, s.ok]), r.stderr).toEqual([[1, true], [2, false], [3, true], [4, true], [5, true], [6, true], [7, false]]);
    expect(r.steps[1]!.message).toMatch(/serial\.write on tty-2 under \[serial\.read\]: refused PURPOSE_NOT_GRANTED; expected ok/);
    expect(r.steps[3]!.message).toMatch(/: ok \(echoed\)$/);
    expect(r.steps[6]!.message).toMatch(/refused DEVICE_UNAVAILABLE; expected ok/);
    expect(r.code).toBe(1);
  }, 60_000);
});
