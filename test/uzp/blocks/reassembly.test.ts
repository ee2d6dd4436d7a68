// Reassembly's bounds against an authenticated but hostile peer: fragments that cost nothing
// (empty, without FIN), many channels part-way through a message, and small fragments that would
// keep whole block plaintexts alive. And what a legitimate sender does still reassembles.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FRAGMENT_MIN_CHARGE, MAX_PARTIAL_MESSAGES, Reassembly } from '../../../src/uzp/blocks/reassembly.js';

const MAX = 1024 * 1024;

/** A view of `n` bytes into a fresh 64 KiB "block plaintext", as the engine hands fragments over. */
function inBlock(n: number, fill = 1): Uint8Array {
  const pt = new Uint8Array(64 * 1024).fill(fill);
  return pt.subarray(100, 100 + n);
}

describe('Reassembly bounds', () => {
  it('empty fragments without FIN are not free: the bound stops them', () => {
    const r = new Reassembly(MAX);
    let n = 0;
    while (r.add(7, new Uint8Array(0), false) === undefined) if (++n > 1_000_000) break;
    expect(n).toBe(MAX / FRAGMENT_MIN_CHARGE); // without the charge: never stopped
  });

  it(`at most ${MAX_PARTIAL_MESSAGES} channels part-way through a message`, () => {
    const r = new Reassembly(MAX);
    for (let ch = 0; ch < MAX_PARTIAL_MESSAGES; ch++) expect(r.add(ch, inBlock(1), false)).toBeUndefined();
    expect(r.add(MAX_PARTIAL_MESSAGES, inBlock(1), false)).toBeNull();
    // Finishing one makes room for another.
    expect(r.add(0, Uint8Array.of(9), true)).toEqual(Uint8Array.of(1, 9));
    expect(r.add(MAX_PARTIAL_MESSAGES, inBlock(1), false)).toBeUndefined();
  });

  it('a small fragment is copied rather than keep its block plaintext; a large one stays a view', () => {
    const r = new Reassembly(MAX);
    const small = inBlock(10);
    const large = inBlock(60 * 1024, 2);
    r.add(1, small, false);
    r.add(2, large, false);
    const parts = (r as unknown as { partial: Map<number, { parts: Uint8Array[] }> }).partial;
    expect(parts.get(1)!.parts[0]!.buffer).not.toBe(small.buffer);
    expect(parts.get(1)!.parts[0]!.buffer.byteLength).toBe(10);
    expect(parts.get(2)!.parts[0]!.buffer).toBe(large.buffer);
  });

  it('one message over maxMessageBytes, in pieces, is refused', () => {
    const r = new Reassembly(1000);
    expect(r.add(1, new Uint8Array(600), false)).toBeUndefined();
    expect(r.add(1, new Uint8Array(401), true)).toBeNull();
  });

  it('messages cut anywhere (pieces of 64 bytes and more) reassemble exactly, up to maxMessageBytes (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.array(fc.integer({ min: 64, max: 3000 }), { minLength: 1, maxLength: 30 }), (total, cuts) => {
        const r = new Reassembly(4096);
        const msg = Uint8Array.from({ length: total }, (_, i) => (i * 31) & 0xff);
        let off = 0;
        let out: Uint8Array | undefined | null;
        for (const c of cuts) {
          const end = Math.min(total, off + c);
          out = r.add(3, msg.subarray(off, end), end === total);
          off = end;
          if (end === total) break;
          expect(out).toBeUndefined();
        }
        if (off < total) out = r.add(3, msg.subarray(off), true);
        expect(out).toEqual(msg);
        expect(r.bytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
