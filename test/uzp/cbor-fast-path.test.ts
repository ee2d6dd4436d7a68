// The strict fast path of decodeCanonical (readProfileValue, src/uzp/cbor-reader.ts) against the
// cborg path it stands in for: whatever the fast path reads, the cborg path reads to the same value
// and the input is that value's canonical encoding; whatever it leaves (UNREAD) still gets the
// cborg path's refusal with its code. Vectors, properties over profile values, mutations, junk.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readProfileValue, UNREAD } from '../../src/uzp/cbor-reader.js';
import { decodeCanonical, decodeWithCborg, encodeCanonical, type CborValue } from '../../src/uzp/cbor.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { CodedError } from '../../src/lib/errors.js';
import { applyOps } from './artefacts/arbitraries.js';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    if (!(e instanceof CodedError)) throw e;
    return e.code;
  }
};

/** Texts with a leading U+FEFF are left to cborg (vectors below), so the round trip leaves them out. */
const noBom = (a: fc.Arbitrary<string>): fc.Arbitrary<string> => a.filter((t) => t.charCodeAt(0) !== 0xfeff);

const valueArb: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -24, -25, -256, -257, -(2 ** 32), -(2 ** 32) - 1),
    fc.boolean(),
    fc.constant(null),
    noBom(fc.string({ maxLength: 30 })),
    noBom(fc.string({ unit: 'grapheme', maxLength: 10 })),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 5 }),
    // Plain objects, as both decoders give (fc.dictionary makes null-prototype ones).
    fc
      .dictionary(noBom(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('a', 'b', 'aa', 'constructor', 'toString', 'x'.repeat(30)))).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 6 })
      .map((o) => ({ ...o })),
  ),
})).v;

describe('readProfileValue: vectors', () => {
  const read: [string, CborValue][] = [
    ['a0', {}],
    ['80', []],
    ['20', -1],
    ['3903e7', -1000],
    ['1b001fffffffffffff', 2 ** 53 - 1],
    ['3b001ffffffffffffe', -(2 ** 53) + 1],
    ['f6', null],
    ['f5', true],
    ['43010203', Uint8Array.of(1, 2, 3)],
    ['a2616101616202', { a: 1, b: 2 }],
    ['a26161016261610f', { a: 1, aa: 15 }], // shorter key first: its encoding sorts first
    ['826161a16162f4', ['a', { b: false }]],
  ];
  it.each(read)('%s is read as the cborg path reads it', (hex, value) => {
    const b = fromHex(hex);
    expect(readProfileValue(b, 16)).toEqual(value);
    expect(decodeWithCborg(b)).toEqual(value);
    expect(toHex(encodeCanonical(value))).toBe(hex);
  });

  const left: [string, string, string][] = [
    ['1805', 'a non-shortest head', ErrorCode.CBOR_INVALID],
    ['5801ff', 'a non-shortest length', ErrorCode.CBOR_INVALID],
    ['a2616201616101', 'keys out of order', ErrorCode.CBOR_NON_CANONICAL],
    ['a2616101616102', 'a duplicate key', ErrorCode.CBOR_INVALID],
    ['9f01ff', 'an indefinite length', ErrorCode.CBOR_INVALID],
    ['0101', 'bytes after the value', ErrorCode.CBOR_INVALID],
    ['f93c00', 'a float', ErrorCode.CBOR_INVALID],
    ['c001', 'a tag', ErrorCode.CBOR_INVALID],
    ['f7', 'undefined', ErrorCode.CBOR_INVALID],
    ['1b0020000000000000', 'an integer past 2^53', ErrorCode.CBOR_INVALID],
    ['62c328', 'invalid UTF-8', ErrorCode.CBOR_NON_CANONICAL],
    ['84010203', 'truncated', ErrorCode.CBOR_INVALID],
    ['a163efbbbf01', 'a key starting with U+FEFF', ErrorCode.CBOR_NON_CANONICAL],
    ['64efbbbf61', 'a text starting with U+FEFF', ErrorCode.CBOR_NON_CANONICAL],
    ['', 'nothing', ErrorCode.CBOR_INVALID],
  ];
  it.each(left)('%s (%s) is left to the cborg path, which refuses it as before', (hex, _why, code) => {
    const b = fromHex(hex);
    expect(readProfileValue(b, 16)).toBe(UNREAD);
    expect(codeOf(() => decodeCanonical(b))).toBe(code);
    expect(codeOf(() => decodeWithCborg(b))).toBe(code);
  });

  it('a text value starting with U+FEFF is left to cborg, whatever it makes of it', () => {
    for (const t of ['\ufeffa', '\ufeff' + 'x'.repeat(100)]) {
      const b = encodeCanonical(t);
      expect(readProfileValue(b, 16)).toBe(UNREAD);
      expect(codeOf(() => decodeCanonical(b))).toBe(codeOf(() => decodeWithCborg(b)));
    }
  });

  it('nesting: up to maxDepth is read, one deeper is left to cborg, which refuses it', () => {
    const nest = (n: number): CborValue => (n === 0 ? 1 : [nest(n - 1)]);
    expect(readProfileValue(encodeCanonical(nest(4)), 4)).toEqual(nest(4));
    expect(readProfileValue(encodeCanonical(nest(5)), 4)).toBe(UNREAD);
    expect(codeOf(() => decodeCanonical(encodeCanonical(nest(5)), 4))).toBe(ErrorCode.CBOR_INVALID);
  });

  it('a __proto__ key is left to cborg (never an object with another prototype)', () => {
    const b = fromHex('a1695f5f70726f746f5f5f01');
    expect(readProfileValue(b, 16)).toBe(UNREAD);
  });

  it('byte strings are copies: changing one leaves the input as it was', () => {
    const b = fromHex('a161614401020304');
    const v = decodeCanonical(b) as { a: Uint8Array };
    v.a[0] = 0xff;
    expect(toHex(b)).toBe('a161614401020304');
  });
});

describe('readProfileValue: properties', () => {
  it('reads every canonical encoding of a profile value back to that value, as the cborg path does', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const b = encodeCanonical(v);
        const fast = readProfileValue(b, 32);
        expect(fast).toEqual(v);
        expect(fast).toEqual(decodeWithCborg(b, 32));
      }),
      { numRuns: 2000 },
    );
  });

  /** Whatever the fast path reads is exactly what the cborg path reads, and its canonical encoding. */
  const agrees = (b: Uint8Array): void => {
    let fast: ReturnType<typeof readProfileValue>;
    expect(() => (fast = readProfileValue(b, 16))).not.toThrow();
    if (fast! === UNREAD) return;
    expect(decodeWithCborg(b, 16)).toEqual(fast!);
    expect(toHex(encodeCanonical(fast!))).toBe(toHex(b));
  };

  it('on mutations of valid encodings it reads only what the cborg path reads, to the same value', () => {
    const ops = fc.array(
      fc.oneof(
        fc.record({ k: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ k: fc.constant('set' as const), pos: fc.nat(), val: fc.constantFrom(0x00, 0x17, 0x18, 0x19, 0x1b, 0x20, 0x38, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xf4, 0xf6, 0xf7, 0xf9, 0xff) }),
        fc.record({ k: fc.constant('ins' as const), pos: fc.nat(), b: fc.uint8Array({ minLength: 1, maxLength: 3 }) }),
        fc.record({ k: fc.constant('del' as const), pos: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
        fc.record({ k: fc.constant('cut' as const), n: fc.nat() }),
      ),
      { minLength: 1, maxLength: 3 },
    );
    fc.assert(
      fc.property(valueArb, ops, (v, o) => agrees(applyOps(encodeCanonical(v), o))),
      { numRuns: 5000 },
    );
  });

  it('on junk it never throws and reads only what the cborg path reads', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), agrees), { numRuns: 5000 });
  });
});

// The float profile (HIL messages, docs/PROFILE.md §HIL "Numbers"): the fast path reads floats in
// the width cborg's encoder gives them and leaves every other width, NaN and the infinities to
// the cborg path, whose re-encoding check decides.
describe('readProfileValue: floats (HIL profile)', () => {
  const F = { floats: true };
  const read: [string, number][] = [
    ['f93e00', 1.5],
    ['f9c100', -2.5],
    ['f93c00', 1], // an integral float, accepted as a float in its shortest form
    ['f98000', -0],
    ['f90000', 0],
    ['f97bff', 65504],
    ['fa47800000', 65536],
    ['fa3dcccccd', Math.fround(0.1)],
    ['fb3fb999999999999a', 0.1],
    ['fb4035666666666666', 21.4],
    ['f90400', 2 ** -14], // the smallest normal half
    ['f90001', 2 ** -24], // a half subnormal that is a power of two: cborg's encoder keeps it a half
    ['f90200', 2 ** -15],
  ];
  it.each(read)('%s is read as the cborg path reads it', (hex, value) => {
    const b = fromHex(hex);
    expect(Object.is(readProfileValue(b, 16, true), value)).toBe(true);
    expect(Object.is(decodeWithCborg(b, 16, F), value)).toBe(true);
    expect(Object.is(decodeCanonical(b, 16, F), value)).toBe(true);
  });

  const left: [string, string, string | undefined][] = [
    ['fa3fc00000', '1.5 as a single', ErrorCode.CBOR_NON_CANONICAL],
    ['fb3ff8000000000000', '1.5 as a double', ErrorCode.CBOR_NON_CANONICAL],
    ['fb3fb99999a0000000', 'a single-precision value as a double', ErrorCode.CBOR_NON_CANONICAL],
    ['f97c00', 'infinity', ErrorCode.CBOR_INVALID],
    ['f97e00', 'NaN', ErrorCode.CBOR_INVALID],
    ['f90003', 'a half subnormal that is not a power of two', ErrorCode.CBOR_NON_CANONICAL],
    ['fa33800000', '2^-24 as a single', ErrorCode.CBOR_NON_CANONICAL],
    ['f93e', 'a truncated half', ErrorCode.CBOR_INVALID],
    ['fb3ff80000', 'a truncated double', ErrorCode.CBOR_INVALID],
  ];
  it.each(left)('%s (%s) is left to the cborg path', (hex, _why, code) => {
    const b = fromHex(hex);
    expect(readProfileValue(b, 16, true)).toBe(UNREAD);
    expect(codeOf(() => decodeCanonical(b, 16, F))).toBe(code);
    expect(codeOf(() => decodeWithCborg(b, 16, F))).toBe(code);
  });

  it('without the float profile every float is left to cborg, which refuses it', () => {
    for (const hex of ['f93e00', 'fa47800000', 'fb3fb999999999999a']) {
      expect(readProfileValue(fromHex(hex), 16)).toBe(UNREAD);
      expect(codeOf(() => decodeCanonical(fromHex(hex)))).toBe(ErrorCode.CBOR_INVALID);
    }
  });

  const floatArb = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround),
    fc.integer({ min: -2048, max: 2048 }).map((n) => n / 64),
    fc.integer({ min: -30, max: 16 }).map((e) => 2 ** e),
    fc.constantFrom(0.1, 21.5, 1e-300, 5e-324, 1e300, 65504, 65520, 2 ** -24, 3 * 2 ** -24, 2 ** -149),
  );
  const readingArb = fc.record({ t: fc.constant('reading'), v: floatArb.filter((x) => !Number.isInteger(x)), seq: fc.nat(), tags: fc.array(floatArb.filter((x) => !Number.isInteger(x)), { maxLength: 3 }) }).map((o) => ({ ...o }));

  it('reads the canonical encoding of any non-integral float back to it, as the cborg path does', () => {
    fc.assert(
      fc.property(readingArb, (v) => {
        const b = encodeCanonical(v as unknown as CborValue, F);
        const fast = readProfileValue(b, 16, true);
        expect(fast).toEqual(v);
        expect(decodeWithCborg(b, 16, F)).toEqual(fast);
      }),
      { numRuns: 3000 },
    );
  });

  /** Every width of every float: the fast path reads it only where the cborg path accepts the same value. */
  it('each float in each width: read by the fast path exactly when the cborg path accepts it', () => {
    const widths = (x: number): Uint8Array[] => {
      const out: Uint8Array[] = [];
      const d = new DataView(new ArrayBuffer(9));
      d.setUint8(0, 0xfb);
      d.setFloat64(1, x);
      out.push(new Uint8Array(d.buffer.slice(0, 9)));
      if (Math.fround(x) === x) {
        d.setUint8(0, 0xfa);
        d.setFloat32(1, x);
        out.push(new Uint8Array(d.buffer.slice(0, 5)));
      }
      return out;
    };
    fc.assert(
      fc.property(floatArb, fc.integer({ min: 0, max: 0xffff }), (x, half) => {
        for (const b of [...widths(x), Uint8Array.of(0xf9, half >> 8, half & 0xff)]) {
          const fast = readProfileValue(b, 16, true);
          let slow: unknown;
          const code = codeOf(() => (slow = decodeWithCborg(b, 16, F)));
          if (fast === UNREAD) continue;
          expect(code).toBeUndefined();
          expect(Object.is(slow, fast)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('on junk it never throws and reads only what the cborg path reads', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (b) => {
        const fast = readProfileValue(b, 16, true);
        if (fast === UNREAD) return;
        expect(decodeWithCborg(b, 16, F)).toEqual(fast);
      }),
      { numRuns: 3000 },
    );
  });
});
