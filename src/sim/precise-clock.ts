// A Clock for simulated equipment whose timing must be finer than Node's timers. Node (libuv) runs
// timers on whole milliseconds, so a 1.75 ms wait (Modbus t3.5 above 19200 baud) ends anywhere
// from 2 to 3 ms later, and a paced 115200 line delivers its bytes up to a millisecond late. Real
// UARTs and slaves are not that coarse, and a bench of the gateway's master should measure the
// master, not the simulator's timers. This clock sleeps on an ordinary timer until SPIN_MS before
// the deadline, then yields with setImmediate until it: I/O keeps flowing between checks, at the
// cost of one busy core while a wait ends. For a simulator in its own process (bench/lib/sim-host.mjs),
// never for the gateway, whose master keeps whole-millisecond timers (docs/BENCH.md).

import { systemClock, type Clock } from '../lib/clock.js';

/** How long before a deadline the clock stops sleeping and starts checking. */
const SPIN_MS = 1.5;

export const preciseClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const due = performance.now() + Math.max(0, ms);
    let cancelled = false;
    let cancelTimer: () => void = () => {};
    const spin = (): void => {
      if (cancelled) return;
      if (performance.now() >= due) fn();
      else setImmediate(spin);
    };
    if (ms > SPIN_MS) cancelTimer = systemClock.setTimeout(spin, ms - SPIN_MS);
    else setImmediate(spin);
    return () => {
      cancelled = true;
      cancelTimer();
    };
  },
};
