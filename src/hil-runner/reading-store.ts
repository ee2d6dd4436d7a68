// The readings a run has seen, per slot, with when they arrived: what `readings` and `values`
// expectations look at. Fed by the run's in-process operator tails (run-operator.ts) or, in the
// demo, by its `uzpgw connect tail` processes. Bounded per slot (the oldest go first).

import { performance } from 'node:perf_hooks';

export interface SeenReading {
  readonly at: number; // performance.now() when it arrived
  readonly value: unknown;
}

/** Readings kept per slot; expectations look at the recent ones. */
const MAX_KEPT = 10_000;

export class ReadingStore {
  private readonly kept = new Map<string, SeenReading[]>();
  private readonly waiters = new Map<string, Set<() => void>>();

  add(slot: string, value: unknown): void {
    const list = this.kept.get(slot) ?? [];
    list.push({ at: performance.now(), value });
    if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT);
    this.kept.set(slot, list);
    const w = this.waiters.get(slot);
    if (w === undefined) return;
    this.waiters.delete(slot);
    for (const f of w) f();
  }

  readings(slot: string): readonly SeenReading[] {
    return this.kept.get(slot) ?? [];
  }

  /** Resolves at the next reading of `slot`, after `ms`, or when `signal` aborts. */
  next(slot: string, ms: number, signal?: AbortSignal): Promise<void> {
    const set = this.waiters.get(slot) ?? new Set<() => void>();
    this.waiters.set(slot, set);
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
      signal?.addEventListener('abort', done, { once: true });
      if (signal?.aborted === true) done();
    });
  }
}
