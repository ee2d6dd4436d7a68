// Modbus TCP framing: vectors, round trips, the streaming parser over arbitrary chunking, and
// 10,000 junk inputs (only DecodeError from decodeMbap; the parser never throws and reports a
// broken length field as desync).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMbap, encodeMbap, MbapParser, type MbapFrame } from '../../../src/ports/modbus/mbap.js';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { codeOf } from '../../helpers/errors.js';
import { CommonCode, DecodeError } from '../../../src/lib/errors.js';

const frame = fc.record({
  transactionId: fc.integer({ min: 0, max: 0xffff }),
  protocolId: fc.integer({ min: 0, max: 0xffff }),
  unit: fc.integer({ min: 0, max: 255 }),
  pdu: fc.uint8Array({ minLength: 1, maxLength: 253 }),
});

function norm(f: MbapFrame): object {
  return { ...f, pdu: toHex(f.pdu) };
}

describe('MBAP', () => {
  it('encodes the implementation guide’s example header', () => {
    // Read 1 holding register at 0 from unit 0x11, transaction 1: 00 01 00 00 00 06 11 03 00 00 00 01.
    expect(toHex(encodeMbap({ transactionId: 1, protocolId: 0, unit: 0x11, pdu: fromHex('0300000001') }))).toBe('000100000006110300000001');
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(norm(decodeMbap(encodeMbap(f)))).toEqual(norm(f));
      }),
    );
  });

  it('rejects trailing bytes, truncation and impossible lengths', () => {
    const ok = encodeMbap({ transactionId: 1, protocolId: 0, unit: 1, pdu: fromHex('0300000001') });
    expect(codeOf(() => decodeMbap(Uint8Array.from([...ok, 0])))).toBe(CommonCode.DECODE_TRAILING);
    expect(codeOf(() => decodeMbap(ok.subarray(0, ok.length - 1)))).toBe(CommonCode.DECODE_TRUNCATED);
    expect(codeOf(() => decodeMbap(fromHex('00010000000101')))).toBe(CommonCode.DECODE_LENGTH);
    expect(codeOf(() => decodeMbap(fromHex('0001000000ff01' + '00'.repeat(254))))).toBe(CommonCode.DECODE_LENGTH);
  });

  it('decodes 10,000 junk and mutated inputs throwing only DecodeError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.tuple(frame, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([f, i, x]) => {
        const b = encodeMbap(f);
        b[i % b.length]! ^= x;
        return b;
      })), (b) => {
        try {
          decodeMbap(b);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
        }
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('MbapParser', () => {
  it('recovers every frame however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (frames, cuts) => {
        const got: object[] = [];
        let desync = 0;
        const p = new MbapParser({ frame: (f) => got.push(norm(f)), desync: () => desync++ });
        const stream = Uint8Array.from(frames.flatMap((f) => [...encodeMbap(f)]));
        for (let off = 0, i = 0; off < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          p.push(stream.subarray(off, off + n));
          off += n;
        }
        expect(desync).toBe(0);
        expect(got).toEqual(frames.map(norm));
      }),
    );
  });

  it('splits a two-request stream (vectors) cut at every byte boundary', () => {
    // Read 1 holding register at 0 from unit 0x11 (transaction 1), then Write Single Register 1 =
    // 0x0003 to unit 0xFF (transaction 0x1234): the operator endpoint's input, byte for byte.
    const stream = fromHex('000100000006110300000001' + '123400000006ff0600010003');
    for (let cut = 0; cut <= stream.length; cut++) {
      const got: object[] = [];
      const p = new MbapParser({ frame: (f) => got.push(norm(f)), desync: () => got.push({ desync: true }) });
      p.push(stream.subarray(0, cut));
      p.push(stream.subarray(cut));
      expect(got).toEqual([
        { transactionId: 1, protocolId: 0, unit: 0x11, pdu: '0300000001' },
        { transactionId: 0x1234, protocolId: 0, unit: 0xff, pdu: '0600010003' },
      ]);
    }
  });

  it('reports a broken length field once and then ignores the rest of the stream', () => {
    let desync = 0;
    const got: MbapFrame[] = [];
    const p = new MbapParser({ frame: (f) => got.push(f), desync: () => desync++ });
    p.push(fromHex('000100000001'));
    p.push(encodeMbap({ transactionId: 2, protocolId: 0, unit: 1, pdu: fromHex('03020001') }));
    expect(desync).toBe(1);
    expect(got).toEqual([]);
  });

  it('never throws on 10,000 junk streams', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (chunks) => {
        const p = new MbapParser({ frame: () => {}, desync: () => {} });
        for (const c of chunks) p.push(c);
      }),
      { numRuns: 10_000 },
    );
  });
});
