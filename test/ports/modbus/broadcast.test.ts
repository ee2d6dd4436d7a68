// RTU broadcast through the bus (Modbus over Serial Line §2.1: broadcasts carry writes only, and no
// slave answers them), with the real serialport binding over a paced PTY to simulated slaves.

import { afterEach, describe, expect, it } from 'vitest';
import { ModbusBus } from '../../../src/ports/modbus/bus.js';
import { SerialLink } from '../../../src/ports/serial.js';
import { CommonCode } from '../../../src/lib/errors.js';
import { PortErrorCode } from '../../../src/ports/errors.js';
import { errorOf } from '../../helpers/errors.js';
import { cleanupVirtualSerial, virtualBus } from '../../virtual-serial/harness.js';

const BAUD = 115_200;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await cleanupVirtualSerial();
});

describe('unit 0 on an RTU bus', () => {
  it('a write is broadcast (every slave applies it, the answer is an empty PDU); any other function is refused before the wire', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: [0, 0, 0] }, { unit: 2, holdingRegisters: [0, 0, 0] }] });
    const link = new SerialLink({ path: vb.path, baudRate: BAUD }).start();
    await link.whenOpen();
    const bus = ModbusBus.rtu(link, { timeoutMs: 500 });
    closers.push(async () => (await bus.close(), await link.close()));

    expect([...(await bus.request(0, Uint8Array.of(0x06, 0, 2, 0x0b, 0xee)))]).toEqual([]);
    expect(vb.bus.slave(1).register('holdingRegisters', 2)).toBe(0x0bee);
    expect(vb.bus.slave(2).register('holdingRegisters', 2)).toBe(0x0bee);

    const frames = vb.bus.stats.frames;
    for (const pdu of [Uint8Array.of(0x03, 0, 0, 0, 1), Uint8Array.of(0x2b, 0x0e, 1, 0), Uint8Array.of(0x17, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0, 1)]) {
      expect((await errorOf(bus.request(0, pdu))).code).toBe(CommonCode.USAGE);
    }
    expect(vb.bus.stats.frames).toBe(frames);
    expect(bus.unitStats(0).requests).toBe(1);
  });

  it('the bus closed during a broadcast turnaround: the request fails MODBUS_OFFLINE, nothing unhandled (it ended the process)', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: [0, 0, 0] }] });
    const link = new SerialLink({ path: vb.path, baudRate: BAUD }).start();
    await link.whenOpen();
    const bus = ModbusBus.rtu(link, { timeoutMs: 500, broadcastTurnaroundMs: 300 });
    closers.push(async () => await link.close());
    const request = errorOf(bus.request(0, Uint8Array.of(0x06, 0, 2, 0x0b, 0xee)));
    // Written (8 bytes at 115200 baud), now in the turnaround; the gateway stops.
    await new Promise((r) => setTimeout(r, 60));
    await bus.close();
    expect((await request).code).toBe(PortErrorCode.MODBUS_OFFLINE);
  });
});
