// The demo's `--seconds` window (README): counted from the moment every slot has delivered its first
// reading, not from the demo's start or the operators' start, so a slow board's start-up (or a loaded
// CI machine's: 5-7 s of the 8 a test gave it, then 3-4 s more until the MQTT slot's first reading)
// does not eat the time the slots have to deliver. The wait for first readings is bounded: after
// `firstReadingsMs` the window starts anyway, with a warning naming the silent slots (they end up in
// the summary's `missing`). Time only through the injected Clock.

import type { Clock } from '../lib/clock.js';

export interface LiveWindowOptions {
  readonly clock: Clock;
  readonly slots: readonly string[];
  /** The window's length (`--seconds`, in ms). */
  readonly windowMs: number;
  /** How long after arm() to wait for every slot's first reading. */
  readonly firstReadingsMs: number;
  /** The window started (silent: slots without a reading yet; empty when every slot delivered). */
  readonly onStart: (silent: readonly string[]) => void;
  /** The window is over. */
  readonly onEnd: () => void;
}

export class LiveWindow {
  private readonly seen = new Set<string>();
  private cancelWait: (() => void) | undefined;
  private cancelEnd: (() => void) | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly o: LiveWindowOptions) {}

  /** The operators are started: the wait for first readings begins. */
  arm(): void {
    if (this.closed || this.started || this.cancelWait !== undefined) return;
    this.cancelWait = this.o.clock.setTimeout(() => this.start(), this.o.firstReadingsMs);
    if (this.seen.size === this.o.slots.length) this.start();
  }

  /** A reading of `slot` arrived (before arm() too: it counts). */
  reading(slot: string): void {
    if (this.seen.has(slot) || !this.o.slots.includes(slot)) return;
    this.seen.add(slot);
    if (this.seen.size === this.o.slots.length && this.cancelWait !== undefined) this.start();
  }

  /** Stops every timer (the demo stopping for another reason). */
  close(): void {
    this.closed = true;
    this.cancelWait?.();
    this.cancelEnd?.();
  }

  private start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.cancelWait?.();
    this.o.onStart(this.o.slots.filter((s) => !this.seen.has(s)));
    this.cancelEnd = this.o.clock.setTimeout(() => this.o.onEnd(), this.o.windowMs);
  }
}
