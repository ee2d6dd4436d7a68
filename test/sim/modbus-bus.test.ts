// The simulated Modbus RTU multi-drop bus behind a paced PTY line, driven through the real
// serialport binding: only the addressed slave answers, bad CRC and unknown units get silence,
// faults show up on the wire exactly as configured, and an independent client (modbus-serial)
// interoperates.

import { afterEach, describe, expect, it } from 'vitest';
import ModbusSerial from 'modbus-serial';
import { encodeRequest, isException, type ModbusException, type ModbusResponse } from '../../src/sim/modbus-pdu.js';
import { decodeRtu, encodeRtu } from '../../src/sim/modbus-rtu-frame.js';
import type { BusEvent } from '../../src/sim/modbus-rtu-bus.js';
import type { ModbusSlaveSpec } from '../../src/sim/modbus-slave.js';
import { t35Ms } from '../../src/ports/line-timing.js';
import { codeOf } from '../helpers/errors.js';
import { cleanupVirtualSerial, lineTimeMs, openPort, virtualBus, waitFor } from '../virtual-serial/harness.js';
import { RtuMaster } from '../virtual-serial/rtu-master.js';
import { PortErrorCode } from '../../src/ports/errors.js';

afterEach(cleanupVirtualSerial);

// modbus-serial is CommonJS (`module.exports = ModbusRTU`); its typings describe an ESM default.
const ModbusRTU = ModbusSerial as unknown as typeof ModbusSerial.default;

const SLAVES: ModbusSlaveSpec[] = [
  {
    unit: 1,
    holdingRegisters: [100, 101, 102, 103, 104, 105, 106, 107, 108, 109],
    inputRegisters: [215, 400],
    coils: [true, false, true, false, false, false, false, false, true],
    discreteInputs: [false, true],
    identity: { vendorName: 'UZP Sim', productCode: 'TH-1', revision: '1.2' },
  },
  { unit: 2, holdingRegisters: [200, 201, 202, 203] },
];

async function setup(baud: number, extra: { strictFraming?: boolean } = {}) {
  const vb = await virtualBus({ baud, slaves: SLAVES, ...extra });
  const port = await openPort(vb.path, baud);
  const master = new RtuMaster(port, baud);
  const events: BusEvent[] = [];
  vb.bus.onEvent((e) => events.push(e));
  return { ...vb, port, master, events };
}

function regs(r: { response: ModbusResponse | ModbusException } | null): readonly number[] {
  expect(r).not.toBeNull();
  const res = r!.response;
  if (isException(res) || !('registers' in res)) throw new Error(`expected registers, got ${JSON.stringify(res)}`);
  return res.registers;
}

describe('Modbus RTU bus over a paced PTY line', () => {
  for (const baud of [9600, 115200]) {
    it(`round-trips RTU frames to each slave on one line at ${baud} baud`, async () => {
      const { master } = await setup(baud);
      const r1 = await master.call(1, { fn: 3, address: 2, quantity: 3 });
      expect(r1!.unit).toBe(1);
      expect(regs(r1)).toEqual([102, 103, 104]);
      const r2 = await master.call(2, { fn: 3, address: 0, quantity: 4 });
      expect(r2!.unit).toBe(2);
      expect(regs(r2)).toEqual([200, 201, 202, 203]);
    });
  }

  it('a transaction takes at least its line time (request + t3.5 + reply): pacing is real', async () => {
    // A lower bound only (delays can only lengthen it): an unpaced PTY answers in ~1 ms, far
    // below the ~24 ms a 9600 baud line needs for these 8 + 11 bytes and the 3.5-char silence.
    const baud = 9600;
    const { master } = await setup(baud);
    const t0 = performance.now();
    const r = await master.call(1, { fn: 3, address: 0, quantity: 3 });
    const elapsed = performance.now() - t0;
    expect(regs(r)).toEqual([100, 101, 102]);
    expect(elapsed).toBeGreaterThanOrEqual(0.9 * (lineTimeMs(8 + 11, baud) + t35Ms(baud)));
  });

  it('only the addressed unit answers; an absent unit gets silence', async () => {
    const { master, events, bus, line } = await setup(115200);
    const r = await master.requestRaw(9, encodeRequest({ fn: 3, address: 0, quantity: 1 }), 300);
    expect(r).toBeNull();
    expect(events).toEqual([{ type: 'silent', unit: 9, reason: 'no-such-unit' }]);
    await line.relay.idle();
    expect(master.frames).toEqual([]);
    expect(bus.stats).toMatchObject({ frames: 1, replies: 0, silent: 1 });
    expect(bus.slave(1).counters.requests + bus.slave(2).counters.requests).toBe(0);
  });

  it('a request with a bad CRC gets silence from every slave', async () => {
    const { master, events, bus } = await setup(115200);
    const frame = encodeRtu({ unit: 1, pdu: encodeRequest({ fn: 3, address: 0, quantity: 1 }) });
    frame[frame.length - 1]! ^= 0x01;
    master.sendRaw(frame);
    await waitFor(() => events.length > 0);
    expect(events).toEqual([{ type: 'bad-frame', reason: 'crc', bytes: 8 }]);
    expect(await master.nextFrame(200)).toBeNull();
    expect(bus.stats.crcErrors).toBe(1);
    expect(bus.stats.replies).toBe(0);
  });

  it('a bit flipped on the wire (pacer fault) makes the frame fail its CRC: silence', async () => {
    const { master, events, line } = await setup(115200);
    line.relay.inject('aToB', { flipAt: [{ at: 3, mask: 0x04 }] });
    const r = await master.call(1, { fn: 3, address: 0, quantity: 1 }, 300);
    expect(r).toBeNull();
    expect(events).toEqual([{ type: 'bad-frame', reason: 'crc', bytes: 8 }]);
    expect(regs(await master.call(1, { fn: 3, address: 0, quantity: 1 }))).toEqual([100]);
  });

  it('a dead slave never answers while the other keeps answering', async () => {
    const { master, bus, events } = await setup(115200);
    bus.slave(2).faults.dead = true;
    expect(await master.call(2, { fn: 3, address: 0, quantity: 1 }, 300)).toBeNull();
    expect(regs(await master.call(1, { fn: 3, address: 0, quantity: 1 }))).toEqual([100]);
    expect(events.map((e) => e.type)).toEqual(['silent', 'reply']);
    bus.slave(2).faults.dead = false;
    expect(regs(await master.call(2, { fn: 3, address: 0, quantity: 1 }))).toEqual([200]);
  });

  it('wrong-unit fault: the reply carries another unit id', async () => {
    const { master, bus } = await setup(115200);
    bus.slave(2).faults.replyAsUnit = 1;
    const r = await master.call(2, { fn: 3, address: 0, quantity: 2 });
    expect(r!.unit).toBe(1);
    expect(regs(r)).toEqual([200, 201]);
    expect(bus.stats.faultedReplies).toBe(1);
  });

  it('bad-CRC and noise faults: the master sees a frame that fails its CRC', async () => {
    const { master, bus } = await setup(115200);
    bus.slave(1).faults.badCrc = true;
    const raw1 = await master.requestRaw(1, encodeRequest({ fn: 3, address: 0, quantity: 1 }));
    expect(raw1).not.toBeNull();
    expect(codeOf(() => decodeRtu(raw1!))).toBe(PortErrorCode.MODBUS_CRC);
    bus.slave(1).faults = { noiseBytes: 3 };
    const raw2 = await master.requestRaw(1, encodeRequest({ fn: 3, address: 0, quantity: 1 }));
    expect(raw2!.length).toBe(7 + 3);
    expect(codeOf(() => decodeRtu(raw2!))).toBe(PortErrorCode.MODBUS_CRC);
    // The last 7 bytes are the genuine reply the noise was glued to.
    expect(decodeRtu(raw2!.subarray(3)).unit).toBe(1);
  });

  it('fault rate: with rate 0 no reply is faulted', async () => {
    const { master, bus } = await setup(115200);
    bus.slave(1).faults = { badCrc: true, rate: 0 };
    for (let i = 0; i < 3; i++) expect(regs(await master.call(1, { fn: 3, address: 0, quantity: 1 }))).toEqual([100]);
    expect(bus.stats.faultedReplies).toBe(0);
  });

  it('a slow slave answers after its delay', async () => {
    const { master, bus } = await setup(115200);
    bus.slave(1).faults.delayMs = 150;
    const t0 = performance.now();
    expect(regs(await master.call(1, { fn: 3, address: 0, quantity: 1 }))).toEqual([100]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150); // a lower bound: the delay was applied
  });

  it('line noise injected on the bus reaches the master as a junk frame', async () => {
    const { master, bus } = await setup(115200);
    const next = master.nextFrame();
    bus.injectNoise(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00]));
    const f = await next;
    expect([...f!]).toEqual([0xde, 0xad, 0xbe, 0xef, 0x00]);
  });

  it('strict framing: a gap longer than t3.5 inside a request splits it, and nobody answers', async () => {
    const { master, events } = await setup(9600, { strictFraming: true });
    const frame = encodeRtu({ unit: 1, pdu: encodeRequest({ fn: 3, address: 0, quantity: 1 }) });
    master.sendRaw(frame.subarray(0, 3));
    // The bus itself reports the silence: the fragment ends in a bad frame once t3.5 has passed.
    await waitFor(() => events.length >= 1, 10_000, 'the fragment to be cut off by silence');
    master.sendRaw(frame.subarray(3));
    await waitFor(() => events.length >= 2);
    expect(await master.nextFrame(200)).toBeNull();
    // Two bad frames, or more when a loaded machine's whole-millisecond pacer stalled past t3.5
    // inside a fragment too (seen once with 60 test files at once): never a reply.
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(['bad-frame']));
  });

  it('answers exceptions 01 (function), 02 (address) and 03 (value)', async () => {
    const { master } = await setup(115200);
    const ex = async (unit: number, pdu: Uint8Array): Promise<number[]> => {
      const raw = await master.requestRaw(unit, pdu);
      return [...decodeRtu(raw!).pdu];
    };
    expect(await ex(1, new Uint8Array([0x07]))).toEqual([0x87, 0x01]); // Read Exception Status: not served
    expect(await ex(2, encodeRequest({ fn: 3, address: 3, quantity: 2 }))).toEqual([0x83, 0x02]);
    expect(await ex(1, encodeRequest({ fn: 3, address: 0, quantity: 126 }))).toEqual([0x83, 0x03]);
    expect(await ex(1, encodeRequest({ fn: 5, address: 0, value: 0x1234 }))).toEqual([0x85, 0x03]);
    expect(await ex(2, new Uint8Array([0x2b, 0x0e, 0x01, 0x00]))).toEqual([0xab, 0x01]); // no identity on unit 2
  });

  it('writes registers and coils, and a broadcast write reaches every slave without a reply', async () => {
    const { master, bus, events } = await setup(115200);
    expect((await master.call(1, { fn: 16, address: 1, values: [7, 8] }))!.response).toEqual({ fn: 16, address: 1, quantity: 2 });
    expect(regs(await master.call(1, { fn: 3, address: 0, quantity: 3 }))).toEqual([100, 7, 8]);
    expect((await master.call(1, { fn: 15, address: 1, values: [true, true] }))!.response).toEqual({ fn: 15, address: 1, quantity: 2 });
    const coils = (await master.call(1, { fn: 1, address: 0, quantity: 4 }))!.response;
    expect(coils).toEqual({ fn: 1, data: new Uint8Array([0b0111]) });
    master.sendRaw(encodeRtu({ unit: 0, pdu: encodeRequest({ fn: 6, address: 0, value: 999 }) }));
    await waitFor(() => events.some((e) => e.type === 'broadcast'));
    expect(await master.nextFrame(200)).toBeNull();
    expect(bus.slave(1).register('holdingRegisters', 0)).toBe(999);
    expect(bus.slave(2).register('holdingRegisters', 0)).toBe(999);
  });

  it('live values: a register that drifts over time reads differently as time passes', async () => {
    const { master, bus } = await setup(115200);
    bus.slave(2).setRegister('holdingRegisters', 3, (now) => Math.floor(now));
    const a = regs(await master.call(2, { fn: 3, address: 3, quantity: 1 }))[0]!;
    // The register follows the bus clock in whole ms: ask again only once a ms has passed since
    // `a` came back (clocks of both processes run at the same rate).
    const t1 = Math.floor(performance.now());
    await waitFor(() => Math.floor(performance.now()) > t1, 1000, 'the clock to move on');
    const b = regs(await master.call(2, { fn: 3, address: 3, quantity: 1 }))[0]!;
    expect(b).not.toBe(a);
  });
});

describe('interop with an independent Modbus client (modbus-serial) over the paced line', () => {
  it('reads, writes and reads device identification through modbus-serial', async () => {
    const baud = 19200;
    const { path, bus } = await virtualBus({ baud, slaves: SLAVES });
    const client = new ModbusRTU();
    await client.connectRTUBuffered(path, { baudRate: baud });
    try {
      client.setTimeout(2000);
      client.setID(1);
      expect((await client.readHoldingRegisters(0, 4)).data).toEqual([100, 101, 102, 103]);
      expect((await client.readInputRegisters(0, 2)).data).toEqual([215, 400]);
      client.setID(2);
      expect((await client.readHoldingRegisters(1, 2)).data).toEqual([201, 202]);
      await client.writeRegister(2, 4242);
      expect(bus.slave(2).register('holdingRegisters', 2)).toBe(4242);
      client.setID(1);
      const id = await client.readDeviceIdentification(1, 0);
      // modbus-serial keys the objects by id (typed as string[], built as an object).
      expect({ ...id.data }).toEqual({ 0: 'UZP Sim', 1: 'TH-1', 2: '1.2' });
      expect(id.conformityLevel).toBe(0x81);
    } finally {
      await new Promise<void>((r) => client.close(() => r()));
    }
  });
});
