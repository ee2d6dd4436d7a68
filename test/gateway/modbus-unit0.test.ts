// Modbus TCP unit 0 through `connect … modbus-tcp` into a real gateway process, to simulated RTU
// slaves on baud-paced PTY lines (issue #10: unit 0 became an RTU broadcast for every function,
// reads included, answered with a malformed reply and audited as allowed). Raw MBAP bytes on the
// client side, so the reply is checked byte for byte, length field included.
//
//   rs485-1  "tcp_unit_0": "broadcast"   units 1 and 2
//   rs485-2  (default: "refuse")         unit 1

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusRtuBus } from '../../src/sim/modbus-rtu-bus.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { stopAll } from '../helpers/processes.js';
import { waitFor } from '../virtual-serial/harness.js';
import { connectModbusTcp, RawModbusTcp, startEquipmentGateway, type EquipmentGateway } from './equipment-gateway.js';

const BAUD = 19_200;
const lines: VirtualLine[] = [];
const sims: ModbusRtuBus[] = [];
let gw: EquipmentGateway;
let broadcastSlot: RawModbusTcp;
let refuseSlot: RawModbusTcp;

// timeout_ms is generous: these tests are about unit 0, not timing, and share the CPU with the emulated arm64 test.
function modbusDevice(id: string, units: number[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { device: { id, driver: 'modbus-poller', serial: { baud: BAUD }, timeout_ms: 2000, ...extra, units: units.map((unit) => ({ unit, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 60_000 }] })) } };
}

const PURPOSES = [
  { purpose: 'modbus.read', units: [0, 1, 2, 255] },
  { purpose: 'modbus.write', units: [0, 1, 2], registers: [[0, 9]] as [number, number][] },
];

beforeAll(async () => {
  gw = await startEquipmentGateway({
    slots: { 'rs485-1': modbusDevice('bus-a', [1, 2], { tcp_unit_0: 'broadcast' }), 'rs485-2': modbusDevice('bus-b', [1]) },
    before: async (f) => {
      for (const [name, units] of [['rs485-1', [1, 2]], ['rs485-2', [1]]] as const) {
        const line = await VirtualLine.open({ baud: BAUD, dir: f('pty'), name });
        lines.push(line);
        sims.push(new ModbusRtuBus(line.device!, { baud: BAUD, slaves: units.map((unit) => ({ unit, holdingRegisters: Array.from({ length: 10 }, (_, i) => unit * 100 + i) })) }));
      }
    },
  });
  broadcastSlot = await RawModbusTcp.open((await connectModbusTcp(gw.connectArgs('rs485-1', PURPOSES))).port);
  refuseSlot = await RawModbusTcp.open((await connectModbusTcp(gw.connectArgs('rs485-2', PURPOSES))).port);
}, 60_000);

afterAll(async () => {
  broadcastSlot?.close();
  refuseSlot?.close();
  for (const s of sims) s.close();
  for (const l of lines) await l.close();
  await stopAll();
  await gw?.close();
});

const hex = (b: Buffer): string => b.toString('hex');
const auditOf = (unit: number) => gw.audit().filter((l) => l.unit === unit && typeof l.action === 'string' && l.action.startsWith('modbus.'));
/** The gateway writes its audit line around the time it answers: wait for `n` lines to be there. */
const auditLines = async (pick: () => Record<string, unknown>[], n: number) => {
  await waitFor(() => pick().length >= n, 10_000, `${n} audit line(s)`);
  return pick();
};

describe('Modbus TCP unit 0 on an RTU slot', () => {
  it('a read to unit 0 is refused with exception 0x01 in a well-formed reply, and audited as refused', async () => {
    const before = sims[0]!.stats.frames;
    const r = await broadcastSlot.request(0, [0x03, 0, 0, 0, 1]);
    // MBAP length 3: unit, fc | 0x80, exception code.
    expect(hex(r.subarray(2))).toBe('0000' + '0003' + '00' + '83' + '01');
    expect(sims[0]!.stats.frames).toBe(before); // nothing went on the line
    const audit = await auditLines(() => auditOf(0).filter((l) => l.fn === 3), 1);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'modbus.read', decision: 'refused', code: 'ILLEGAL_REQUEST', slot: 'rs485-1' });
    expect(String(audit[0]!.reason)).toMatch(/broadcast/);
  });

  it('"broadcast": a write to unit 0 reaches every slave and the client gets the write’s normal reply', async () => {
    // No slave confirms a broadcast, so the reply cannot wait for one: wait for the simulated line
    // to have carried each frame (it runs in this test process, which a loaded machine can stall).
    const single = await broadcastSlot.request(0, [0x06, 0, 3, 0x12, 0x34]);
    expect(hex(single.subarray(2))).toBe('0000' + '0006' + '00' + '0600031234');
    await waitFor(() => sims[0]!.stats.broadcasts === 1, 10_000, 'the first broadcast on the line');
    const multiple = await broadcastSlot.request(0, [0x10, 0, 4, 0, 2, 4, 0xab, 0xcd, 0x00, 0x07]);
    expect(hex(multiple.subarray(2))).toBe('0000' + '0006' + '00' + '1000040002');
    await waitFor(() => sims[0]!.stats.broadcasts === 2, 10_000, 'the second broadcast on the line');
    for (const unit of [1, 2]) {
      expect(sims[0]!.slave(unit).register('holdingRegisters', 3)).toBe(0x1234);
      expect(sims[0]!.slave(unit).register('holdingRegisters', 4)).toBe(0xabcd);
      expect(sims[0]!.slave(unit).register('holdingRegisters', 5)).toBe(7);
    }
    expect(sims[0]!.stats.broadcasts).toBe(2);
    expect((await auditLines(() => auditOf(0).filter((l) => l.action === 'modbus.write'), 2)).map((l) => l.decision)).toEqual(['allowed', 'allowed']);
  });

  it('"refuse" (the default): a write to unit 0 is exception 0x0A, and no slave sees it', async () => {
    const r = await refuseSlot.request(0, [0x06, 0, 3, 0x55, 0x55]);
    expect(hex(r.subarray(2))).toBe('0000' + '0003' + '00' + '86' + '0a');
    expect(sims[1]!.slave(1).register('holdingRegisters', 3)).toBe(103);
    expect(sims[1]!.stats.broadcasts).toBe(0);
    const audit = await auditLines(() => auditOf(0).filter((l) => l.slot === 'rs485-2'), 1);
    expect(audit.map((l) => [l.action, l.decision, l.code])).toEqual([['modbus.write', 'refused', 'ILLEGAL_REQUEST']]);
  });

  it('unit 255 is no serial-line address: exception 0x0A; an ordinary unit still works', async () => {
    expect(hex((await broadcastSlot.request(255, [0x03, 0, 0, 0, 1])).subarray(6))).toBe('ff' + '83' + '0a');
    expect(hex((await broadcastSlot.request(2, [0x03, 0, 1, 0, 1])).subarray(6))).toBe('02' + '0302' + '00c9');
    // Nothing about unit 0 was ever audited as an allowed read.
    expect(gw.audit().filter((l) => l.unit === 0 && l.action === 'modbus.read' && l.decision === 'allowed')).toEqual([]);
  });

  it('a malformed request reaches the client as the exception of its case (docs/PROFILE.md "Exceptions with ILLEGAL_REQUEST"), not 0x01', async () => {
    expect(hex((await broadcastSlot.request(1, [0x03, 0, 0, 0, 126])).subarray(6))).toBe('01' + '83' + '03'); // 126 registers
    expect(hex((await broadcastSlot.request(1, [0x03, 0xff, 0xff, 0, 2])).subarray(6))).toBe('01' + '83' + '02'); // past 65535
    expect(hex((await broadcastSlot.request(1, [0x2b, 0x0e, 0x01])).subarray(6))).toBe('01' + 'ab' + '03'); // 43/14, one byte short
    expect(hex((await broadcastSlot.request(1, [0x08, 0, 0, 0xa5, 0x37])).subarray(6))).toBe('01' + '88' + '01'); // not relayed
    // Audited as refusals: the first in full; its repeats in the session are counted, not written
    // one by one (refusal-gate.ts).
    const audit = await auditLines(() => gw.audit().filter((l) => l.unit === 1 && l.code === 'ILLEGAL_REQUEST'), 1);
    expect(audit[0]).toMatchObject({ decision: 'refused', fn: 0x03 });
  });

  it('"broadcast" still needs a Grant that names unit 0: a modbus.write without units is exception 0x02 (UNIT_NOT_GRANTED) at unit 0, and nothing goes on the line', async () => {
    // The review's case: such a Grant broadcast an fc 6 to every slave. (A second scope, so this
    // Grant gets a file of its own; the write entry names no units.)
    const flags = gw.grantFlags([
      { slot: 'rs485-1', purposes: [{ purpose: 'modbus.write', registers: [[0, 9]] }] },
      { slot: 'rs485-2', purposes: [{ purpose: 'modbus.read' }] },
    ]);
    const client = await RawModbusTcp.open((await connectModbusTcp([...flags, '--slot', 'rs485-1'])).port);
    try {
      const broadcasts = sims[0]!.stats.broadcasts;
      expect(hex((await client.request(0, [0x06, 0, 6, 0x0b, 0xad])).subarray(6))).toBe('00' + '86' + '02');
      const audit = await auditLines(() => auditOf(0).filter((l) => l.code === 'UNIT_NOT_GRANTED'), 1);
      expect(audit.map((l) => [l.action, l.decision, l.slot])).toEqual([['modbus.write', 'refused', 'rs485-1']]);
      // The same Grant writes to an ordinary unit.
      expect(hex((await client.request(1, [0x06, 0, 6, 0x0b, 0xad])).subarray(6))).toBe('01' + '0600060bad');
      expect(sims[0]!.slave(1).register('holdingRegisters', 6)).toBe(0x0bad);
      expect(sims[0]!.slave(2).register('holdingRegisters', 6)).toBe(206);
      expect(sims[0]!.stats.broadcasts).toBe(broadcasts);
    } finally {
      client.close();
    }
  });
});
