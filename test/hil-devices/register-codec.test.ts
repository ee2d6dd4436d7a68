// Register codec: vectors for every type and order convention (values worked out by hand from
// IEEE 754 and two's complement, not produced by the codec), fast-check round trips, and junk
// input that may only ever raise a typed error.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeRegister, wordsPerValue, type CodecDef } from '../../src/hil-devices/register-codec.js';
import { encodeRegister } from './register-encode.js';
import { codeOf } from '../helpers/errors.js';
import { CodedError, CommonCode, DecodeError } from '../../src/lib/errors.js';

type Order = 'big' | 'little';
const def = (type: CodecDef['type'], o: Partial<CodecDef> = {}): CodecDef => ({ name: 'r', type, count: 1, scale: 1, offset: 0, byteOrder: 'big', wordOrder: 'big', ...o });

describe('register codec vectors', () => {
  it('16-bit types: two’s complement, unsigned, byte order', () => {
    expect(decodeRegister(def('int16'), [0xffce])).toBe(-50);
    expect(decodeRegister(def('uint16'), [0xffce])).toBe(65486);
    expect(decodeRegister(def('int16'), [0x7fff])).toBe(32767);
    expect(decodeRegister(def('int16'), [0x8000])).toBe(-32768);
    // byte order little: the device sends the low byte first inside the register.
    expect(decodeRegister(def('int16', { byteOrder: 'little' }), [0xceff])).toBe(-50);
    expect(decodeRegister(def('uint16', { byteOrder: 'little' }), [0x3412])).toBe(0x1234);
  });

  it('scale and offset: value = raw * scale + offset, without binary-fraction noise', () => {
    expect(decodeRegister(def('int16', { scale: 0.1 }), [0xffce])).toBe(-5);
    expect(decodeRegister(def('uint16', { scale: 0.1 }), [214])).toBe(21.4); // 214 * 0.1 is 21.400000000000002 in doubles
    expect(decodeRegister(def('uint16', { scale: 0.01, offset: -40 }), [6543])).toBe(25.43);
    expect(decodeRegister(def('int32', { scale: 0.001 }), [0xffff, 0xfc18])).toBe(-1); // -1000 * 0.001
  });

  it('32-bit integers in all four word/byte orders (ABCD, CDAB, BADC, DCBA)', () => {
    // 0x12345678: bytes A=12 B=34 C=56 D=78
    const cases: [Order, Order, number[]][] = [
      ['big', 'big', [0x1234, 0x5678]],
      ['big', 'little', [0x5678, 0x1234]],
      ['little', 'big', [0x3412, 0x7856]],
      ['little', 'little', [0x7856, 0x3412]],
    ];
    for (const [byteOrder, wordOrder, words] of cases) {
      expect(decodeRegister(def('uint32', { byteOrder, wordOrder }), words)).toBe(0x12345678);
      expect(encodeRegister(def('uint32', { byteOrder, wordOrder }), 0x12345678)).toEqual(words);
    }
    expect(decodeRegister(def('int32'), [0xffff, 0xfffe])).toBe(-2);
    expect(decodeRegister(def('uint32'), [0xffff, 0xfffe])).toBe(4294967294);
    expect(decodeRegister(def('int32'), [0x8000, 0x0000])).toBe(-2147483648);
    expect(decodeRegister(def('int32', { wordOrder: 'little' }), [0x0001, 0x0000])).toBe(1);
  });

  it('float32 (IEEE 754 binary32) in all four orders', () => {
    // 21.5 = 0x41AC0000; 1.0 = 0x3F800000; -2.5 = 0xC0200000
    expect(decodeRegister(def('float32'), [0x41ac, 0x0000])).toBe(21.5);
    expect(decodeRegister(def('float32', { wordOrder: 'little' }), [0x0000, 0x41ac])).toBe(21.5);
    expect(decodeRegister(def('float32', { byteOrder: 'little' }), [0xac41, 0x0000])).toBe(21.5);
    expect(decodeRegister(def('float32', { byteOrder: 'little', wordOrder: 'little' }), [0x0000, 0xac41])).toBe(21.5);
    expect(decodeRegister(def('float32'), [0x3f80, 0x0000])).toBe(1);
    expect(decodeRegister(def('float32'), [0xc020, 0x0000])).toBe(-2.5);
    expect(encodeRegister(def('float32'), -2.5)).toEqual([0xc020, 0x0000]);
    expect(encodeRegister(def('float32', { wordOrder: 'little' }), 21.5)).toEqual([0x0000, 0x41ac]);
    // 0.1 is not a binary32 value: it decodes to the nearest one, exactly as a double.
    expect(decodeRegister(def('float32'), [0x3dcc, 0xcccd])).toBe(Math.fround(0.1));
    expect(decodeRegister(def('float32'), [0x7f80, 0x0000])).toBe(Infinity);
    expect(decodeRegister(def('float32'), [0x7fc0, 0x0000])).toBeNaN();
  });

  it('bool and arrays (count > 1)', () => {
    expect(decodeRegister(def('bool'), [1])).toBe(true);
    expect(decodeRegister(def('bool'), [0])).toBe(false);
    expect(decodeRegister(def('bool', { count: 3 }), [1, 0, 1])).toEqual([true, false, true]);
    expect(decodeRegister(def('int16', { count: 3, scale: 0.5 }), [1, 0xffff, 4])).toEqual([0.5, -0.5, 2]);
    expect(decodeRegister(def('uint32', { count: 2 }), [0, 1, 1, 0])).toEqual([1, 65536]);
    expect(encodeRegister(def('bool', { count: 3 }), [true, false, 1])).toEqual([1, 0, 1]);
    expect(encodeRegister(def('int16', { count: 2 }), [-1, 2])).toEqual([0xffff, 2]);
  });

  it('encode rounds to the raw step and refuses values the type cannot hold', () => {
    expect(encodeRegister(def('int16', { scale: 0.1 }), 21.43)).toEqual([214]);
    expect(encodeRegister(def('uint16', { scale: 0.01, offset: -40 }), 25.43)).toEqual([6543]);
    expect(codeOf(() => encodeRegister(def('uint16'), 65536))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('uint16'), -1))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('int16'), 32768))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('uint32'), 2 ** 32))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('int16'), NaN))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('float32'), 1e39))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('uint16'), true))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('bool'), 2))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('int16', { count: 2 }), [1]))).toBe(CommonCode.USAGE);
    expect(codeOf(() => encodeRegister(def('int16', { count: 2 }), 1))).toBe(CommonCode.USAGE);
  });

  it('decode rejects short and long input and words outside 0..65535', () => {
    expect(codeOf(() => decodeRegister(def('float32'), [0x41ac]))).toBe(CommonCode.DECODE_TRUNCATED);
    expect(codeOf(() => decodeRegister(def('int16'), [1, 2]))).toBe(CommonCode.DECODE_TRAILING);
    expect(codeOf(() => decodeRegister(def('int16', { count: 2 }), [1]))).toBe(CommonCode.DECODE_TRUNCATED);
    expect(codeOf(() => decodeRegister(def('uint16'), [65536]))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => decodeRegister(def('uint16'), [-1]))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => decodeRegister(def('uint16'), [1.5]))).toBe(CommonCode.DECODE_VALUE);
  });
});

const order = fc.constantFrom<Order>('big', 'little');
const word = fc.integer({ min: 0, max: 0xffff });
const intType = fc.constantFrom<CodecDef['type']>('int16', 'uint16', 'int32', 'uint32');
/** Scales and offsets a register map would use (decimal steps, unit conversions). */
const niceScale = fc.constantFrom(1, 0.1, 0.01, 0.001, 10, 0.5, 2, -1, 0.25);
const niceOffset = fc.constantFrom(0, -40, 273.15, 1000, -0.5);

describe('register codec properties', () => {
  it('integer types: encode(decode(words)) == words for any orders, count, scale and offset', () => {
    fc.assert(
      fc.property(intType, order, order, fc.integer({ min: 1, max: 4 }), niceScale, niceOffset, fc.array(word, { minLength: 8, maxLength: 8 }), (type, byteOrder, wordOrder, count, scale, offset, pool) => {
        const d = def(type, { byteOrder, wordOrder, count, scale, offset });
        const words = pool.slice(0, count * wordsPerValue(type));
        expect(encodeRegister(d, decodeRegister(d, words))).toEqual(words);
      }),
      { numRuns: 3000 },
    );
  });

  it('float32 without scaling: every non-NaN bit pattern survives decode -> encode', () => {
    fc.assert(
      fc.property(order, order, word, word, (byteOrder, wordOrder, a, b) => {
        const d = def('float32', { byteOrder, wordOrder });
        const v = decodeRegister(d, [a, b]) as number;
        fc.pre(!Number.isNaN(v));
        expect(encodeRegister(d, v)).toEqual([a, b]);
      }),
      { numRuns: 3000 },
    );
  });

  it('values: decode(encode(v)) == v for integers in range and for binary32 values', () => {
    fc.assert(
      fc.property(intType, order, order, fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), (type, byteOrder, wordOrder, n) => {
        const [min, max] = { int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1] }[type as 'int16']!;
        const v = Math.min(max!, Math.max(min!, n));
        const d = def(type, { byteOrder, wordOrder });
        expect(decodeRegister(d, encodeRegister(d, v))).toBe(v);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(order, order, fc.float({ noNaN: true }), (byteOrder, wordOrder, f) => {
        const d = def('float32', { byteOrder, wordOrder });
        expect(Object.is(decodeRegister(d, encodeRegister(d, f)), f)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('bool arrays round trip', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 2, maxLength: 64 }), (bits) => {
        const d = def('bool', { count: bits.length });
        expect(decodeRegister(d, encodeRegister(d, bits))).toEqual(bits);
      }),
    );
  });
});

describe('register codec junk input', () => {
  it('10,000+ random definitions and word arrays: a value or a DecodeError, nothing else', () => {
    const anyType = fc.constantFrom<CodecDef['type']>('int16', 'uint16', 'int32', 'uint32', 'float32', 'bool');
    const junkWord = fc.oneof(word, fc.integer(), fc.double(), fc.constantFrom(NaN, Infinity, -1, 65536, 0.5));
    let decoded = 0;
    let refused = 0;
    fc.assert(
      fc.property(anyType, order, order, fc.integer({ min: 1, max: 6 }), fc.double({ noNaN: true, min: -1e6, max: 1e6 }), fc.array(junkWord, { maxLength: 14 }), (type, byteOrder, wordOrder, count, scale, words) => {
        const d = def(type, { byteOrder, wordOrder, count, scale: scale === 0 ? 1 : scale });
        try {
          const v = decodeRegister(d, words);
          decoded++;
          expect(count === 1 ? typeof v !== 'object' : Array.isArray(v) && v.length === count).toBe(true);
        } catch (e) {
          refused++;
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 12_000 },
    );
    expect(decoded).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('mutated valid inputs (a word dropped, added or corrupted): only typed errors', () => {
    fc.assert(
      fc.property(fc.constantFrom<CodecDef['type']>('int16', 'int32', 'float32', 'bool'), fc.integer({ min: 1, max: 4 }), fc.array(word, { minLength: 8, maxLength: 8 }), fc.nat(), fc.constantFrom('drop', 'add', 'corrupt'), (type, count, pool, at, how) => {
        const d = def(type, { count });
        const words = pool.slice(0, count * wordsPerValue(type));
        const i = at % words.length;
        const mutated = how === 'drop' ? words.filter((_, j) => j !== i) : how === 'add' ? [...words, pool[7]!] : words.map((w, j) => (j === i ? w + 0x1_0000 : w));
        expect(() => decodeRegister(d, mutated)).toThrow(CodedError);
      }),
      { numRuns: 10_000 },
    );
  });
});
