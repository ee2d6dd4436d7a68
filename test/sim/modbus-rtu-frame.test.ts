// The simulators' RTU codec: CRC-16/MODBUS vectors, frame vectors, round trips, and junk.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../src/uzp/bytes.js';
import { encodeRequest, encodeResponse } from '../../src/sim/modbus-pdu.js';
import { crc16, decodeRtu, encodeRtu, expectedRequestLength, expectedResponseLength, RTU_MAX_ADU } from '../../src/sim/modbus-rtu-frame.js';
import { codeOf } from '../helpers/errors.js';
import { requestArb, responseArb } from './arbitraries.js';
import { PortErrorCode } from '../../src/ports/errors.js';
import { CodedError, CommonCode } from '../../src/lib/errors.js';

describe('CRC-16/MODBUS', () => {
  it('matches the Modbus over Serial Line examples and the catalogue check value', () => {
    // Read 10 holding registers from unit 1: the CRC goes on the wire as C5 CD (low byte first).
    expect(crc16(fromHex('01030000000a'))).toBe(0xcdc5);
    // Modbus over Serial Line V1.02 §6.2.2 style example: unit 0x11 reading 3 registers at 0x6B -> 76 87.
    expect(crc16(fromHex('1103006b0003'))).toBe(0x8776);
    // CRC catalogue (CRC-16/MODBUS): check value over ASCII "123456789".
    expect(crc16(new TextEncoder().encode('123456789'))).toBe(0x4b37);
    expect(crc16(new Uint8Array(0))).toBe(0xffff);
  });
});

describe('RTU frame codec', () => {
  it('encodes the vectors byte for byte', () => {
    expect(encodeRtu({ unit: 1, pdu: fromHex('030000000a') })).toEqual(fromHex('01030000000ac5cd'));
    expect(encodeRtu({ unit: 0x11, pdu: fromHex('03006b0003') })).toEqual(fromHex('1103006b00037687'));
  });

  it('decodes the vectors', () => {
    expect(decodeRtu(fromHex('01030000000ac5cd'))).toEqual({ unit: 1, pdu: fromHex('030000000a') });
    expect(decodeRtu(fromHex('1103006b00037687'))).toEqual({ unit: 0x11, pdu: fromHex('03006b0003') });
  });

  it('rejects a bad CRC, bad lengths and reserved addresses with typed errors', () => {
    expect(codeOf(() => decodeRtu(fromHex('01030000000ac5ce')))).toBe(PortErrorCode.MODBUS_CRC);
    expect(codeOf(() => decodeRtu(fromHex('01030000000acdc5')))).toBe(PortErrorCode.MODBUS_CRC); // CRC bytes swapped
    expect(codeOf(() => decodeRtu(fromHex('0103ff')))).toBe(CommonCode.DECODE_LENGTH);
    expect(codeOf(() => decodeRtu(new Uint8Array(RTU_MAX_ADU + 1)))).toBe(CommonCode.DECODE_LENGTH);
    const reserved = encodeRtu({ unit: 1, pdu: fromHex('0300000001') });
    reserved[0] = 248;
    const crc = crc16(reserved.subarray(0, reserved.length - 2));
    reserved[reserved.length - 2] = crc & 0xff;
    reserved[reserved.length - 1] = crc >>> 8;
    expect(codeOf(() => decodeRtu(reserved))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => encodeRtu({ unit: 248, pdu: fromHex('03') }))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => encodeRtu({ unit: 1, pdu: new Uint8Array(0) }))).toBe(CommonCode.DECODE_LENGTH);
    expect(codeOf(() => encodeRtu({ unit: 1, pdu: new Uint8Array(254) }))).toBe(CommonCode.DECODE_LENGTH);
  });

  it('round-trips any unit and PDU (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 247 }), fc.uint8Array({ minLength: 1, maxLength: 253 }), (unit, pdu) => {
        const adu = encodeRtu({ unit, pdu });
        expect(adu.length).toBe(pdu.length + 3);
        expect(decodeRtu(adu)).toEqual({ unit, pdu });
      }),
      { numRuns: 2000 },
    );
  });

  it('detects every single-bit error as MODBUS_CRC (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 247 }), fc.uint8Array({ minLength: 1, maxLength: 253 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (unit, pdu, pos, bit) => {
        const adu = encodeRtu({ unit, pdu });
        adu[pos % adu.length]! ^= 1 << bit;
        expect(codeOf(() => decodeRtu(adu))).toBe(PortErrorCode.MODBUS_CRC);
      }),
      { numRuns: 2000 },
    );
  });

  it('10,000 junk and mutated frames: only typed errors, never anything else', () => {
    const seeds = [encodeRtu({ unit: 1, pdu: fromHex('030000000a') }), encodeRtu({ unit: 7, pdu: fromHex('100001000204000a0102') })];
    let ok = 0;
    let typed = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.integer({ min: -3, max: 3 })).map(([s, muts, cut]) => {
            const b = new Uint8Array(Math.max(0, s.length + cut));
            b.set(s.subarray(0, b.length));
            for (const [p, v] of muts) if (b.length > 0) b[p % b.length] = v;
            return b;
          }),
        ),
        (junk) => {
          try {
            decodeRtu(junk);
            ok++;
          } catch (e) {
            expect(e).toBeInstanceOf(CodedError);
            typed++;
          }
        },
      ),
      { numRuns: 10_000 },
    );
    // Both outcomes happen: unmutated seeds decode, junk is refused with a typed error.
    expect(ok).toBeGreaterThan(0);
    expect(typed).toBeGreaterThan(9000);
  });
});

describe('expected frame lengths (tolerant framing)', () => {
  it('never overshoots a real request and is exact on the whole frame (fast-check)', () => {
    fc.assert(
      fc.property(requestArb, fc.integer({ min: 1, max: 247 }), (req, unit) => {
        const adu = encodeRtu({ unit, pdu: encodeRequest(req) });
        for (let n = 0; n <= adu.length; n++) expect(expectedRequestLength(adu.subarray(0, n)) ?? 0).toBeLessThanOrEqual(adu.length);
        expect(expectedRequestLength(adu)).toBe(adu.length);
      }),
      { numRuns: 500 },
    );
  });

  it('never overshoots a real response and is exact on the whole frame (fast-check)', () => {
    fc.assert(
      fc.property(responseArb, fc.integer({ min: 1, max: 247 }), (res, unit) => {
        const pdu = encodeResponse(res);
        fc.pre(pdu.length <= 253);
        const adu = encodeRtu({ unit, pdu });
        for (let n = 0; n <= adu.length; n++) expect(expectedResponseLength(adu.subarray(0, n)) ?? 0).toBeLessThanOrEqual(adu.length);
        expect(expectedResponseLength(adu)).toBe(adu.length);
      }),
      { numRuns: 500 },
    );
  });
});
