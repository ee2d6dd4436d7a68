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
