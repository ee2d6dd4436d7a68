// Waiting on real sockets without wall-clock thresholds: poll a condition on each turn of the
// event loop (plus a short pause) until it holds; the vitest test timeout is the only bound.

import { setTimeout as sleep } from 'node:timers/promises';

export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; !cond(); i++) {
    await sleep(i < 50 ? 1 : 10);
    if (i > 100_000) throw new Error(`never true: ${what}`);
  }
}

/** Resolves with the first value `register` passes to its callback. */
export function once<T>(register: (cb: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve) => register(resolve));
}
