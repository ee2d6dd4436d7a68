// The simulator's precise clock (src/sim/precise-clock.ts): never fires before its deadline (the
// property a t3.5 silence needs), fires in order, and a cancelled wait never fires. Lower bounds
// only: how late a wait ends depends on the machine.

import { describe, expect, it } from 'vitest';
import { preciseClock } from '../../src/sim/precise-clock.js';

const wait = (ms: number): Promise<number> =>
  new Promise((resolve) => {
    const t0 = performance.now();
    preciseClock.setTimeout(() => resolve(performance.now() - t0), ms);
  });

describe('precise clock', () => {
  it('fires no earlier than asked, for sub-millisecond and longer waits', async () => {
    for (const ms of [0, 0.3, 1.75, 2.005, 4]) expect(await wait(ms)).toBeGreaterThanOrEqual(ms);
  });

  it('fires waits in deadline order and never a cancelled one', async () => {
    const order: string[] = [];
    const cancel = preciseClock.setTimeout(() => order.push('cancelled'), 1);
    // 50 ms apart: a process preempted between these two lines (a loaded CI core) cannot flip them.
    preciseClock.setTimeout(() => order.push('late'), 50);
    preciseClock.setTimeout(() => order.push('early'), 0.5);
    cancel();
    await wait(60);
    expect(order).toEqual(['early', 'late']);
  });

  it('keeps deadline order when the loop stalls past both deadlines', async () => {
    // A stall (GC, a loaded CI core) makes the later wait's timer and the earlier wait's
    // setImmediate come due in the same loop turn; the timer phase runs first.
    // Each deadline is taken when setTimeout is called: a CPU that preempts this test between the
    // two calls for longer than their difference (it happened once in CI, 1.8 ms) really does
    // make "late" the earlier deadline. The expected order comes from when the calls ran.
    const order: string[] = [];
    const t0 = performance.now();
    preciseClock.setTimeout(() => order.push('late'), 20);
    preciseClock.setTimeout(() => order.push('early'), 0.2);
    const t1 = performance.now();
    const stallUntil = performance.now() + 25;
    while (performance.now() < stallUntil) {
      /* busy: the event loop cannot run */
    }
    await wait(3);
    // late's deadline is at least t0 + 20, early's at most t1 + 0.2: unless the two calls were more
    // than 19.8 ms apart, early's deadline is the earlier one.
    if (t1 - t0 < 19.8) expect(order).toEqual(['early', 'late']);
    else expect([...order].sort()).toEqual(['early', 'late']);
  });
});
