// The response-time recorder (ports/modbus/response-times.ts): min/avg/max exact, p99 from a fixed
// log-scale histogram within one 5% bucket of the exact nearest-rank p99 (property), histograms that
// merge as if all samples had gone into one, and junk samples ignored.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ResponseTimes } from '../../../src/ports/modbus/response-times.js';

/** Nearest-rank 99th percentile: the smallest sample with at least 99% of the samples at or below it. */
function exactP99(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length) - 1]!;
}

function recorded(xs: readonly number[]): ResponseTimes {
  const r = new ResponseTimes();
  for (const x of xs) r.record(x);
  return r;
}

/** Samples spread over the whole range on a log scale (0.01 ms .. 60 s), as response times are. */
const sample = fc.double({ min: Math.log(0.01), max: Math.log(60_000), noNaN: true }).map(Math.exp);
/** Lots of close values with a tail, so the 99th percentile falls inside a cluster. */
const clustered = fc.tuple(fc.double({ min: 0.5, max: 500, noNaN: true }), fc.array(fc.double({ min: 0, max: 0.2, noNaN: true }), { minLength: 1, maxLength: 400 })).map(([base, jitter]) => jitter.map((j) => base * (1 + j)));

describe('ResponseTimes', () => {
  it('nothing recorded: every figure is null, n is 0', () => {
    expect(new ResponseTimes().summary()).toEqual({ n: 0, min: null, avg: null, p99: null, max: null });
    expect(new ResponseTimes().p99()).toBeNull();
  });

  it('min, avg and max are exact; p99 is the nearest-rank sample to within its bucket', () => {
    const xs = [...Array.from({ length: 99 }, () => 10), 200];
    const s = recorded(xs).summary();
    expect(s).toMatchObject({ n: 100, min: 10, max: 200, avg: 11.9 });
    // Rank 99 of 100 is a 10 ms sample (nearest rank), not the 200 ms one: 10 ms to within 5%.
    expect(s.p99).toBeGreaterThanOrEqual(10);
    expect(s.p99).toBeLessThan(10.5);
    const tail = recorded([...xs, 200]).summary().p99!; // rank 100 of 101 is a 200 ms sample
    expect(tail).toBeGreaterThan(200 / 1.05);
    expect(tail).toBeLessThanOrEqual(200);
  });

  it('p99 is within one 5% bucket of the exact p99 and inside [min, max] (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(sample, { minLength: 1, maxLength: 500 }), clustered), (xs) => {
        const r = recorded(xs);
        const est = r.p99()!;
        const exact = exactP99(xs);
        expect(est).toBeGreaterThanOrEqual(Math.min(...xs));
        expect(est).toBeLessThanOrEqual(Math.max(...xs));
        if (exact >= 0.1) {
          expect(est / exact).toBeGreaterThanOrEqual(1 / 1.05);
          expect(est / exact).toBeLessThanOrEqual(1.05);
        } else {
          expect(Math.abs(est - exact)).toBeLessThanOrEqual(0.1); // the one bucket below 0.1 ms
        }
      }),
      { numRuns: 300 },
    );
  });

  it('merged histograms give what one recorder of all the samples gives (property)', () => {
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 200 }), fc.array(sample, { maxLength: 200 }), (a, b) => {
        const merged = recorded(a).merge(recorded(b));
        const one = recorded([...a, ...b]);
        expect(merged.p99()).toBe(one.p99());
        const [m, o] = [merged.summary(), one.summary()];
        expect({ n: m.n, min: m.min, max: m.max, p99: m.p99 }).toEqual({ n: o.n, min: o.min, max: o.max, p99: o.p99 });
        if (o.avg !== null) expect(m.avg!).toBeCloseTo(o.avg, 1);
      }),
      { numRuns: 100 },
    );
  });

  it('samples past 60 s and below 0.1 ms are kept in the open-ended buckets; junk samples are ignored', () => {
    const r = recorded([120_000, 120_000, 0.02, NaN, -5, Infinity]);
    expect(r.summary()).toEqual({ n: 3, min: 0.02, avg: 80_000.01, p99: 120_000, max: 120_000 });
    expect(recorded([0.03, 0.03]).summary().p99).toBe(0.03);
  });

  it('a million samples (uniform 1..1000 ms): exact min, avg, max and p99 within 5% of 990', () => {
    const r = new ResponseTimes();
    for (let i = 0; i < 1_000_000; i++) r.record((i % 1000) + 1);
    const s = r.summary();
    expect(s).toMatchObject({ n: 1_000_000, min: 1, max: 1000, avg: 500.5 });
    expect(s.p99! / 990).toBeGreaterThan(1 / 1.05);
    expect(s.p99! / 990).toBeLessThan(1.05);
  });
});
