// RTU framing on the master side: CRC-16/MODBUS vectors, ADU round trips, the streaming reply
// parser (length-first framing, resync behind noise, silence), and junk that must never throw
// anything but DecodeError nor grow the buffer.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc16modbus } from '../../../src/ports/modbus/crc.js';
import { decodeRtuAdu, encodeRtuAdu, replyAduLength, RtuReplyParser } from '../../../src/ports/modbus/rtu-frame.js';
import { RtuTransport } from '../../../src/ports/modbus/rtu-transport.js';
import { rtuTransactionMs, t15Ms, t35Ms } from '../../../src/ports/line-timing.js';
import { BusStats } from '../../../src/ports/modbus/stats.js';
import { SerialLink } from '../../../src/ports/serial.js';
import { crc16 as simCrc16 } from '../../../src/sim/modbus-rtu-frame.js';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { CodedError, DecodeError } from '../../../src/lib/errors.js';

function collect(): { frames: [number, string][]; errors: [string, number][]; parser: RtuReplyParser } {
  const frames: [number, string][] = [];
  const errors: [string, number][] = [];
  const parser = new RtuReplyParser({ frame: (u, p) => frames.push([u, toHex(p)]), error: (r, n) => errors.push([r, n]) });
  return { frames, errors, parser };
}

/** A random well-formed reply PDU of a function whose length the parser can tell. */
const replyPdu = fc.oneof(
  fc.tuple(fc.constantFrom(1, 2, 3, 4), fc.uint8Array({ minLength: 0, maxLength: 250 })).map(([f, d]) => Uint8Array.from([f, d.length, ...d])),
  fc.tuple(fc.constantFrom(5, 6, 15, 16), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([f, d]) => Uint8Array.from([f, ...d])),
  fc.tuple(fc.integer({ min: 0x81, max: 0xff }), fc.integer({ min: 0, max: 255 })).map(([f, c]) => Uint8Array.from([f, c])),
);

describe('CRC-16/MODBUS', () => {
  it('matches the catalogue check value and the spec example', () => {
    // CRC RevEng catalogue: CRC-16/MODBUS check("123456789") = 0x4B37.
    expect(crc16modbus(new TextEncoder().encode('123456789'))).toBe(0x4b37);
    // Read 10 holding registers from unit 1: 01 03 00 00 00 0A, CRC C5 CD on the wire (low byte first).
    expect(toHex(encodeRtuAdu(1, fromHex('030000000a')))).toBe('01030000000ac5cd');
  });

  it('agrees with the simulator’s independent bitwise implementation', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => crc16modbus(b) === simCrc16(b)), { numRuns: 2000 });
  });
});

describe('RTU ADU', () => {
  it('round-trips unit and PDU', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 247 }), fc.uint8Array({ minLength: 1, maxLength: 253 }), (u, pdu) => {
        const d = decodeRtuAdu(encodeRtuAdu(u, pdu));
        return d.unit === u && toHex(d.pdu) === toHex(pdu);
      }),
    );
  });

  it('refuses bad units and PDU sizes with DecodeError', () => {
    expect(() => encodeRtuAdu(248, Uint8Array.of(3))).toThrow(DecodeError);
    expect(() => encodeRtuAdu(1, new Uint8Array(0))).toThrow(DecodeError);
    expect(() => encodeRtuAdu(1, new Uint8Array(254))).toThrow(DecodeError);
    expect(() => decodeRtuAdu(fromHex('01030000000ac5ce'))).toThrow(/CRC/);
  });

  it('decodes 10,000 junk and mutated frames throwing only DecodeError', () => {
    const good = encodeRtuAdu(7, fromHex('0304000100ff'));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => Uint8Array.from(good, (b, j) => (j === i ? b ^ x : b)))), (b) => {
        try {
          decodeRtuAdu(b);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('knows reply lengths from the function code and byte count', () => {
    expect(replyAduLength(fromHex('01'))).toBe('more');
    expect(replyAduLength(fromHex('0103'))).toBe('more');
    expect(replyAduLength(fromHex('010314'))).toBe(25);
    expect(replyAduLength(fromHex('0106'))).toBe(8);
    expect(replyAduLength(fromHex('0183'))).toBe(5);
    expect(replyAduLength(fromHex('0117'))).toBe('unknown');
  });
});

describe('RtuReplyParser', () => {
  it('recovers every frame however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 247 }), replyPdu), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), (frames, cuts) => {
        const { frames: got, errors, parser } = collect();
        const stream = Uint8Array.from(frames.flatMap(([u, p]) => [...encodeRtuAdu(u, p)]));
        let off = 0;
        for (let i = 0; off < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          parser.push(stream.subarray(off, off + n));
          off += n;
        }
        parser.silence();
        expect(errors).toEqual([]);
        expect(got).toEqual(frames.map(([u, p]) => [u, toHex(p)]));
      }),
      { numRuns: 500 },
    );
  });

  it('finds a reply behind line noise and reports the noise once', () => {
    const { frames, errors, parser } = collect();
    // Noise that cannot itself form a valid frame, then a good reply.
    parser.push(fromHex('ff0655aa'));
    parser.push(encodeRtuAdu(2, fromHex('03020102')));
    expect(frames).toEqual([[2, '03020102']]);
    expect(errors).toEqual([['crc', 4]]);
  });

  it('finds a reply behind noise that looks like a long frame header once the line is quiet', () => {
    const { frames, errors, parser } = collect();
    // ff 03 55: "unit 255, read reply of 85 bytes" -- the parser waits for them until the silence.
    parser.push(fromHex('ff0355aa'));
    parser.push(encodeRtuAdu(2, fromHex('03020102')));
    expect(frames).toEqual([]);
    parser.silence();
    expect(frames).toEqual([[2, '03020102']]);
    expect(errors.map((e) => e[1])).toEqual([4]);
  });

  it('recovers a reply behind random noise by the next silence at the latest', () => {
    // Fixed seed: noise forms a valid frame by chance with probability 2^-16 per candidate.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 247 }), replyPdu, (noise, unit, pdu) => {
        const { frames, errors, parser } = collect();
        parser.push(noise);
        parser.push(encodeRtuAdu(unit, pdu));
        parser.silence();
        expect(frames.at(-1)).toEqual([unit, toHex(pdu)]);
        expect(errors.length).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 1000, seed: 20240611 },
    );
  });

  it('drops a corrupted reply and reports it at the silence', () => {
    const { frames, errors, parser } = collect();
    const bad = encodeRtuAdu(2, fromHex('03020102'));
    bad[4]! ^= 0x10;
    parser.push(bad);
    parser.silence();
    expect(frames).toEqual([]);
    expect(errors.length).toBe(1);
    expect(errors[0]![1]).toBe(bad.length);
    expect(parser.buffered).toBe(0);
  });

  it('keeps a partial reply that starts like the awaited one across a silence', () => {
    const { frames, errors, parser } = collect();
    parser.awaiting = { unit: 1, fc: 3 };
    const adu = encodeRtuAdu(1, fromHex('0304000a000b'));
    parser.push(adu.subarray(0, 4));
    parser.silence(); // e.g. a late timer on a busy event loop, or an adapter pausing mid-frame
    parser.push(adu.subarray(4));
    expect(frames).toEqual([[1, '0304000a000b']]);
    expect(errors).toEqual([]);
    // Another unit answering the same function is kept too: whole, it is a frame (the transport
    // drops it as the wrong unit), not a CRC error.
    const other = encodeRtuAdu(2, fromHex('0304000a000b'));
    parser.push(other.subarray(0, 4));
    parser.silence();
    parser.push(other.subarray(4));
    expect(frames).toEqual([[1, '0304000a000b'], [2, '0304000a000b']]);
    expect(errors).toEqual([]);
    // A partial frame of another function is not kept.
    parser.push(encodeRtuAdu(2, fromHex('0104000a000b')).subarray(0, 4));
    parser.silence();
    expect(errors).toEqual([['truncated', 4]]);
    // Nor one of the awaited unit once nothing is awaited any more.
    parser.push(adu.subarray(0, 4));
    parser.awaiting = null;
    parser.silence();
    expect(errors).toEqual([['truncated', 4], ['truncated', 4]]);
  });

  it('a silence between noise and the awaited reply’s first bytes keeps the reply, counts the noise', () => {
    const { frames, errors, parser } = collect();
    parser.awaiting = { unit: 1, fc: 3 };
    const adu = encodeRtuAdu(1, fromHex('0304000a000b'));
    parser.push(Uint8Array.of(0xff, 0x10, 0x99, 0x42, 0x17, 0x05)); // line noise, no 0x01 in it
    parser.push(adu.subarray(0, 3));
    parser.silence(); // a mid-reply silence under load: the noise goes, the reply's start stays
    parser.push(adu.subarray(3));
    expect(frames).toEqual([[1, '0304000a000b']]);
    expect(errors).toEqual([['crc', 6]]);
  });

  it('an unknown-length reply cut by a silence is kept while awaited, and ends at the silence after it', () => {
    const { frames, errors, parser } = collect();
    parser.acceptUnknownFunctions = true;
    parser.awaiting = { unit: 1, fc: 0x2b };
    const adu = encodeRtuAdu(1, fromHex('2b0e0101000003000474657374010131020131'));
    parser.push(adu.subarray(0, 9));
    parser.silence(); // mid-reply: CRC does not hold yet, so nothing is judged
    expect([frames, errors]).toEqual([[], []]);
    parser.push(adu.subarray(9));
    parser.silence();
    expect(frames).toEqual([[1, '2b0e0101000003000474657374010131020131']]);
    expect(errors).toEqual([]);
  });

  it('discards a truncated reply at the silence, then parses the next one', () => {
    const { frames, errors, parser } = collect();
    parser.push(encodeRtuAdu(1, fromHex('0304000a000b')).subarray(0, 6));
    parser.silence();
    expect(errors).toEqual([['truncated', 6]]);
    parser.push(encodeRtuAdu(1, fromHex('0304000a000b')));
    expect(frames).toEqual([[1, '0304000a000b']]);
  });

  it('frames an unknown function by silence', () => {
    const { frames, errors, parser } = collect();
    parser.acceptUnknownFunctions = true; // a raw request of function 0x11 is in flight
    const adu = encodeRtuAdu(9, fromHex('1103aabbcc'));
    parser.push(adu);
    expect(frames).toEqual([]);
    parser.silence();
    expect(frames).toEqual([[9, '1103aabbcc']]);
    expect(errors).toEqual([]);
  });

  it('survives 10,000 junk streams: never throws, never holds more than 256 bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 400 }), replyPdu.map((p) => encodeRtuAdu(1, p))), { maxLength: 6 }), fc.boolean(), fc.boolean(), fc.boolean(), (chunks, quiet, unknown, awaiting) => {
        const { parser } = collect();
        parser.acceptUnknownFunctions = unknown;
        parser.awaiting = awaiting ? { unit: 1, fc: 3 } : null;
        try {
          for (const c of chunks) {
            parser.push(c);
            expect(parser.buffered).toBeLessThanOrEqual(256);
            if (quiet) parser.silence();
          }
          parser.awaiting = null; // the request's timeout: nothing is kept any more
          parser.silence();
          expect(parser.buffered).toBe(0);
        } catch (e) {
          if (e instanceof CodedError) throw new Error(`parser threw ${e.code}`);
          throw e;
        }
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('RTU timing', () => {
  it('t3.5 is 3.5 characters up to 19200 baud and 1.75 ms above (Modbus over Serial Line §2.5.1.1)', () => {
    expect(t35Ms(9600, 11)).toBeCloseTo((3.5 * 11 * 1000) / 9600, 9);
    expect(t35Ms(19_200, 10)).toBeCloseTo((3.5 * 10 * 1000) / 19_200, 9);
    expect(t35Ms(38_400, 11)).toBe(1.75);
  });

  it('t1.5 is 1.5 characters up to 19200 baud and 0.75 ms above', () => {
    expect(t15Ms(9600, 11)).toBeCloseTo((1.5 * 11 * 1000) / 9600, 9);
    expect(t15Ms(19_200, '8E1')).toBeCloseTo((1.5 * 11 * 1000) / 19_200, 9);
    expect(t15Ms(115_200, 10)).toBe(0.75);
  });

  it('the transport waits exactly t3.5 of silence, no floor, with the link’s character framing', () => {
    const slow = new SerialLink({ path: '/dev/null-never-opened', baudRate: 1200, parity: 'even' });
    expect(slow.bitsPerChar).toBe(11);
    const t = new RtuTransport(slow, new BusStats());
    expect(t.silenceMs).toBeCloseTo((3.5 * 11 * 1000) / 1200, 9);
    expect(t.t15Ms).toBeCloseTo((1.5 * 11 * 1000) / 1200, 9);
    const e19200 = new SerialLink({ path: '/dev/null-never-opened', baudRate: 19_200, parity: 'even' });
    expect(new RtuTransport(e19200, new BusStats()).silenceMs).toBeCloseTo((3.5 * 11 * 1000) / 19_200, 9); // 2.005 ms
    const fast = new SerialLink({ path: '/dev/null-never-opened', baudRate: 115_200 });
    expect(new RtuTransport(fast, new BusStats()).silenceMs).toBe(1.75);
  });

  it('the spec transaction time: a 10-register read is 8 + 25 characters and two t3.5', () => {
    expect(rtuTransactionMs(8, 25, 115_200, '8N1')).toBeCloseTo((33 * 10 * 1000) / 115_200 + 3.5, 9); // 6.36 ms, 157 polls/s
    expect(rtuTransactionMs(8, 25, 19_200, '8E1')).toBeCloseTo((33 * 11 * 1000) / 19_200 + 2 * ((3.5 * 11 * 1000) / 19_200), 9); // 22.9 ms, 44 polls/s
  });
});
