// The early-data strike register (src/uzp/resumption/strike-register.ts): a ticket is accepted once
// until it expires, a full register refuses rather than forgets a live ticket, and expired entries
// make room again; under any sequence of admissions it never holds more than its capacity and never
// calls a live ticket fresh twice (fast-check).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StrikeRegister } from '../../../src/uzp/resumption/strike-register.js';

const id = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff, ...new Array<number>(14).fill(0));

describe('strike register', () => {
  it('a ticket is fresh once, then replayed until it expires; an expired ticket is refused, not recorded', () => {
    const r = new StrikeRegister(8);
    expect(r.admit(id(1), 1000, 0)).toBe('fresh');
    expect(r.admit(id(1), 1000, 10)).toBe('replayed');
    expect(r.admit(id(1), 1000, 999)).toBe('replayed');
    expect(r.admit(id(1), 1000, 1000)).toBe('expired');
    expect(r.admit(id(2), 500, 600)).toBe('expired');
    expect(r.size).toBe(1);
  });

  it('full: refuses a new ticket (fail closed) while every entry is live; expired ones make room', () => {
    const r = new StrikeRegister(3);
    for (let i = 0; i < 3; i++) expect(r.admit(id(i), 100 + i, 0)).toBe('fresh');
    expect(r.admit(id(9), 1000, 50)).toBe('full');
    expect(r.admit(id(0), 100, 50)).toBe('replayed'); // still remembered
    expect(r.admit(id(9), 1000, 101)).toBe('fresh'); // ids 0 and 1 expired and were swept
    expect(r.size).toBe(2);
  });

  it('any sequence: at most `capacity` entries, and no live ticket is fresh twice', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 5 })), { maxLength: 200 }), (ops) => {
        const r = new StrikeRegister(8);
        const acceptedUntil = new Map<number, number>();
        let now = 0;
        for (const [n, life, step] of ops) {
          now += step;
          const v = r.admit(id(n), now + life, now);
          if (v === 'fresh') {
            const until = acceptedUntil.get(n);
            expect(until === undefined || until <= now).toBe(true);
            acceptedUntil.set(n, now + life);
          }
          expect(r.size).toBeLessThanOrEqual(8);
        }
      }),
      { numRuns: 300 },
    );
  });
});
