// Modbus PDU codecs: the worked examples of the Modbus Application Protocol V1.1b3 §6, round trips
// and junk.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex, utf8 } from '../../src/uzp/bytes.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, packBits, unpackBits, type ModbusException, type ModbusRequest, type ModbusResponse } from '../../src/sim/modbus-pdu.js';
import { codeOf } from '../helpers/errors.js';
import { requestArb, responseArb } from './arbitraries.js';
import { CodedError, CommonCode } from '../../src/lib/errors.js';

// [section, request hex, decoded request, response hex, decoded response]
const SPEC: [string, string, ModbusRequest, string, ModbusResponse | ModbusException][] = [
  ['§6.1 Read Coils 20-38', '0100130013', { fn: 1, address: 0x13, quantity: 0x13 }, '0103cd6b05', { fn: 1, data: fromHex('cd6b05') }],
  ['§6.2 Read Discrete Inputs 197-218', '0200c40016', { fn: 2, address: 0xc4, quantity: 0x16 }, '0203acdb35', { fn: 2, data: fromHex('acdb35') }],
  ['§6.3 Read Holding Registers 108-110', '03006b0003', { fn: 3, address: 0x6b, quantity: 3 }, '0306022b00000064', { fn: 3, registers: [0x022b, 0, 0x64] }],
  ['§6.4 Read Input Register 9', '0400080001', { fn: 4, address: 8, quantity: 1 }, '0402000a', { fn: 4, registers: [10] }],
  ['§6.5 Write Single Coil 173 ON', '0500acff00', { fn: 5, address: 0xac, value: 0xff00 }, '0500acff00', { fn: 5, address: 0xac, value: 0xff00 }],
  ['§6.6 Write Single Register 2 = 3', '0600010003', { fn: 6, address: 1, value: 3 }, '0600010003', { fn: 6, address: 1, value: 3 }],
  [
    '§6.11 Write Multiple Coils 20-29',
    '0f0013000a02cd01',
    { fn: 15, address: 0x13, values: [true, false, true, true, false, false, true, true, true, false] },
    '0f0013000a',
    { fn: 15, address: 0x13, quantity: 10 },
  ],
  ['§6.12 Write Multiple Registers 2-3', '100001000204000a0102', { fn: 16, address: 1, values: [0x000a, 0x0102] }, '1000010002', { fn: 16, address: 1, quantity: 2 }],
];

describe('Modbus PDU vectors (Application Protocol V1.1b3 §6 examples)', () => {
  for (const [name, reqHex, req, resHex, res] of SPEC) {
    it(name, () => {
      expect(toHex(encodeRequest(req))).toBe(reqHex);
      expect(decodeRequest(fromHex(reqHex))).toEqual(req);
      expect(toHex(encodeResponse(res))).toBe(resHex);
      expect(decodeResponse(fromHex(resHex))).toEqual(res);
    });
  }

  it('§7 exception response: function | 0x80, then the code', () => {
    expect(toHex(encodeResponse({ fn: 1, exception: 2 }))).toBe('8102');
    expect(decodeResponse(fromHex('8102'))).toEqual({ fn: 1, exception: 2 });
  });

  it('§6.21 Read Device Identification, basic stream (spec example objects)', () => {
    expect(toHex(encodeRequest({ fn: 43, meiType: 14, readDeviceIdCode: 1, objectId: 0 }))).toBe('2b0e0100');
    const strings = ['Company identification', 'Product code XX', 'V2.11'];
    const hex =
      '2b0e01' + '01' + '00' + '00' + '03' + strings.map((s, i) => toHex(new Uint8Array([i, s.length])) + toHex(utf8.encode(s))).join('');
    expect(hex.startsWith('2b0e0101000003' + '0016')).toBe(true); // "Company identification" is 0x16 bytes
    const res = decodeResponse(fromHex(hex));
    expect(res).toEqual({ fn: 43, meiType: 14, readDeviceIdCode: 1, conformityLevel: 1, moreFollows: false, nextObjectId: 0, objects: strings.map((s, id) => ({ id, value: utf8.encode(s) })) });
    expect(toHex(encodeResponse(res))).toBe(hex);
  });

  it('packs coils LSB first (§6.1: CD = coils 27..20)', () => {
    expect(unpackBits(fromHex('cd'), 8)).toEqual([true, false, true, true, false, false, true, true]);
    expect(packBits([true, false, true, true, false, false, true, true, true])).toEqual(fromHex('cd01'));
  });
});

describe('Modbus PDU structure checks', () => {
  it('refuses inconsistent or truncated PDUs with typed errors', () => {
    expect(codeOf(() => decodeRequest(fromHex('03006b00')))).toBe(CommonCode.DECODE_TRUNCATED);
    expect(codeOf(() => decodeRequest(fromHex('03006b000300')))).toBe(CommonCode.DECODE_TRAILING);
    expect(codeOf(() => decodeRequest(fromHex('0f0013000a01cd')))).toBe(CommonCode.DECODE_LENGTH); // 10 coils need 2 bytes
    expect(codeOf(() => decodeRequest(fromHex('100001000203000a01')))).toBe(CommonCode.DECODE_LENGTH); // odd byte count
    expect(codeOf(() => decodeRequest(fromHex('100001000000')))).toBe(CommonCode.DECODE_LENGTH); // quantity 0
    expect(codeOf(() => decodeRequest(fromHex('2b0d0100')))).toBe(CommonCode.DECODE_VALUE); // MEI 13 (CANopen) not served
    expect(codeOf(() => decodeRequest(fromHex('07')))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => decodeRequest(new Uint8Array(0)))).toBe(CommonCode.DECODE_TRUNCATED);
    expect(codeOf(() => decodeResponse(fromHex('0303000000')))).toBe(CommonCode.DECODE_LENGTH); // odd register byte count
    expect(codeOf(() => decodeResponse(fromHex('0304000000')))).toBe(CommonCode.DECODE_TRUNCATED);
    expect(codeOf(() => decodeResponse(fromHex('2b0e0101010000')))).toBe(CommonCode.DECODE_VALUE); // more follows must be 00 or FF
    expect(codeOf(() => decodeResponse(fromHex('810203')))).toBe(CommonCode.DECODE_TRAILING);
  });
});

describe('Modbus PDU round trips and junk', () => {
  it('request decode(encode(r)) = r (fast-check)', () => {
    fc.assert(fc.property(requestArb, (r) => {
        expect(decodeRequest(encodeRequest(r))).toEqual(r);
      }), { numRuns: 2000 });
  });

  it('response decode(encode(r)) = r (fast-check)', () => {
    fc.assert(fc.property(responseArb, (r) => {
        expect(decodeResponse(encodeResponse(r))).toEqual(r);
      }), { numRuns: 2000 });
  });

  for (const [name, decode, arb] of [
    ['request', decodeRequest, requestArb.map(encodeRequest)],
    ['response', decodeResponse, responseArb.map(encodeResponse)],
  ] as const) {
    it(`10,000 junk and mutated ${name} PDUs: only typed errors`, () => {
      let typed = 0;
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 260 }),
            fc.tuple(arb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: -2, max: 2 })).map(([b, p, v, cut]) => {
              const out = new Uint8Array(Math.max(0, b.length + cut));
              out.set(b.subarray(0, out.length));
              if (out.length > 0) out[p % out.length] = v;
              return out;
            }),
          ),
          (junk) => {
            try {
              decode(junk);
            } catch (e) {
              expect(e).toBeInstanceOf(CodedError);
              typed++;
            }
          },
        ),
        { numRuns: 10_000 },
      );
      expect(typed).toBeGreaterThan(0);
    });
  }
});
