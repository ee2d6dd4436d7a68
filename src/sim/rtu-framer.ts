// Modbus RTU frame boundaries (Modbus over Serial Line V1.02 §2.5.1.1): a frame ends when the
// line has been silent for t3.5. Bytes are collected as they arrive; one timer re-arms itself for
// the remaining silence instead of being reset per chunk.
//
// Deviation, on purpose: a strict t3.5 splits a frame whenever the event loop (or a USB adapter's
// latency timer) stalls for ~2 ms mid-frame. In tolerant mode (`expectedLength` given) a silence
// that ends a frame the header says is still short is stretched, up to `maxStretchMs`, as many
// real slaves do. Strict mode (no `expectedLength`) is the spec's rule. The t1.5 inter-character
// rule is not enforced: PTY delivery jitter would make it reject good frames.

import { systemClock, type Clock } from '../lib/clock.js';
import { RTU_MAX_ADU } from './modbus-rtu-frame.js';

export interface RtuFramerOptions {
  /** t3.5 in ms (see line-timing.ts t35Ms). */
  readonly silenceMs: number;
  /** Tolerant mode: the length a frame starting with these bytes must have, when known. */
  readonly expectedLength?: (head: Uint8Array) => number | undefined;
  /** How long past its last byte an incomplete frame may wait in tolerant mode (default 50 ms). */
  readonly maxStretchMs?: number;
  readonly clock?: Clock;
}

export class RtuFramer {
  private buf = new Uint8Array(RTU_MAX_ADU + 1);
  private len = 0;
  private overrun = false;
  private lastAt = 0;
  private cancel: (() => void) | null = null;
  private readonly clock: Clock;
  private readonly maxStretchMs: number;

  /** `onFrame` gets every candidate frame; `onOverrun` the count of bytes of a frame longer than 256. */
  constructor(
    private readonly opts: RtuFramerOptions,
    private readonly onFrame: (frame: Uint8Array) => void,
    private readonly onOverrun: (bytes: number) => void = () => {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.maxStretchMs = opts.maxStretchMs ?? 50;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.lastAt = this.clock.now();
    for (const b of chunk) {
      // §2.5.1.1: an RTU frame is at most 256 bytes; a longer burst is not a frame, drop it whole.
      if (this.len <= RTU_MAX_ADU) this.buf[this.len] = b;
      this.len++;
      if (this.len > RTU_MAX_ADU) this.overrun = true;
    }
    if (this.cancel === null) this.arm(this.opts.silenceMs);
  }

  /** Drops a partial frame and the timer (on close / unplug). */
  reset(): void {
    this.cancel?.();
    this.cancel = null;
    this.len = 0;
    this.overrun = false;
  }

  private arm(ms: number): void {
    this.cancel = this.clock.setTimeout(() => this.check(), Math.max(0, ms));
  }

  private check(): void {
    this.cancel = null;
    const quiet = this.clock.now() - this.lastAt;
    if (quiet < this.opts.silenceMs) return this.arm(this.opts.silenceMs - quiet);
    if (!this.overrun && this.opts.expectedLength !== undefined && quiet < this.maxStretchMs) {
      const want = this.opts.expectedLength(this.buf.subarray(0, this.len));
      // Re-check every t3.5 while stretching, so the frame ends one silence after its last byte.
      if (want !== undefined && want > this.len && want <= RTU_MAX_ADU) return this.arm(Math.min(this.opts.silenceMs, this.maxStretchMs - quiet));
    }
    const n = this.len;
    const overrun = this.overrun;
    const frame = this.buf.slice(0, Math.min(n, RTU_MAX_ADU));
    this.len = 0;
    this.overrun = false;
    if (overrun) this.onOverrun(n);
    else this.onFrame(frame);
  }
}
