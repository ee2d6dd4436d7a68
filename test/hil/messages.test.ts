import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHil, encodeHil, hilFrameProblem, MODES, KINDS, type HilMessage } from '../../src/hil/messages.js';
import { toHex } from '../../src/uzp/bytes.js';
import { encodeCanonical } from '../../src/uzp/cbor.js';
import { CodedError } from '../../src/lib/errors.js';

const text = (max: number) => fc.string({ maxLength: max });
const u32 = fc.nat({ max: 0xffffffff });
const bytes = fc.uint8Array({ maxLength: 64 });
const message: fc.Arbitrary<HilMessage> = fc.oneof(
  fc.record({ t: fc.constant('open' as const), slot: text(64), mode: fc.constantFrom(...MODES) }),
  fc.record({ t: fc.constant('req' as const), id: u32, unit: fc.nat({ max: 255 }), pdu: fc.uint8Array({ minLength: 1, maxLength: 253 }) }),
  fc.record({ t: fc.constant('data' as const), d: bytes }),
  fc.record({ t: fc.constant('sub' as const), filter: text(100) }),
  fc.record({ t: fc.constant('pub' as const), id: u32, topic: text(100), payload: bytes, qos: fc.constantFrom(0 as const, 1 as const), retain: fc.boolean() }),
  fc.record({ t: fc.constant('opened' as const), slot: text(64), device: text(64), driver: text(32), mode: fc.constantFrom(...MODES), purposes: fc.array(text(32), { maxLength: 6 }) }),
  fc.record({ t: fc.constant('refused' as const), code: text(64) }),
  fc.record({ t: fc.constant('refused' as const), code: text(64), id: u32 }),
  fc.record({ t: fc.constant('res' as const), id: u32, pdu: bytes }),
  fc.record({ t: fc.constant('res' as const), id: u32, pdu: bytes, refused: text(64) }),
  fc.record({
    t: fc.constant('reading' as const),
    slot: text(64),
    device: text(64),
    kind: fc.constantFrom(...KINDS),
    seq: fc.nat(),
    ts: fc.nat(),
    // -0 is normalised to 0 (it is a safe integer), so the generator leaves it out.
    value: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)), text(20), fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 5 }).map((o) => Object.fromEntries(Object.entries(o)))),
  }),
  fc.record({ t: fc.constant('suback' as const), filter: text(100) }),
  fc.record({ t: fc.constant('puback' as const), id: u32 }),
  fc.record({ t: fc.constant('msg' as const), topic: text(100), payload: bytes }),
);

describe('HIL protocol messages', () => {
  it('round-trip (property)', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeHil(encodeHil(m))).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });

  it('vectors: an OPEN and a Modbus request encode to fixed bytes', () => {
    expect(toHex(encodeHil({ t: 'open', slot: 'rs485-1', mode: 'modbus' }))).toBe('a36174646f70656e646d6f6465666d6f64627573647' + '36c6f74677273343835' + '2d31');
    expect(toHex(encodeHil({ t: 'req', id: 7, unit: 1, pdu: Uint8Array.of(3, 0, 0, 0, 10) }))).toBe('a4617463726571626964076370647545030000000a64756e697401');
  });

  it('readings carry finite floats in shortest form; NaN, infinities and long encodings are refused', () => {
    const r = { t: 'reading' as const, slot: 's', device: 'd', kind: 'modbus' as const, seq: 1, ts: 2, value: { temperature: 21.4, humidity: 0.5 } };
    expect(decodeHil(encodeHil(r))).toEqual(r);
    expect(toHex(encodeHil({ ...r, value: 0.5 }))).toContain('f93800'); // half precision: shortest exact form
    expect(() => encodeHil({ ...r, value: Number.NaN })).toThrow(RangeError);
    const long = encodeHil({ ...r, value: 0.5 });
    const i = toHex(long).indexOf('f93800') / 2;
    const as64 = new Uint8Array([...long.subarray(0, i), 0xfb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, ...long.subarray(i + 3)]);
    expect(() => decodeHil(as64)).toThrow(expect.objectContaining({ code: 'CBOR_NON_CANONICAL' }));
  });

  it('refuses unknown types, unknown fields, out-of-range values', () => {
    const bad = (m: Record<string, unknown>) => () => decodeHil(encodeHil(m as unknown as HilMessage));
    expect(bad({ t: 'nope' })).toThrow(expect.objectContaining({ code: 'DECODE_TYPE' }));
    expect(bad({ t: 'open', slot: 'a', mode: 'modbus', extra: 1 })).toThrow(expect.objectContaining({ code: 'DECODE_VALUE' }));
    expect(bad({ t: 'open', slot: 'a', mode: 'telnet' })).toThrow(expect.objectContaining({ code: 'DECODE_VALUE' }));
    expect(bad({ t: 'req', id: 1, unit: 256, pdu: Uint8Array.of(3) })).toThrow(expect.objectContaining({ code: 'DECODE_VALUE' }));
    expect(bad({ t: 'req', id: 1, unit: 1, pdu: new Uint8Array(0) })).toThrow(expect.objectContaining({ code: 'DECODE_LENGTH' }));
    expect(bad({ t: 'pub', id: 1, topic: 'a', payload: new Uint8Array(0), qos: 2, retain: false })).toThrow(expect.objectContaining({ code: 'DECODE_VALUE' }));
  });

  it('hilFrameProblem (junk refused at a glance) passes every message encodeHil writes', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(hilFrameProblem(encodeHil(m))).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
    expect(hilFrameProblem(Uint8Array.of(0xff))).toMatch(/expected a map/);
    expect(hilFrameProblem(new Uint8Array(0))).toMatch(/empty/);
    expect(() => decodeHil(Uint8Array.of(0xff))).toThrow(expect.objectContaining({ code: 'DECODE_TYPE' }));
  });

  it('10,000 junk and mutated messages give only typed errors', () => {
    const mutated = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(message.map(encodeHil), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([b, i, x]) => {
        const c = b.slice();
        c[i % c.length]! ^= x;
        return c;
      }),
      fc.tuple(message.map(encodeHil), fc.nat()).map(([b, n]) => b.subarray(0, n % b.length)),
    );
    fc.assert(
      fc.property(mutated, (b) => {
        try {
          decodeHil(b);
        } catch (e) {
          if (!(e instanceof CodedError)) throw e;
        }
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('encodeHil: the hand-written Modbus request and answer, and refusals', () => {
  it('are byte for byte what encodeCanonical writes for the same map', () => {
    const reqOrRes = fc.oneof(
      fc.record({ t: fc.constant('req' as const), id: u32, unit: fc.nat({ max: 255 }), pdu: fc.uint8Array({ minLength: 1, maxLength: 253 }) }),
      fc.record({ t: fc.constant('res' as const), id: u32, pdu: fc.uint8Array({ maxLength: 300 }) }),
      fc.record({ t: fc.constant('res' as const), id: u32, pdu: fc.uint8Array({ maxLength: 300 }), refused: text(64) }),
      fc.record({ t: fc.constant('refused' as const), code: text(64) }),
      fc.record({ t: fc.constant('refused' as const), code: text(64), id: u32 }),
    );
    fc.assert(
      fc.property(reqOrRes, (m) => {
        expect(toHex(encodeHil(m))).toBe(toHex(encodeCanonical({ ...m }, { floats: true })));
      }),
      { numRuns: 3000 },
    );
  });
});
