// The equipment's socat pids (src/hil-runner/equipment.ts) are the live ones: an unplug ends a
// line's socat and a replug starts another. Before, the list was taken once at start, so after a
// replug it still named the exited socat, which a second Ctrl-C then SIGKILLed (by then, maybe,
// another process's pid) while the new one was missed. Real socat PTYs.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../src/config/index.js';
import { startEquipment, type RunningEquipment } from '../../src/hil-runner/equipment.js';
import { pidAlive } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-eq-pids-'));
let eq: RunningEquipment | undefined;

afterAll(async () => {
  await eq?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('equipment pids', () => {
  it('after unplug and replug, name the running socat processes and no exited one', async () => {
    const config = loadGatewayConfig('docs/examples/hil/virtual/gateway.json', { checkFiles: false });
    eq = await startEquipment(config, dir);
    const line = eq.slots.find((s) => s.plan.slot === 'tty-1')!.line!;
    const before = [...eq.pids];
    const old = [...line.pids];
    await line.unplug();
    expect(eq.pids.filter((p) => old.includes(p) && !pidAlive(p))).toEqual([]);
    await line.replug();
    const now = [...eq.pids];
    expect(now.every(pidAlive)).toBe(true);
    expect(now).toEqual(expect.arrayContaining(line.pids));
    expect(now.length).toBe(before.length);
    expect(old.filter((p) => !pidAlive(p)).some((p) => now.includes(p))).toBe(false);
  }, 30_000);
});
