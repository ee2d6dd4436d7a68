// modbus-poller with the real serialport binding over a baud-paced PTY line (virtual-serial
// harness) to a simulated multi-drop RTU bus whose slaves answer only their own unit id. Timing
// properties are asserted with counts (polls per dead-slave timeout, skipped ticks on a fake
// clock), never with durations.

import { afterEach, describe, expect, it } from 'vitest';
import type { ModbusPollerDevice, ModbusUnit, RegisterDef } from '../../src/config/types.js';
import type { Reading } from '../../src/hil/device.js';
import { ModbusPoller } from '../../src/hil-devices/modbus-poller.js';
import { PortErrorCode } from '../../src/ports/errors.js';
import { ModbusBus } from '../../src/ports/modbus/bus.js';
import { SerialLink } from '../../src/ports/serial.js';
import { counter } from '../../src/sim/live-values.js';
import type { ModbusSlaveSpec } from '../../src/sim/modbus-slave.js';
import { errorOf } from '../helpers/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupVirtualSerial, virtualBus, waitFor } from '../virtual-serial/harness.js';
import { CommonCode } from '../../src/lib/errors.js';

const BAUD = 115_200;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await cleanupVirtualSerial();
});

function reg(name: string, table: RegisterDef['table'], address: number, o: Partial<RegisterDef> = {}): RegisterDef {
  return { name, table, address, count: 1, type: table === 'coils' || table === 'discrete' ? 'bool' : 'uint16', scale: 1, offset: 0, byteOrder: 'big', wordOrder: 'big', pollIntervalMs: 50, ...o };
}

function device(units: ModbusUnit[], timeoutMs = 150): ModbusPollerDevice {
  return { id: 'plc-7', driver: 'modbus-poller', transport: { kind: 'rtu', serial: { baudRate: BAUD, dataBits: 8, parity: 'none', stopBits: 1 } }, timeoutMs, pollIntervalMs: 50, queueLimit: 16, units };
}

/** A started link + bus on the virtual line, closed after the test (after the poller stopped). */
async function busOn(path: string, timeoutMs = 150): Promise<{ link: SerialLink; bus: ModbusBus }> {
  const link = new SerialLink({ path, baudRate: BAUD, backoff: { baseMs: 20, capMs: 200 } }).start();
  await link.whenOpen();
  const bus = ModbusBus.rtu(link, { timeoutMs });
  closers.push(async () => (await bus.close(), await link.close()));
  return { link, bus };
}

function poller(cfg: ModbusPollerDevice, bus: ModbusBus, opts: ConstructorParameters<typeof ModbusPoller>[3] = {}): { p: ModbusPoller; readings: Reading[] } {
  const p = new ModbusPoller('rs485-1', cfg, bus, opts);
  const readings: Reading[] = [];
  p.onReading((r) => readings.push(r));
  closers.push(() => p.stop());
  return { p, readings };
}

// Unit 1: a temperature x10, a float32 flow (ABCD), an int32 energy counter in CDAB order, a signed
// outside temperature x10, a setpoint x10 and three valve coils. Unit 2: a live counter.
const SLAVE_1: ModbusSlaveSpec = { unit: 1, holdingRegisters: [214, 0x41ac, 0x0000, 0xfffe, 0xffff, 0xffce, 225, 0, 0, 0], coils: [true, false, true] };
const UNIT_1: ModbusUnit = {
  unit: 1,
  name: 'boiler',
  // Generous: a live slave answers in ~3 ms; the timeout only guards against a loaded test machine.
  timeoutMs: 1000,
  registers: [
    reg('temperature', 'holding', 0, { scale: 0.1, unit: 'C' }),
    reg('flow', 'holding', 1, { type: 'float32', unit: 'm3/h' }),
    reg('energy', 'holding', 3, { type: 'int32', wordOrder: 'little' }),
    reg('outside', 'holding', 5, { type: 'int16', scale: 0.1, unit: 'C' }),
    reg('setpoint', 'holding', 6, { scale: 0.1, unit: 'C' }),
    reg('valves', 'coils', 0, { count: 3 }),
  ],
};

describe('modbus-poller on a paced multi-drop RTU bus (real serialport over PTYs)', () => {
  it('polls two slaves: decoded values, per-device seq, merged reads, one reading per register per poll', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [SLAVE_1, { unit: 2, inputRegisters: [counter({ periodMs: 20 }), 7] }] });
    const { bus } = await busOn(vb.path);
    const unit2: ModbusUnit = { unit: 2, timeoutMs: 1000, registers: [reg('ticks', 'input', 0, { pollIntervalMs: 30 }), reg('mode', 'input', 1, { pollIntervalMs: 100 })] };
    const { p, readings } = poller(device([UNIT_1, unit2]), bus);
    p.start();
    const of = (unit: number, name: string): Reading[] => readings.filter((r) => (r.value as { unit: number; name: string }).unit === unit && (r.value as { name: string }).name === name);
    await waitFor(() => of(1, 'valves').length >= 5 && of(2, 'ticks').length >= 5 && of(2, 'mode').length >= 2, 15_000, 'five polls of each group');
    await p.stop();

    const first = (unit: number, name: string): Reading => of(unit, name)[0]!;
    expect(first(1, 'temperature')).toMatchObject({ slot: 'rs485-1', device: 'plc-7', kind: 'modbus', value: { unit: 1, name: 'temperature', value: 21.4, eng_unit: 'C' }, source: { kind: 'modbus', unit: 1, table: 'holding', addr: 0, count: 1 } });
    expect(first(1, 'flow')).toMatchObject({ value: { value: 21.5, eng_unit: 'm3/h' }, source: { table: 'holding', addr: 1, count: 2 } });
    expect(first(1, 'energy')).toMatchObject({ value: { value: -2 }, source: { addr: 3, count: 2 } });
    expect((first(1, 'energy').value as Record<string, unknown>).eng_unit).toBeUndefined();
    expect(first(1, 'outside')).toMatchObject({ value: { value: -5, eng_unit: 'C' } });
    expect(first(1, 'valves')).toMatchObject({ value: { value: [true, false, true] }, source: { table: 'coils', addr: 0, count: 3 } });
    expect(first(2, 'mode')).toMatchObject({ value: { unit: 2, value: 7 }, source: { table: 'input', addr: 1 } });

    // Live: the counter moves between polls and never goes back.
    const ticks = of(2, 'ticks').map((r) => (r.value as { value: number }).value);
    expect(new Set(ticks).size).toBeGreaterThan(1);
    expect([...ticks].sort((a, b) => a - b)).toEqual(ticks);

    // seq: per device, +1 per reading, in delivery order; timestamps whole ms, never decreasing.
    expect(readings.map((r) => r.seq)).toEqual(readings.map((_, i) => i));
    expect(readings.every((r, i) => Number.isInteger(r.ts) && (i === 0 || r.ts >= readings[i - 1]!.ts))).toBe(true);

    // Every poll of unit 1 yields all six registers, from two requests on the wire (holding 0..6
    // merged into one read, the coils another).
    const s = p.status();
    const h1 = s.units.find((u) => u.unit === 1)!;
    expect(h1, JSON.stringify(h1)).toMatchObject({ name: 'boiler', failedPolls: 0, consecutiveFailures: 0, lastErrorCode: null });
    expect(of(1, 'temperature').length).toBe(h1.polls);
    for (const name of ['flow', 'energy', 'outside', 'setpoint', 'valves']) expect(of(1, name).length).toBe(h1.polls);
    // (A poll still in flight when stop() was called is discarded whole: up to two more requests.)
    expect(bus.unitStats(1).requests - 2 * h1.polls).toBeGreaterThanOrEqual(0);
    expect(bus.unitStats(1).requests - 2 * h1.polls).toBeLessThanOrEqual(2);
    expect(s.readings).toBe(readings.length);
  });

  it('one dead slave: the live slave keeps getting polled, at least once per dead timeout', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [SLAVE_1, { unit: 2, holdingRegisters: [1, 2, 3], faults: { dead: true } }] });
    const { bus } = await busOn(vb.path);
    // The live unit's registers merge into one request per poll: the bus serves units round robin
    // per request, so a poll of k requests may wait up to k dead timeouts; with k = 1 every live
    // poll waits for at most one.
    const live: ModbusUnit = { ...UNIT_1, registers: UNIT_1.registers.filter((r) => r.table === 'holding').map((r) => ({ ...r, pollIntervalMs: 20 })) };
    const dead: ModbusUnit = { unit: 2, timeoutMs: 150, registers: [reg('level', 'holding', 0, { pollIntervalMs: 20 })] };
    const { p, readings } = poller(device([live, dead]), bus);
    p.start();
    const deadFailures = (): number => p.status().units.find((u) => u.unit === 2)!.failedPolls;
    await waitFor(() => deadFailures() >= 8, 20_000, 'eight failed polls of the dead slave');
    await p.stop();

    const [h1, h2] = [p.status().units.find((u) => u.unit === 1)!, p.status().units.find((u) => u.unit === 2)!];
    // Round robin on the bus: each dead timeout delays a live poll once, never stops it.
    expect(h1, JSON.stringify(h1)).toMatchObject({ failedPolls: 0 });
    expect(h1.polls).toBeGreaterThanOrEqual(h2.failedPolls - 1);
    expect(readings.filter((r) => (r.value as { unit: number }).unit === 1).length).toBe(5 * h1.polls);
    expect(readings.filter((r) => (r.value as { unit: number }).unit === 2)).toEqual([]);
    expect(h2).toMatchObject({ polls: h2.failedPolls, lastOkTs: null, lastErrorCode: PortErrorCode.MODBUS_TIMEOUT });
    expect(h2.consecutiveFailures).toBe(h2.failedPolls);
    // A 20 ms interval against a 150 ms timeout: the dead group skipped ticks instead of piling up.
    expect(h2.skippedTicks).toBeGreaterThan(0);
    expect(bus.unitStats(1).timeouts).toBe(0);
    expect([0, 1]).toContain(bus.unitStats(2).timeouts - h2.failedPolls); // + the poll discarded by stop()
    expect(bus.queued()).toBe(0);
  });

  it('never overlaps a group’s polls: ticks that find one running are skipped and counted (fake clock)', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [SLAVE_1, { unit: 2, holdingRegisters: [1], faults: { dead: true } }] });
    const { bus } = await busOn(vb.path, 300);
    const clock = new FakeClock();
    const dead: ModbusUnit = { unit: 2, timeoutMs: 300, registers: [reg('level', 'holding', 0, { pollIntervalMs: 20 })] };
    const { p } = poller(device([dead], 300), bus, { clock, now: () => 1_700_000_000_000 });
    p.start(); // first poll now: on the wire, waiting for its timeout
    for (let i = 0; i < 5; i++) clock.advance(20); // synchronous: the poll cannot have finished
    expect(p.status().units[0]).toMatchObject({ skippedTicks: 5, polls: 0 });
    await waitFor(() => p.status().units[0]!.polls === 1, 10_000, 'the first poll to time out');
    expect(bus.unitStats(2).requests).toBe(1);
    clock.advance(20); // the next tick starts a new poll
    expect(p.status().units[0]!.skippedTicks).toBe(5);
    await waitFor(() => p.status().units[0]!.polls === 2, 10_000, 'the second poll to time out');
    expect(p.status().units[0]).toMatchObject({ failedPolls: 2, consecutiveFailures: 2, lastErrorCode: PortErrorCode.MODBUS_TIMEOUT, lastErrorTs: 1_700_000_000_000 });
    await p.stop();
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(bus.unitStats(2).requests).toBe(2);
  });

  it('request passes PDUs through: real replies, exception PDUs, writes; timeouts and aborts reject', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [SLAVE_1, { unit: 2, holdingRegisters: [1], faults: { dead: true } }] });
    const { bus } = await busOn(vb.path);
    const { p } = poller(device([UNIT_1, { unit: 2, timeoutMs: 100, registers: [reg('level', 'holding', 0)] }]), bus);
    // Not started: request works on its own (the broker's modbus mode needs no polling).
    expect([...(await p.request(1, Uint8Array.of(0x03, 0, 0, 0, 2)))]).toEqual([0x03, 4, 0, 214, 0x41, 0xac]);
    expect([...(await p.request(1, Uint8Array.of(0x01, 0, 0, 0, 3)))]).toEqual([0x01, 1, 0b101]);
    // Past the slave's table: exception 02 as the slave sent it; an unknown function: exception 01.
    expect([...(await p.request(1, Uint8Array.of(0x03, 0, 100, 0, 1)))]).toEqual([0x83, 0x02]);
    expect([...(await p.request(1, Uint8Array.of(0x07)))]).toEqual([0x87, 0x01]);
    // A write goes to the slave and is echoed.
    expect([...(await p.request(1, Uint8Array.of(0x06, 0, 7, 0x12, 0x34)))]).toEqual([0x06, 0, 7, 0x12, 0x34]);
    expect(vb.bus.slave(1).register('holdingRegisters', 7)).toBe(0x1234);
    // The dead slave: its unit timeout, then MODBUS_TIMEOUT (the broker answers 0x0B).
    expect((await errorOf(p.request(2, Uint8Array.of(0x03, 0, 0, 0, 1)))).code).toBe(PortErrorCode.MODBUS_TIMEOUT);
    // Aborts: before sending (ABORTED, nothing sent); while waiting behind a request on the wire
    // (taken off the bus's queue: ABORTED, never sent); on the wire (it cannot be recalled, so it
    // completes and settles with what happened: here the dead slave's timeout). Before, all three
    // rejected with ABORTED and the queued write still went to the slave later.
    const ac = new AbortController();
    ac.abort();
    expect((await errorOf(p.request(1, Uint8Array.of(0x03, 0, 0, 0, 1), { signal: ac.signal }))).code).toBe(CommonCode.ABORTED);
    const ac2 = new AbortController();
    const pending = p.request(2, Uint8Array.of(0x03, 0, 0, 0, 1), { signal: ac2.signal });
    await waitFor(() => bus.unitStats(2).requests === 2, 5_000, 'the request to be on the wire');
    const writesBefore = bus.unitStats(1).requests;
    const ac3 = new AbortController();
    const queued = p.request(1, Uint8Array.of(0x06, 0, 8, 0x55, 0x55), { signal: ac3.signal });
    expect(bus.queued(1)).toBe(1);
    ac3.abort();
    ac2.abort();
    expect((await errorOf(queued)).code).toBe(CommonCode.ABORTED);
    expect(bus.queued(1)).toBe(0);
    expect((await errorOf(pending)).code).toBe(PortErrorCode.MODBUS_TIMEOUT);
    // A read of unit 1 after: the aborted write never reached the slave.
    expect([...(await p.request(1, Uint8Array.of(0x03, 0, 8, 0, 1)))]).toEqual([0x03, 2, 0, 0]);
    expect(bus.unitStats(1).requests).toBe(writesBefore + 1);
    expect(vb.bus.slave(1).register('holdingRegisters', 8)).toBe(0);
    // A bad PDU is a local error, not a hang.
    expect((await errorOf(p.request(1, new Uint8Array(0)))).code).toBe(CommonCode.USAGE);
  });
});
