// Serial-line timing of the RTU master over a baud-paced PTY bus (Modbus over Serial Line V1.02
// §2.4.1, §2.5.1.1): the per-slot inter-request delay keeps transactions apart by at least that
// much, and the broadcast turnaround holds the next request back. Lower bounds only: a loaded
// machine can make a transaction slower, never a configured wait shorter.

import { afterEach, describe, expect, it } from 'vitest';
import { SerialLink } from '../../../src/ports/serial.js';
import { ModbusBus } from '../../../src/ports/modbus/bus.js';
import type { RtuTransportOptions } from '../../../src/ports/modbus/rtu-transport.js';
import { cleanupVirtualSerial, virtualBus } from '../../virtual-serial/harness.js';

afterEach(cleanupVirtualSerial);

const BAUD = 115_200;
const regs = Array.from({ length: 10 }, (_, i) => 100 + i);

async function master(path: string, opts: RtuTransportOptions): Promise<{ bus: ModbusBus; close: () => Promise<void> }> {
  const link = new SerialLink({ path, baudRate: BAUD, backoff: { baseMs: 20, capMs: 200 } }).start();
  await link.whenOpen();
  const bus = ModbusBus.rtu(link, { timeoutMs: 2_000, ...opts });
  return { bus, close: async () => (await bus.close(), await link.close()) };
}

describe('RTU master timing', () => {
  it('inter_request_delay_ms: n transactions take at least (n - 1) delays', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs }] });
    const m = await master(vb.path, { interRequestDelayMs: 80 });
    try {
      await m.bus.read(1, 'holding', 0, 10); // the first one waits for nothing
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) expect(await m.bus.read(1, 'holding', 0, 10)).toEqual(regs);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(5 * 80);
    } finally {
      await m.close();
    }
  });

  it('turnaround_ms: the request after a broadcast waits at least the turnaround', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs }] });
    const m = await master(vb.path, { broadcastTurnaroundMs: 150 });
    try {
      const t0 = performance.now();
      expect((await m.bus.request(0, Uint8Array.of(0x06, 0, 1, 0, 7))).length).toBe(0);
      expect(await m.bus.read(1, 'holding', 1, 1)).toEqual([7]); // the slave acted on the broadcast
      expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    } finally {
      await m.close();
    }
  });
});
