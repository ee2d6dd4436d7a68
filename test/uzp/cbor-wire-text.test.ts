// What a decoder's refusal quotes of its input is cut (src/lib/wire-text.ts): these messages reach
// logs and the HIL audit, and the input is the peer's. One HIL frame with a 900 KiB unknown key
// made a 921,921-byte audit line (found by review).

import { describe, expect, it } from 'vitest';
import { asMap, decodeCanonical, onlyKeys } from '../../src/uzp/cbor.js';
import { DecodeError } from '../../src/lib/errors.js';
import { ErrorCode } from '../../src/uzp/errors.js';

const refusal = (f: () => unknown): DecodeError => {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('not refused');
};

/** A CBOR text string head for `n` bytes (n < 2^32). */
const textHead = (n: number): number[] => (n < 24 ? [0x60 | n] : n < 0x100 ? [0x78, n] : n < 0x10000 ? [0x79, n >> 8, n & 0xff] : [0x7a, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);

describe('decoder refusals quote a bounded part of the input', () => {
  it('onlyKeys: an unknown key of 900 KiB is named by its first characters and its length', () => {
    const key = 'k'.repeat(900 * 1024);
    const e = refusal(() => onlyKeys({ t: 'req', [key]: 0 }, ['t'], 'req'));
    expect(e.code).toBe('DECODE_VALUE');
    expect(e.message).toBe(`req: unknown field "${'k'.repeat(64)}"…(${key.length} chars)`);
    // A short key is quoted whole, as before.
    expect(refusal(() => onlyKeys({ t: 'req', x: 0 }, ['t'], 'req')).message).toBe('req: unknown field "x"');
  });

  it("cborg's message quoting a repeated map key of 100 KiB is cut", () => {
    const key = Buffer.from('r'.repeat(100 * 1024));
    const entry = [...textHead(key.length), ...key, 0x00];
    const bytes = Uint8Array.from([0xa2, ...entry, ...entry]);
    const e = refusal(() => asMap(decodeCanonical(bytes), 'm'));
    expect(e.code).toBe(ErrorCode.CBOR_INVALID);
    expect(e.message).toMatch(/^invalid CBOR: .*repeat map key/);
    expect(e.message.length).toBeLessThan(256);
  });
});
