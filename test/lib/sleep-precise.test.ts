// sleepPrecise (src/lib/clock.ts): the RTU master's t3.5 wait. What can be asserted without a
// wall-clock threshold: it never ends early, whatever the length (below, at and above the futex
// tail and its spin, and across timer boundaries), and a fake clock is waited on rather than the
// real time.

import { describe, expect, it } from 'vitest';
import { PRECISE_SPIN_MS, PRECISE_TAIL_MS, sleepPrecise, systemClock } from '../../src/lib/clock.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('sleepPrecise', () => {
  it.each([0, 0.05, PRECISE_SPIN_MS, 0.3, PRECISE_TAIL_MS, 1.75, 2.005, 3.2])('never ends before %s ms have passed on the system clock', async (ms) => {
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await sleepPrecise(systemClock, ms);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(ms);
    }
  });

  it('on a fake clock it waits for the clock, not for real time', async () => {
    const clock = new FakeClock();
    let done = false;
    void sleepPrecise(clock, 1.75).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false);
    clock.advance(1.75);
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(true);
  });
});
