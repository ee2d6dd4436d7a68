import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { REPLAY_DUPLICATE, REPLAY_NEW, REPLAY_TOO_OLD, ReplayWindow } from '../../../src/uzp/blocks/replay.js';
import { REPLAY_WINDOW } from '../../../src/uzp/blocks/constants.js';

/** Reference model: a set of every number ever accepted, and the same window rule. */
class Model {
  private readonly seen = new Set<number>();
  private top = -1;
  check(n: number): number {
    if (n > this.top) return REPLAY_NEW;
    if (this.top - n >= REPLAY_WINDOW) return REPLAY_TOO_OLD;
    return this.seen.has(n) ? REPLAY_DUPLICATE : REPLAY_NEW;
  }
  mark(n: number): void {
    this.seen.add(n);
    if (n > this.top) this.top = n;
  }
}

describe('ReplayWindow', () => {
  it('holds at least 8,128 numbers (8,160: 255 words of 32 bits)', () => {
    expect(REPLAY_WINDOW).toBe(8160);
    expect(REPLAY_WINDOW).toBeGreaterThanOrEqual(8128);
    const w = new ReplayWindow();
    w.mark(10_000);
    expect(w.check(10_000 - 8159)).toBe(REPLAY_NEW);
    expect(w.check(10_000 - 8160)).toBe(REPLAY_TOO_OLD);
    w.mark(10_000 - 8159);
    expect(w.check(10_000 - 8159)).toBe(REPLAY_DUPLICATE);
  });

  it('accepts each number once, in any order within the window', () => {
    const w = new ReplayWindow();
    expect(w.check(0)).toBe(REPLAY_NEW);
    w.mark(0);
    expect(w.check(0)).toBe(REPLAY_DUPLICATE);
    w.mark(5);
    expect(w.check(3)).toBe(REPLAY_NEW);
    w.mark(3);
    expect([0, 3, 5].map((n) => w.check(n))).toEqual([REPLAY_DUPLICATE, REPLAY_DUPLICATE, REPLAY_DUPLICATE]);
    expect([1, 2, 4, 6].map((n) => w.check(n))).toEqual([REPLAY_NEW, REPLAY_NEW, REPLAY_NEW, REPLAY_NEW]);
  });

  it('a jump larger than the ring clears every stale bit', () => {
    const w = new ReplayWindow();
    for (let n = 0; n < 300; n++) w.mark(n);
    w.mark(100_000);
    // the same ring slots as 0..299, now inside the window again: they must read as unseen
    for (let n = 100_000 - 8159; n < 100_000; n++) expect(w.check(n)).toBe(REPLAY_NEW);
  });

  it('handles numbers above 2^32 and near 2^53 (no 32-bit truncation)', () => {
    const w = new ReplayWindow();
    const big = 2 ** 40 + 17;
    w.mark(big);
    expect(w.check(big)).toBe(REPLAY_DUPLICATE);
    expect(w.check(big - 2 ** 32)).toBe(REPLAY_TOO_OLD);
    expect(w.check(17)).toBe(REPLAY_TOO_OLD);
    const top = Number.MAX_SAFE_INTEGER;
    w.mark(top - 1);
    expect(w.check(top)).toBe(REPLAY_NEW);
    expect(w.check(top - 1)).toBe(REPLAY_DUPLICATE);
    expect(w.check(top - 2)).toBe(REPLAY_NEW);
  });

  it('agrees with a reference model on random sequences (check, then mark only if new)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 40 }), // small steps: dense duplicates
            fc.integer({ min: -9000, max: 9000 }), // around the window edge
            fc.integer({ min: 0, max: 40_000 }), // jumps over the ring
          ),
          { maxLength: 400 },
        ),
        fc.boolean(),
        (steps, relative) => {
          const w = new ReplayWindow();
          const m = new Model();
          let base = 0;
          for (const s of steps) {
            const n = relative ? Math.max(0, base + s) : Math.abs(s);
            const v = w.check(n);
            expect(v).toBe(m.check(n));
            if (v === REPLAY_NEW && (n + s) % 3 !== 0) {
              // some new numbers are not marked: like blocks that failed authentication
              w.mark(n);
              m.mark(n);
              base = Math.max(base, n);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
