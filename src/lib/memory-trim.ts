// Giving memory back to the OS in a process that is never idle. V8 shrinks its heap (a
// memory-reducing GC: compaction, the young generation cut back, free pages released) from its
// memory reducer, which runs only when the process looks idle by its allocation rate. A gateway
// polling its slots never does: its RSS stayed at the high-water mark of its start-up work
// (the bundle measurement, the first attachments) for good, 129 MB under the shipped unit's flags
// where one memory-reducing GC brings it to ~97 MB, and 180 MB -> ~103 MB with node's defaults
// (docs/BENCH.md "gateway-rss", 2026-12-06). So a trimmer looks at the RSS now and then and asks V8
// for that GC itself when the RSS has grown by more than a margin since the last one.
//
// The GC is `gc({ flavor: 'last-resort' })` (V8's CollectAllAvailableGarbage): a pause of ~50-60 ms
// for a 25-30 MB live heap, measured on the 2-core box, taken at most once per check interval and
// only after that much growth. The function comes from V8's gc extension, exposed for this process
// by flag when node was not started with --expose-gc (v8.setFlagsFromString, then a fresh vm
// context, which is where V8 installs it; the global scope of the process is left as it was).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';

/** V8's gc extension with its options (node >= 22's V8). */
export type GcFunction = (opts: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let exposed: GcFunction | undefined;

/** V8's gc function, exposed for this process if node was started without --expose-gc. */
export function v8Gc(): GcFunction {
  if (typeof (globalThis as { gc?: unknown }).gc === 'function') return (globalThis as unknown as { gc: GcFunction }).gc;
  if (exposed === undefined) {
    setFlagsFromString('--expose-gc');
    exposed = runInNewContext('gc') as GcFunction;
    setFlagsFromString('--no-expose-gc');
  }
  return exposed;
}

/**
 * Keeps V8's young generation at its starting size (two 1 MB semi-spaces), as node's
 * --max-semi-space-size=1 does, but from inside the process: the gateway gets it under node's
 * default flags too. V8 grows the young generation by `semi-space-growth-factor` each time it
 * decides to (read at every growth, so setting it after start-up works; measured: a churning
 * process's new space stays at 2 MB instead of growing to 4-16 MB). A gateway's garbage is
 * small and short-lived, so the bigger young generation only bought RSS: 7-8 MB of it in the
 * 16-slot gateway, and at start-up most of the 130-170 MB peak (docs/BENCH.md "gateway-rss").
 * The CPU cost, more frequent scavenges, measured nil (`cpu_16_slots_unit`).
 */
export function capYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** A trim that happened: RSS before and after, and how long the process was held. */
export interface Trim {
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly pauseMs: number;
}

export interface MemoryTrimmerOptions {
  /** The first scheduled check (default 30 s); the owner may also call check() when it knows a burst ended. */
  readonly firstCheckMs?: number;
  /** Later checks (default 60 s). */
  readonly intervalMs?: number;
  /** Trim when the RSS exceeds the RSS after the last trim by this much (default 8 MiB); the first check always trims. */
  readonly growthBytes?: number;
  readonly clock?: Clock;
  /** Injectable for tests: the RSS reader and the GC. */
  readonly rss?: () => number;
  readonly gc?: () => void;
  readonly onTrim?: (t: Trim) => void;
}

export const TRIM_FIRST_CHECK_MS = 30_000;
export const TRIM_INTERVAL_MS = 60_000;
export const TRIM_GROWTH_BYTES = 8 * 1024 * 1024;

export class MemoryTrimmer {
  private cancel: (() => void) | null = null;
  private baseline: number | null = null;
  private readonly clock: Clock;
  private readonly rss: () => number;
  private readonly gc: () => void;

  constructor(private readonly o: MemoryTrimmerOptions = {}) {
    this.clock = o.clock ?? systemClock;
    this.rss = o.rss ?? (() => process.memoryUsage.rss());
    this.gc = o.gc ?? (() => v8Gc()({ type: 'major', execution: 'sync', flavor: 'last-resort' }));
  }

  start(): void {
    if (this.cancel !== null) return;
    this.schedule(this.o.firstCheckMs ?? TRIM_FIRST_CHECK_MS);
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
  }

  /** One check now: trims when the RSS has grown past the margin (or was never trimmed); returns the trim, if any. */
  check(): Trim | undefined {
    const before = this.rss();
    if (this.baseline !== null && before - this.baseline <= (this.o.growthBytes ?? TRIM_GROWTH_BYTES)) return undefined;
    const t0 = performance.now();
    this.gc();
    const trim: Trim = { rssBefore: before, rssAfter: this.rss(), pauseMs: performance.now() - t0 };
    this.baseline = trim.rssAfter;
    this.o.onTrim?.(trim);
    return trim;
  }

  private schedule(ms: number): void {
    this.cancel = this.clock.setTimeout(
      () => {
        this.check();
        this.schedule(this.o.intervalMs ?? TRIM_INTERVAL_MS);
      },
      ms,
      { unref: true },
    );
  }
}
