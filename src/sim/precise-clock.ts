// A Clock for simulated equipment whose timing must be finer than Node's timers. Node (libuv) runs
// timers on whole milliseconds, so a 1.75 ms wait (Modbus t3.5 above 19200 baud) ends anywhere
// from 2 to 3 ms later, and a paced 115200 line delivers its bytes up to a millisecond late. Real
// UARTs and slaves are not that coarse, and a bench of the gateway's master should measure the
// master, not the simulator's timers. This clock sleeps on an ordinary timer until SPIN_MS before
// the deadline, then yields with setImmediate until it: I/O keeps flowing between checks, at the
// cost of one busy core while a wait ends. For a simulator in its own process (bench/lib/sim-host.mjs),
// never for the gateway, whose master keeps whole-millisecond timers (docs/BENCH.md).
//
// Waits that are due fire in deadline order, whichever wake-up notices them: a timer-phase wake-up
// and a check-phase one can both find their deadlines passed after a stall (GC, a loaded CI core),
// and a device must still see its earlier wait end first.

import { systemClock, type Clock } from '../lib/clock.js';

/** How long before a deadline the clock stops sleeping and starts checking. */
const SPIN_MS = 1.5;

interface Wait {
  readonly due: number;
  readonly fn: () => void;
  done: boolean;
}

/** Pending waits, ordered by deadline; equal deadlines keep the order they were asked in. */
const pending: Wait[] = [];

function insert(w: Wait): void {
  let i = pending.length;
  while (i > 0 && pending[i - 1]!.due > w.due) i -= 1;
  pending.splice(i, 0, w);
}

/** Fires every wait whose deadline has passed, earliest first. */
function fireDue(): void {
  const now = performance.now();
  while (pending.length > 0 && pending[0]!.due <= now) {
    const w = pending.shift()!;
    w.done = true;
    w.fn();
  }
}

export const preciseClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const w: Wait = { due: performance.now() + Math.max(0, ms), fn, done: false };
    insert(w);
    let cancelTimer: () => void = () => {};
    const spin = (): void => {
      if (w.done) return;
      fireDue();
      if (!w.done) setImmediate(spin);
    };
    if (ms > SPIN_MS) cancelTimer = systemClock.setTimeout(spin, ms - SPIN_MS);
    else setImmediate(spin);
    return () => {
      if (w.done) return;
      w.done = true;
      const i = pending.indexOf(w);
      if (i >= 0) pending.splice(i, 1);
      cancelTimer();
    };
  },
};
