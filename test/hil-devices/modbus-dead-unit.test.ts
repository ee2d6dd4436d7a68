// A dead Modbus slave (issue #10), with the real serialport binding over a paced PTY line to the
// simulated RTU bus: one warn line per state change of a unit (alive -> silent -> alive), not per
// poll; an operator request to a unit known silent is answered at once (no wire time); operator
// requests go ahead of the poll plan. Asserted with counts of what happened on the bus, never with
// durations.

import { afterEach, describe, expect, it } from 'vitest';
import type { ModbusPollerDevice, ModbusUnit, RegisterDef } from '../../src/config/types.js';
import { ModbusPoller } from '../../src/hil-devices/modbus-poller.js';
import { PortErrorCode } from '../../src/ports/errors.js';
import type { PortLog } from '../../src/ports/log.js';
import { ModbusBus } from '../../src/ports/modbus/bus.js';
import { SerialLink } from '../../src/ports/serial.js';
import { errorOf } from '../helpers/errors.js';
import { cleanupVirtualSerial, virtualBus, waitFor } from '../virtual-serial/harness.js';

const BAUD = 115_200;
const READ = Uint8Array.of(0x03, 0, 0, 0, 1);
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await cleanupVirtualSerial();
});

function reg(address: number, pollIntervalMs: number): RegisterDef {
  return { name: `r${address}`, table: 'holding', address, count: 1, type: 'uint16', scale: 1, offset: 0, byteOrder: 'big', wordOrder: 'big', pollIntervalMs };
}

function device(units: ModbusUnit[]): ModbusPollerDevice {
  return { id: 'plc-7', driver: 'modbus-poller', transport: { kind: 'rtu', serial: { baudRate: BAUD, dataBits: 8, parity: 'none', stopBits: 1 } }, timeoutMs: 100, pollIntervalMs: 50, queueLimit: 16, units };
}

function warnings(): PortLog & { warns: { obj: Record<string, unknown>; msg: string }[] } {
  const warns: { obj: Record<string, unknown>; msg: string }[] = [];
  return { warns, debug() {}, info() {}, error() {}, warn: (obj, msg) => void warns.push({ obj: obj as Record<string, unknown>, msg }) };
}

async function setup(o: { silentAfter?: number; deadGroups: number }): Promise<{ bus: ModbusBus; p: ModbusPoller; log: ReturnType<typeof warnings>; sim: Awaited<ReturnType<typeof virtualBus>>['bus'] }> {
  const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: [11, 12, 13, 14, 15, 16, 17, 18] }, { unit: 5, holdingRegisters: [50, 51, 52, 53, 54, 55, 56, 57], faults: { dead: true } }] });
  const link = new SerialLink({ path: vb.path, baudRate: BAUD, backoff: { baseMs: 20, capMs: 200 } }).start();
  await link.whenOpen();
  const bus = ModbusBus.rtu(link, { timeoutMs: 100, ...(o.silentAfter !== undefined ? { silentAfter: o.silentAfter } : {}) });
  const log = warnings();
  // Unit 1's timeout is generous: it answers in ~3 ms, the timeout only guards against a loaded machine.
  // Unit 5 has one poll group per interval: that many background requests can wait for it at once.
  const deadRegs = Array.from({ length: o.deadGroups }, (_, i) => reg(i, 20 + i));
  const p = new ModbusPoller('rs485-1', device([{ unit: 1, name: 'boiler', timeoutMs: 1000, registers: [reg(0, 30)] }, { unit: 5, name: 'pump', timeoutMs: 100, registers: deadRegs }]), bus, { log, link });
  closers.push(async () => (await p.stop(), await bus.close(), await link.close()));
  return { bus, p, log, sim: vb.bus };
}

const health = (p: ModbusPoller, unit: number) => p.status().units.find((u) => u.unit === unit)!;

describe('a dead unit on a live bus (real PTY, simulated RTU slaves)', () => {
  it('one warn line per state change: silent once, back once, silent again — however many polls', async () => {
    const { bus, p, log, sim } = await setup({ deadGroups: 2 });
    p.start();
    await waitFor(() => bus.unitStats(5).timeouts >= 12, 20_000, 'a dozen timeouts of unit 5');
    const silent = log.warns.filter((w) => w.obj.unit === 5);
    expect(silent).toHaveLength(1);
    expect(silent[0]!.msg).toMatch(/unit 5 \(pump\) stopped answering/);
    expect(silent[0]!.obj).toMatchObject({ slot: 'rs485-1', device: 'plc-7', unit: 5, name: 'pump', state: 'silent' });
    expect(health(p, 5).state).toBe('silent');

    sim.slave(5).faults.dead = false;
    await waitFor(() => health(p, 5).state === 'alive', 20_000, 'unit 5 to answer again');
    const replies = bus.unitStats(5).replies;
    await waitFor(() => bus.unitStats(5).replies >= replies + 10, 20_000, 'ten more replies');
    sim.slave(5).faults.dead = true;
    await waitFor(() => health(p, 5).state === 'silent', 20_000, 'unit 5 to fall silent again');
    const timeouts = bus.unitStats(5).timeouts;
    await waitFor(() => bus.unitStats(5).timeouts >= timeouts + 6, 20_000, 'more timeouts');

    expect(log.warns.filter((w) => w.obj.unit === 5).map((w) => w.obj.state)).toEqual(['silent', 'alive', 'silent']);
    expect(log.warns.filter((w) => w.obj.unit === 1)).toEqual([]);
    expect(p.status().port).toMatchObject({ kind: 'serial', state: 'open' });
  });

  it('an operator request to a unit known silent is refused at once, without a request on the wire', async () => {
    const { bus, p } = await setup({ deadGroups: 1 });
    p.start();
    await waitFor(() => health(p, 5).state === 'silent', 20_000, 'unit 5 to be silent');
    const before = { ...bus.unitStats(5) };
    const e = await errorOf(p.request(5, READ));
    // No timer ran in between (a timeout needs one): the answer came before any wire time.
    expect(e.code).toBe(PortErrorCode.MODBUS_UNIT_SILENT);
    expect(bus.unitStats(5).silentRefusals).toBe(before.silentRefusals + 1);
    expect(bus.unitStats(5).timeouts).toBe(before.timeouts);
    // The live unit is untouched by all this.
    expect([...(await p.request(1, READ))]).toEqual([0x03, 2, 0, 11]);
  });

  it('operator requests go ahead of the poll plan: at most the exchange already on the wire delays them', async () => {
    // Fast refusal off (silentAfter huge), so the operator's request to the dead unit really goes
    // to the wire: it must not queue behind the six background polls waiting for that unit.
    const { bus, p } = await setup({ deadGroups: 6, silentAfter: 1_000_000 });
    p.start();
    await waitFor(() => bus.queued(5) >= 4, 20_000, 'background polls of unit 5 to queue up');
    for (let i = 0; i < 5; i++) {
      const t0 = bus.unitStats(5).timeouts;
      const e = await errorOf(p.request(5, READ));
      expect(e.code).toBe(PortErrorCode.MODBUS_TIMEOUT);
      // The one exchange on the wire when it was queued, then its own.
      expect(bus.unitStats(5).timeouts - t0).toBeLessThanOrEqual(2);
      const l0 = bus.unitStats(5).timeouts;
      expect([...(await p.request(1, READ))]).toEqual([0x03, 2, 0, 11]);
      expect(bus.unitStats(5).timeouts - l0).toBeLessThanOrEqual(1);
    }
  }, 60_000);
});
