// The only way link and RN code reads time or schedules work, so tests drive keepalive, idle
// and backoff timers with a fake clock instead of waiting (STYLE: no wall-clock thresholds).

export interface Clock {
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
  /**
   * Runs `fn` once after `ms`; returns a function that cancels it. `unref`: a grace timer that must
   * not keep the process alive on its own (a close that the peer never acknowledges).
   */
  setTimeout(fn: () => void, ms: number, opts?: { readonly unref?: boolean }): () => void;
  /** Wall-clock milliseconds since the epoch, for times that go on the wire; default Date.now. */
  wall?(): number;
}

/** Whole wall-clock milliseconds (what wire timestamps carry: PoR, continuity tokens). */
export function wallMs(clock: Clock): number {
  return Math.floor(clock.wall?.() ?? Date.now());
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms, opts) {
    const t = setTimeout(fn, ms);
    if (opts?.unref === true) t.unref();
    return () => clearTimeout(t);
  },
};

/** Runs `fn` every `ms` until the returned function is called. */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let cancel: () => void = () => {};
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    cancel = clock.setTimeout(tick, ms);
    fn();
  };
  cancel = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    cancel();
  };
}

/** Waits `ms` on `clock`; resolves early (never rejects) when `signal` aborts: callers check it. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The last part of a sleepPrecise wait, spent blocked in a futex instead of on a timer. */
export const PRECISE_TAIL_MS = 1;
/**
 * The very end of it, spent spinning on performance.now(): a futex's timed wait ends ~0.08 ms late
 * here (Linux's default timer slack of 50 µs for a normal thread, then the wake-up), so it is woken
 * this much early and the rest is spun, ~0.02 ms of CPU per wait.
 */
export const PRECISE_SPIN_MS = 0.1;
const futex = new Int32Array(new SharedArrayBuffer(4));

/**
 * Waits `ms` and ends within a few µs of it, for the Modbus RTU master's t3.5 silence (1.75 ms above
 * 19200 baud; Modbus over Serial Line v1.02 §2.5.1.1). Node's timers run on whole milliseconds of a
 * cached loop time, so a 1.75 ms timer ends 2-3 ms later: at 115200 baud that alone cost ~0.6 ms of
 * a 6.36 ms transaction. Here the whole milliseconds are slept on a timer, the last fraction (at
 * most PRECISE_TAIL_MS) in Atomics.wait, which blocks the event loop for that long but takes no CPU,
 * and its last PRECISE_SPIN_MS in a spin. Yielding the fraction away (setImmediate until due) was
 * measured at ~0.55 ms of CPU per transaction and a worker-thread timer at ~21 MB of RSS
 * (docs/BENCH.md "modbus-polls"); other buses' bytes wait in the kernel meanwhile, as they would
 * behind any timer's lateness. A clock other than systemClock (a test's fake clock) is simply
 * waited on.
 */
export async function sleepPrecise(clock: Clock, ms: number): Promise<void> {
  if (clock !== systemClock) return sleep(clock, ms);
  const until = performance.now() + ms;
  for (;;) {
    const left = until - performance.now();
    if (left <= 0) return;
    if (left <= PRECISE_TAIL_MS) {
      if (left > PRECISE_SPIN_MS) Atomics.wait(futex, 0, 0, left - PRECISE_SPIN_MS);
      while (performance.now() < until);
      return;
    }
    await new Promise<void>((resolve) => setTimeout(resolve, left - PRECISE_TAIL_MS));
  }
}
