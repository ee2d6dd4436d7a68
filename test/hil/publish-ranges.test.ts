// Receipt ranges (src/hil/publish-ranges.ts): `covers` (sorted, merged runs, binary search) answers
// exactly as the plain definition does — every row in some range of its (slot, epoch) — for any
// ranges, overlapping, adjacent, unsorted or empty, and `rangesOf` of the rows always covers them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WireReading } from '../../src/hil/publish-messages.js';
import { covers, rangesOf, type ReceiptRange } from '../../src/hil/publish-ranges.js';

const slotArb = fc.constantFrom('a', 'b', 'c');
const epochArb = fc.integer({ min: 0, max: 2 });
const seqArb = fc.integer({ min: 0, max: 60 });
const rangeArb: fc.Arbitrary<ReceiptRange> = fc.record({ slot: slotArb, epoch: epochArb, first: seqArb, len: fc.integer({ min: 0, max: 8 }) }).map(({ slot, epoch, first, len }) => ({ slot, epoch, first, last: first + len }));
const rowArb: fc.Arbitrary<WireReading> = fc.record({ slot: slotArb, epoch: epochArb, seq: seqArb }).map(({ slot, epoch, seq }) => ({ slot, device: 'd', kind: 'serial', epoch, seq, ts: 0, value: new Uint8Array(0) }));

/** The definition, checked row by row against every range. */
function plainCovers(ranges: readonly ReceiptRange[], rows: readonly WireReading[]): boolean {
  return rows.every((r) => ranges.some((g) => g.slot === r.slot && g.epoch === r.epoch && r.seq >= g.first && r.seq <= g.last));
}

describe('receipt ranges', () => {
  it('covers() agrees with the definition (property)', () => {
    fc.assert(
      fc.property(fc.array(rangeArb, { maxLength: 30 }), fc.array(rowArb, { maxLength: 40 }), (ranges, rows) => {
        expect(covers(ranges, rows)).toBe(plainCovers(ranges, rows));
      }),
      { numRuns: 2_000 },
    );
  });

  it('rangesOf() of any rows covers them, and no other seq of their (slot, epoch) (property)', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 40 }), rowArb, (rows, probe) => {
        const ranges = rangesOf(rows);
        expect(covers(ranges, rows)).toBe(true);
        const present = rows.some((r) => r.slot === probe.slot && r.epoch === probe.epoch && r.seq === probe.seq);
        expect(covers(ranges, [probe])).toBe(present);
      }),
      { numRuns: 1_000 },
    );
  });

  it('edges: no ranges, no rows, adjacent runs merged, seqs near 2^53', () => {
    const row = (seq: number, slot = 'a'): WireReading => ({ slot, device: 'd', kind: 'serial', epoch: 1, seq, ts: 0, value: new Uint8Array(0) });
    expect(covers([], [])).toBe(true);
    expect(covers([], [row(0)])).toBe(false);
    const r = (first: number, last: number): ReceiptRange => ({ slot: 'a', epoch: 1, first, last });
    expect(covers([r(5, 9), r(0, 4)], [row(0), row(4), row(5), row(9)])).toBe(true);
    expect(covers([r(5, 9), r(0, 3)], [row(4)])).toBe(false);
    const top = Number.MAX_SAFE_INTEGER;
    expect(covers([r(top - 1, top)], [row(top), row(top - 1)])).toBe(true);
    expect(covers([r(top - 1, top)], [row(top, 'b')])).toBe(false);
  });
});
