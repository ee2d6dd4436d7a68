// One simulated slave, without any I/O: the function state diagrams of Modbus Application
// Protocol V1.1b3 §6 (exceptions 01/02/03), writes, live values and Read Device Identification.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex, utf8 } from '../../src/uzp/bytes.js';
import { counter, drift, toWord } from '../../src/sim/live-values.js';
import { decodeResponse, encodeRequest, type ModbusRequest } from '../../src/sim/modbus-pdu.js';
import { ModbusSlave } from '../../src/sim/modbus-slave.js';
import { codeOf } from '../helpers/errors.js';
import { requestArb } from './arbitraries.js';
import { CommonCode } from '../../src/lib/errors.js';

function slave(): ModbusSlave {
  return new ModbusSlave({
    unit: 5,
    coils: [false, true, false, false, false, false, false, false, true, true],
    discreteInputs: [true, true, false],
    holdingRegisters: [1, 2, 3, 4, 5],
    inputRegisters: [drift({ base: 215, amplitude: 15, periodMs: 60_000 }), counter({ periodMs: 1000 }), -50],
    identity: { vendorName: 'Acme', productCode: 'TH-9', revision: '3.1', productName: 'Thermo', modelName: 'TH-9/485' },
  });
}

function ask(s: ModbusSlave, req: ModbusRequest | Uint8Array, now = 0): string {
  return toHex(s.handle(req instanceof Uint8Array ? req : encodeRequest(req), now)!);
}

describe('simulated slave: functions 1-6, 15, 16', () => {
  it('reads each table', () => {
    const s = slave();
    expect(ask(s, { fn: 1, address: 0, quantity: 10 })).toBe('01020203');
    expect(ask(s, { fn: 2, address: 0, quantity: 3 })).toBe('020103');
    expect(ask(s, { fn: 3, address: 1, quantity: 3 })).toBe('0306000200030004');
    expect(ask(s, { fn: 4, address: 2, quantity: 1 })).toBe('0402ffce'); // -50 as INT16
  });

  it('live registers change with the clock the bus passes in', () => {
    const s = slave();
    expect(ask(s, { fn: 4, address: 0, quantity: 2 }, 0)).toBe('040400d70000'); // 215, 0
    expect(ask(s, { fn: 4, address: 0, quantity: 2 }, 15_000)).toBe('040400e6000f'); // 230 (sine peak), 15 s
    expect(s.register('inputRegisters', 0, 45_000)).toBe(200);
  });

  it('writes single and multiple coils and registers', () => {
    const s = slave();
    expect(ask(s, { fn: 5, address: 2, value: 0xff00 })).toBe('050002ff00');
    expect(ask(s, { fn: 6, address: 4, value: 0xbeef })).toBe('060004beef');
    expect(ask(s, { fn: 15, address: 0, values: [true, true, true] })).toBe('0f00000003');
    expect(ask(s, { fn: 16, address: 0, values: [9, 8] })).toBe('1000000002');
    expect(ask(s, { fn: 1, address: 0, quantity: 4 })).toBe('0101' + '07');
    expect(ask(s, { fn: 3, address: 0, quantity: 5 })).toBe('030a' + '0009000800030004beef');
    expect(s.counters).toEqual({ requests: 6, exceptions: 0, writes: 4 });
  });

  it('answers 01 for functions it does not serve', () => {
    const s = slave();
    expect(ask(s, fromHex('07'))).toBe('8701');
    expect(ask(s, fromHex('1101'))).toBe('9101');
    expect(ask(s, fromHex('2b0d0000'))).toBe('ab01'); // MEI 13
    expect(new ModbusSlave({ unit: 1 }).handle(encodeRequest({ fn: 43, meiType: 14, readDeviceIdCode: 1, objectId: 0 }), 0)).toEqual(fromHex('ab01'));
  });

  it('answers 03 for quantities out of range and malformed fields', () => {
    const s = slave();
    expect(ask(s, { fn: 3, address: 0, quantity: 0 })).toBe('8303');
    expect(ask(s, { fn: 3, address: 0, quantity: 126 })).toBe('8303');
    expect(ask(s, { fn: 1, address: 0, quantity: 2001 })).toBe('8103');
    expect(ask(s, { fn: 5, address: 0, value: 0x0001 })).toBe('8503');
    expect(ask(s, { fn: 16, address: 0, values: new Array<number>(124).fill(1) })).toBe('9003');
    expect(ask(s, fromHex('0f0000000a01ff'))).toBe('8f03'); // byte count does not fit the quantity
    expect(ask(s, fromHex('0300'))).toBe('8303'); // truncated
  });

  it('answers 02 for addresses outside a table', () => {
    const s = slave();
    expect(ask(s, { fn: 3, address: 4, quantity: 2 })).toBe('8302');
    expect(ask(s, { fn: 4, address: 3, quantity: 1 })).toBe('8402');
    expect(ask(s, { fn: 2, address: 0, quantity: 4 })).toBe('8202');
    expect(ask(s, { fn: 5, address: 10, value: 0 })).toBe('8502');
    expect(ask(s, { fn: 6, address: 5, value: 0 })).toBe('8602');
    expect(ask(s, { fn: 15, address: 9, values: [true, true] })).toBe('8f02');
    expect(ask(s, { fn: 16, address: 0xffff, values: [1] })).toBe('9002');
    expect(s.counters.exceptions).toBe(7);
  });

  it('executes broadcast writes without a reply and refuses broadcast reads', () => {
    const s = slave();
    expect(s.handle(encodeRequest({ fn: 6, address: 0, value: 77 }), 0, true)).toBeNull();
    expect(s.register('holdingRegisters', 0)).toBe(77);
    expect(s.handle(encodeRequest({ fn: 3, address: 0, quantity: 1 }), 0, true)).toBeNull();
    expect(s.counters.exceptions).toBe(1);
  });

  it('validates its configuration with USAGE errors', () => {
    expect(codeOf(() => new ModbusSlave({ unit: 0 }))).toBe(CommonCode.USAGE);
    expect(codeOf(() => new ModbusSlave({ unit: 248 }))).toBe(CommonCode.USAGE);
    expect(codeOf(() => slave().setRegister('holdingRegisters', 5, 1))).toBe(CommonCode.USAGE);
    expect(codeOf(() => new ModbusSlave({ unit: 1, identity: { vendorName: 'x'.repeat(245), productCode: '', revision: '' } }))).toBe(CommonCode.USAGE);
    expect(codeOf(() => new ModbusSlave({ unit: 1, identity: { vendorName: 'v', productCode: 'p', revision: 'r', extended: { 0x10: 'x' } } }))).toBe(CommonCode.USAGE);
  });

  it('toWord: rounding and 16-bit two\'s complement', () => {
    expect(toWord(21.6)).toBe(22);
    expect(toWord(-1)).toBe(0xffff);
    expect(toWord(65536 + 3)).toBe(3);
  });

  it('never throws on 10,000 junk request PDUs and always answers a decodable response', () => {
    const s = slave();
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 253 }), requestArb.map(encodeRequest)), (pdu) => {
        const res = s.handle(pdu, 0);
        expect(res).not.toBeNull();
        decodeResponse(res!); // throws (and fails the property) if the slave produced a malformed PDU
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('simulated slave: 43/14 Read Device Identification (§6.21)', () => {
  const idReq = (code: number, objectId: number): ModbusRequest => ({ fn: 43, meiType: 14, readDeviceIdCode: code, objectId });
  const objects = (hex: string): { id: number; text: string }[] => {
    const r = decodeResponse(fromHex(hex));
    if (!('objects' in r)) throw new Error(`not a device id response: ${hex}`);
    return r.objects.map((o) => ({ id: o.id, text: utf8.decode(o.value) }));
  };

  it('basic stream: vendor, product code, revision; conformity 0x82 (regular objects present)', () => {
    const hex = ask(slave(), idReq(1, 0));
    expect(hex.slice(0, 14)).toBe('2b0e0182000003');
    expect(objects(hex)).toEqual([
      { id: 0, text: 'Acme' },
      { id: 1, text: 'TH-9' },
      { id: 2, text: '3.1' },
    ]);
  });

  it('regular stream includes the regular objects; a stream at an unknown object restarts at 0', () => {
    const s = slave();
    expect(objects(ask(s, idReq(2, 0))).map((o) => o.id)).toEqual([0, 1, 2, 4, 5]);
    expect(objects(ask(s, idReq(2, 4))).map((o) => o.id)).toEqual([4, 5]);
    expect(objects(ask(s, idReq(1, 0x55))).map((o) => o.id)).toEqual([0, 1, 2]);
  });

  it('individual access returns one object, 02 for an absent one; a bad ReadDevId code is 03', () => {
    const s = slave();
    expect(objects(ask(s, idReq(4, 5)))).toEqual([{ id: 5, text: 'TH-9/485' }]);
    expect(ask(s, idReq(4, 3))).toBe('ab02');
    expect(ask(s, idReq(0, 0))).toBe('ab03');
    expect(ask(s, idReq(5, 0))).toBe('ab03');
  });

  it('splits a long stream with More Follows and Next Object Id', () => {
    const long = (c: string): string => c.repeat(100);
    const s = new ModbusSlave({ unit: 1, identity: { vendorName: long('a'), productCode: long('b'), revision: long('c'), extended: { 0x80: 'ext' } } });
    const first = decodeResponse(s.handle(encodeRequest(idReq(3, 0)), 0)!);
    expect(first).toMatchObject({ conformityLevel: 0x83, moreFollows: true, nextObjectId: 2 });
    const second = decodeResponse(s.handle(encodeRequest(idReq(3, 2)), 0)!);
    expect(second).toMatchObject({ moreFollows: false, nextObjectId: 0 });
    expect('objects' in second && second.objects.map((o) => o.id)).toEqual([2, 0x80]);
  });
});
