// The RTU master with the real serialport binding over a baud-paced PTY line (virtual-serial
// harness) to a simulated multi-drop bus whose slaves answer only their own unit id. Field faults:
// a dead slave, a slave answering as another unit, corrupted CRCs, line noise, an unplugged cable.
// Timing properties are asserted with counts (polls completed per timeout), never with durations.

import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SerialLink } from '../../../src/ports/serial.js';
import { ModbusBus } from '../../../src/ports/modbus/bus.js';
import { ModbusException, PortErrorCode } from '../../../src/ports/errors.js';
import type { ReadSpec } from '../../../src/ports/modbus/plan.js';
import { cleanupVirtualSerial, virtualBus, waitFor } from '../../virtual-serial/harness.js';
import { errorOf } from '../../helpers/errors.js';

afterEach(cleanupVirtualSerial);

const BAUD = 115_200;
/** For slaves that answer: generous, so a loaded CI machine never turns a reply into a timeout. */
const TIMEOUT_MS = 2_000;
/** For a dead slave, which never answers however loaded the machine is: short, to keep tests quick. */
const SHORT_MS = 150;
/** For requests whose (bad) reply must arrive before the timeout for the drop to be counted. */
const DROP_MS = 1_000;
const regs = (unit: number, n: number): number[] => Array.from({ length: n }, (_, i) => unit * 1000 + i);

async function master(path: string): Promise<{ link: SerialLink; bus: ModbusBus; close: () => Promise<void> }> {
  const link = new SerialLink({ path, baudRate: BAUD, backoff: { baseMs: 20, capMs: 200 } }).start();
  await link.whenOpen();
  const bus = ModbusBus.rtu(link, { timeoutMs: TIMEOUT_MS });
  return { link, bus, close: async () => (await bus.close(), await link.close()) };
}

describe('Modbus RTU master over a paced PTY bus', () => {
  it('reads, writes and surfaces exceptions with their codes', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs(1, 50), coils: [true, false, true] }] });
    const m = await master(vb.path);
    try {
      expect(await m.bus.read(1, 'holding', 0, 10)).toEqual(regs(1, 10));
      expect(await m.bus.read(1, 'coils', 0, 3)).toEqual([1, 0, 1]);
      await m.bus.write(1, 'holding', 5, [42, 43]);
      await m.bus.write(1, 'holding', 7, [44]);
      expect(await m.bus.read(1, 'holding', 4, 5)).toEqual([1004, 42, 43, 44, 1008]);
      const e = await errorOf(m.bus.read(1, 'holding', 45, 10)); // past the slave's 50 registers
      expect(e).toBeInstanceOf(ModbusException);
      expect(e.code).toBe(PortErrorCode.MODBUS_EXCEPTION);
      expect((e as ModbusException).exceptionCode).toBe(0x02);
      // Raw passthrough relays the exception reply as the slave sent it.
      expect([...(await m.bus.request(1, Uint8Array.of(0x03, 0, 45, 0, 10)))]).toEqual([0x83, 0x02]);
      const s = m.bus.unitStats(1);
      expect(s.exceptions).toBe(2);
      expect(s.timeouts).toBe(0);
      expect(s.wrongUnitDrops + s.crcErrors).toBe(0);
      expect(s.lastLatencyMs).not.toBeNull();
    } finally {
      await m.close();
    }
  });

  it('a dead slave costs its timeout once per round and the live slave keeps polling', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs(1, 10) }, { unit: 2, holdingRegisters: regs(2, 10), faults: { dead: true } }] });
    const m = await master(vb.path);
    try {
      let live = 0;
      let liveErrors = 0;
      let timeouts = 0;
      let stop = false;
      const livePoller = (async () => {
        while (!stop) {
          await m.bus.read(1, 'holding', 0, 10).then(
            (v) => (expect(v).toEqual(regs(1, 10)), live++),
            () => liveErrors++,
          );
        }
      })();
      const deadPoller = (async () => {
        while (!stop) {
          const e = await errorOf(m.bus.read(2, 'holding', 0, 10, { timeoutMs: SHORT_MS }));
          expect(e.code).toBe(PortErrorCode.MODBUS_TIMEOUT);
          timeouts++;
        }
      })();
      await waitFor(() => timeouts >= 8, 20_000, 'eight timeouts of the dead slave');
      stop = true;
      await Promise.all([livePoller, deadPoller]);
      // Round robin: one live poll per dead timeout (plus at most the one in flight at either end).
      expect(liveErrors).toBe(0);
      expect(live).toBeGreaterThanOrEqual(timeouts - 1);
      expect(m.bus.unitStats(2).timeouts).toBe(timeouts);
      expect(vb.bus.stats.silent).toBe(timeouts);
    } finally {
      await m.close();
    }
  });

  it('drops a reply from the wrong unit instead of accepting it', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs(1, 10) }, { unit: 2, holdingRegisters: regs(2, 10), faults: { replyAsUnit: 1 } }] });
    const m = await master(vb.path);
    try {
      // Unit 2's reply claims to come from unit 1: valid CRC, right function, wrong unit.
      const e = await errorOf(m.bus.read(2, 'holding', 0, 10, { timeoutMs: DROP_MS }));
      expect(e.code).toBe(PortErrorCode.MODBUS_TIMEOUT);
      expect(m.bus.unitStats(2).wrongUnitDrops).toBe(1);
      expect(vb.bus.stats.faultedReplies).toBe(1);
      // Unit 1 itself is unaffected.
      expect(await m.bus.read(1, 'holding', 0, 10)).toEqual(regs(1, 10));
      expect(m.bus.unitStats(1).wrongUnitDrops).toBe(0);
    } finally {
      await m.close();
    }
  });

  it('drops and counts corrupted replies; finds a good reply behind line noise', async () => {
    const vb = await virtualBus({ baud: BAUD, seed: 7, slaves: [{ unit: 1, holdingRegisters: regs(1, 10) }, { unit: 2, holdingRegisters: regs(2, 10) }] });
    const m = await master(vb.path);
    try {
      vb.bus.slave(1).faults = { badCrc: true };
      const e = await errorOf(m.bus.read(1, 'holding', 0, 10, { timeoutMs: DROP_MS }));
      expect(e.code).toBe(PortErrorCode.MODBUS_CRC);
      expect(m.bus.unitStats(1).crcErrors).toBe(1);

      vb.bus.slave(1).faults = { noiseBytes: 6 };
      for (let i = 0; i < 5; i++) expect(await m.bus.read(1, 'holding', 0, 10)).toEqual(regs(1, 10));
      expect(m.bus.unitStats(1).crcErrors).toBeGreaterThanOrEqual(2); // noise runs counted
      vb.bus.slave(1).faults = {};

      // Noise on an idle line is counted against the line, and the next request is unaffected.
      vb.bus.injectNoise(12);
      await waitFor(() => m.bus.stats.line.strayNoise + m.bus.stats.line.strayFrames >= 1, 5_000, 'idle noise to be seen');
      expect(await m.bus.read(2, 'holding', 0, 10)).toEqual(regs(2, 10));
      expect(m.bus.unitStats(2).crcErrors).toBe(0);
    } finally {
      await m.close();
    }
  });

  it('merged reads split back correctly (property against the slave’s registers)', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs(1, 300), inputRegisters: regs(3, 300) }, { unit: 2, holdingRegisters: regs(2, 300) }] });
    const m = await master(vb.path);
    try {
      const spec = fc.record({ unit: fc.constantFrom(1, 2), table: fc.constantFrom('holding' as const, 'input' as const), addr: fc.integer({ min: 0, max: 250 }), count: fc.integer({ min: 1, max: 50 }) }).filter((s) => !(s.unit === 2 && s.table === 'input'));
      await fc.assert(
        fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 8 }), async (specs: ReadSpec[]) => {
          const framesBefore = vb.bus.stats.frames;
          const out = await m.bus.readMany(specs);
          specs.forEach((s, i) => {
            const model = Array.from({ length: s.count }, (_, k) => vb.bus.slave(s.unit).register(s.table === 'holding' ? 'holdingRegisters' : 'inputRegisters', s.addr + k));
            const o = out[i]!;
            expect(o.ok ? o : { error: `${o.error.code}: ${o.error.message}` }).toEqual({ ok: true, values: model });
          });
          expect(vb.bus.stats.frames - framesBefore).toBeLessThanOrEqual(specs.length);
        }),
        { numRuns: 25 },
      );
      // Adjacent ranges: one request on the wire.
      const before = vb.bus.stats.frames;
      const out = await m.bus.readMany([
        { unit: 1, table: 'holding', addr: 0, count: 10 },
        { unit: 1, table: 'holding', addr: 10, count: 10 },
        { unit: 1, table: 'holding', addr: 20, count: 10 },
      ]);
      expect(vb.bus.stats.frames - before).toBe(1);
      expect(out.map((o) => o.ok && o.values[0])).toEqual([1000, 1010, 1020]);
    } finally {
      await m.close();
    }
  });

  it('fails fast while the cable is out and polls again after replug', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs(1, 10) }] });
    const m = await master(vb.path);
    try {
      expect(await m.bus.read(1, 'holding', 0, 10)).toEqual(regs(1, 10));
      const states: string[] = [];
      m.link.on('state', (st, why) => states.push(`${st}: ${why}`));
      await vb.line.unplug();
      await waitFor(() => m.link.state !== 'open', 10_000, 'the link to notice the unplug').catch((e: Error) => {
        throw new Error(`${e.message}; states: ${states.join(' | ')}; stats ${JSON.stringify(m.link.stats)}`);
      });
      const e = await errorOf(m.bus.read(1, 'holding', 0, 10));
      expect(e.code).toBe(PortErrorCode.MODBUS_OFFLINE);
      expect(m.bus.unitStats(1).timeouts).toBe(0);
      await vb.line.replug();
      await m.link.whenOpen();
      expect(await m.bus.read(1, 'holding', 0, 10)).toEqual(regs(1, 10));
    } finally {
      await m.close();
    }
  });
});
