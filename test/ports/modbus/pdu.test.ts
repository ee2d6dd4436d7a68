// Master-side PDUs: request bytes checked against jsmodbus's request bodies (an independent
// encoder), reply matching (which replies answer which request), read-reply decoding against the
// simulator's encoder, and 10,000 junk replies that may only throw DecodeError.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as jsmodbus from 'jsmodbus';
import { decodeReadReply, exceptionOf, exceptionPdu, readRequest, replyMatches, writeRequest } from '../../../src/ports/modbus/pdu.js';
import type { Table } from '../../../src/ports/modbus/vocabulary.js';
import { encodeResponse } from '../../../src/sim/modbus-pdu.js';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { codeOf } from '../../helpers/errors.js';
import { CommonCode, DecodeError } from '../../../src/lib/errors.js';

const R = jsmodbus.requests;
const table = fc.constantFrom<Table>('coils', 'discrete', 'holding', 'input');

function hex(b: Uint8Array | Buffer): string {
  return toHex(new Uint8Array(b));
}

describe('requests', () => {
  it('read requests equal jsmodbus request bodies', () => {
    fc.assert(
      fc.property(table, fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 1, max: 125 }), (t, addr, count) => {
        fc.pre(addr + count <= 65536);
        const body = { coils: R.ReadCoilsRequestBody, discrete: R.ReadDiscreteInputsRequestBody, holding: R.ReadHoldingRegistersRequestBody, input: R.ReadInputRegistersRequestBody }[t];
        expect(toHex(readRequest(t, addr, count))).toBe(hex(new body(addr, count).createPayload()));
      }),
    );
  });

  it('write requests equal jsmodbus request bodies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65000 }), fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 123 }), (addr, regs) => {
        const expected = regs.length === 1 ? new R.WriteSingleRegisterRequestBody(addr, regs[0]!).createPayload() : new R.WriteMultipleRegistersRequestBody(addr, regs).createPayload();
        expect(toHex(writeRequest('holding', addr, regs))).toBe(hex(expected));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60000 }), fc.array(fc.boolean(), { minLength: 2, maxLength: 1968 }), (addr, bits) => {
        expect(toHex(writeRequest('coils', addr, bits))).toBe(hex(new R.WriteMultipleCoilsRequestBody(addr, bits).createPayload()));
      }),
    );
    expect(toHex(writeRequest('coils', 0x00ac, [true]))).toBe(hex(new R.WriteSingleCoilRequestBody(0x00ac, true).createPayload()));
    // Modbus Application Protocol §6.5 example: write coil 173 ON = 05 00 AC FF 00.
    expect(toHex(writeRequest('coils', 172, [1]))).toBe('0500acff00');
    expect(toHex(writeRequest('holding', 1, [3], true))).toBe('100001000102' + '0003');
  });

  it('refuses out-of-range arguments as usage errors', () => {
    expect(codeOf(() => readRequest('holding', 0, 126))).toBe(CommonCode.USAGE);
    expect(codeOf(() => readRequest('coils', 0, 2001))).toBe(CommonCode.USAGE);
    expect(codeOf(() => readRequest('holding', 65535, 2))).toBe(CommonCode.USAGE);
    expect(codeOf(() => readRequest('holding', -1, 1))).toBe(CommonCode.USAGE);
    expect(codeOf(() => writeRequest('holding', 0, [70000]))).toBe(CommonCode.USAGE);
    expect(codeOf(() => writeRequest('holding', 0, []))).toBe(CommonCode.USAGE);
    expect(codeOf(() => writeRequest('holding', 0, new Array(124).fill(1)))).toBe(CommonCode.USAGE);
  });
});

describe('replies', () => {
  it('decodes read replies made by the simulator’s encoder', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 125 }), (regs) => {
        const req = readRequest('holding', 0, regs.length);
        const reply = encodeResponse({ fn: 3, registers: regs });
        expect(replyMatches(req, reply)).toBe(true);
        expect(decodeReadReply('holding', regs.length, reply)).toEqual(regs);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 2000 }), (bits) => {
        const req = readRequest('coils', 0, bits.length);
        const data = new Uint8Array(Math.ceil(bits.length / 8));
        bits.forEach((b, i) => b && (data[i >> 3]! |= 1 << (i & 7)));
        const reply = encodeResponse({ fn: 1, data });
        expect(replyMatches(req, reply)).toBe(true);
        expect(decodeReadReply('coils', bits.length, reply)).toEqual(bits.map((b) => (b ? 1 : 0)));
      }),
    );
  });

  it('matches only replies that answer the request', () => {
    const read10 = readRequest('holding', 0, 10);
    expect(replyMatches(read10, fromHex('0314' + '00'.repeat(20)))).toBe(true);
    expect(replyMatches(read10, fromHex('0312' + '00'.repeat(18)))).toBe(false); // stale reply to a 9-register read
    expect(replyMatches(read10, fromHex('0414' + '00'.repeat(20)))).toBe(false); // another function
    expect(replyMatches(read10, fromHex('8302'))).toBe(true); // its exception
    expect(replyMatches(read10, fromHex('8402'))).toBe(false); // another function's exception
    const w = writeRequest('holding', 5, [7]);
    expect(replyMatches(w, w)).toBe(true); // §6.6: echo
    expect(replyMatches(w, fromHex('0600050008'))).toBe(false);
    const wm = writeRequest('holding', 5, [7, 8]);
    expect(replyMatches(wm, fromHex('1000050002'))).toBe(true);
    expect(replyMatches(wm, fromHex('1000050003'))).toBe(false);
    // Raw passthrough of a function the master does not know: same function code is enough.
    expect(replyMatches(fromHex('2b0e0100'), fromHex('2b0e01'))).toBe(true);
    expect(exceptionOf(read10, fromHex('8302'))).toBe(2);
    expect(exceptionOf(read10, fromHex('0302'))).toBe(null);
    expect(toHex(exceptionPdu(0x03, 0x0b))).toBe('830b');
  });

  it('decodes 10,000 junk replies throwing only DecodeError', () => {
    fc.assert(
      fc.property(table, fc.integer({ min: 1, max: 125 }), fc.uint8Array({ maxLength: 260 }), (t, count, junk) => {
        try {
          const v = decodeReadReply(t, count, junk);
          expect(v.length).toBe(count);
          expect(replyMatches(readRequest(t, 0, count), junk)).toBe(true);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
