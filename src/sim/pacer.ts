// A baud-pacing relay between two byte duplexes (a PTY end and a simulator, or two PTY ends):
// each byte is delivered when its last bit would have left a real UART, so Modbus RTU's 3.5-char
// silences and a bus's poll-rate ceiling are real. A socat pair alone delivers as fast as the
// kernel copies (FIELD-NOTES: 1,700-2,000 RTU reads/s where 115200 8N1 allows ~288).
//
// Pacing model: each direction is a line that is busy until `lineFreeAt`. A byte entering at
// `now` starts at max(now, lineFreeAt) and is due one character time (line-timing.ts) later. Due
// times are absolute (performance.now()), and one timer per direction wakes at the next due time
// and writes every byte that has fallen due in one chunk, so timer lateness never accumulates:
// the average rate over a burst is exact, and bytes arrive in small batches of about one timer
// tick (~1 ms: ~1 byte at 9600, ~11 at 115200), as from a UART FIFO. No busy waiting.

import { systemClock, type Clock } from '../lib/clock.js';
import { listen, type ByteDuplex } from './duplex.js';
import { charTimeMs, DEFAULT_FRAMING, type Framing } from '../ports/line-timing.js';
import { FaultPlan, type LineFaults } from './pacer-faults.js';
import { CommonCode, LocalError } from '../lib/errors.js';

export type End = 'a' | 'b';
export type Direction = 'aToB' | 'bToA';

export interface PacedRelayOptions {
  readonly baud: number;
  readonly framing?: Framing;
  readonly clock?: Clock;
  /** Bytes queued per direction before the source is paused (or, if it cannot pause, bytes are dropped). Default 64 KiB. */
  readonly highWaterBytes?: number;
  /**
   * Deliver in batches at least this far apart (ms), as a UART's FIFO timeout or a USB adapter's
   * latency timer does (the gateway sets an FTDI's to 1 ms); the last byte of what is queued is
   * still delivered when its last bit leaves the wire, so a frame's end is never late. Default 0:
   * every byte when due (with a whole-millisecond clock that is ~1 ms batches anyway). A simulator
   * on the precise clock uses it so that it does not wake once per character (bench/lib/sim-host.mjs).
   */
  readonly batchMs?: number;
}

export interface DirectionStats {
  /** Bytes that entered the line (the fault positions count these). */
  received: number;
  /** Bytes written to the far end. */
  delivered: number;
  dropped: number;
  flipped: number;
  /** Bytes that fell due while the far end was unplugged. */
  lost: number;
  /** Bytes refused because the queue was full and the source could not be paused. */
  overflowed: number;
}

interface Chunk {
  readonly data: Uint8Array;
  /** 1 where the byte was dropped by a fault (it still took its line time). */
  readonly dropped: Uint8Array | null;
  /** When the first bit of data[0] starts. */
  readonly start: number;
  off: number;
}

class PacedLine {
  readonly faults = new FaultPlan();
  readonly stats: DirectionStats = { received: 0, delivered: 0, dropped: 0, flipped: 0, lost: 0, overflowed: 0 };
  target: ByteDuplex | null = null;
  source: ByteDuplex | null = null;
  private queue: Chunk[] = [];
  private queued = 0;
  private paused = false;
  private lineFreeAt = 0;
  private cancel: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly clock: Clock,
    public charMs: number,
    private readonly highWater: number,
    private readonly batchMs = 0,
  ) {}

  get pending(): number {
    return this.queued;
  }

  enqueue(input: Uint8Array): void {
    let bytes = input;
    if (this.queued + bytes.length > this.highWater && typeof this.source?.pause !== 'function') {
      const room = Math.max(0, this.highWater - this.queued);
      this.stats.overflowed += bytes.length - room;
      bytes = bytes.subarray(0, room);
    }
    if (bytes.length === 0) return;
    const data = new Uint8Array(bytes.length);
    let dropped: Uint8Array | null = null;
    for (let i = 0; i < bytes.length; i++) {
      const v = this.faults.apply(this.stats.received + i, bytes[i]!);
      if (v < 0) (dropped ??= new Uint8Array(bytes.length))[i] = 1;
      else data[i] = v;
    }
    this.stats.received += bytes.length;
    this.stats.dropped = this.faults.dropped;
    this.stats.flipped = this.faults.flipped;
    const start = Math.max(this.clock.now(), this.lineFreeAt);
    this.lineFreeAt = start + bytes.length * this.charMs;
    this.queue.push({ data, dropped, start, off: 0 });
    this.queued += bytes.length;
    if (this.queued > this.highWater && !this.paused && typeof this.source?.pause === 'function') {
      this.paused = true;
      this.source.pause();
    }
    this.schedule();
  }

  /** Resolves when every queued byte has been delivered (or lost). */
  idle(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** The line is cut: nothing queued survives, the line is free at once. */
  flush(): void {
    for (const c of this.queue) this.stats.lost += c.data.length - c.off;
    this.queue = [];
    this.queued = 0;
    this.lineFreeAt = 0;
    this.afterDrain();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
    this.flush();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.cancel !== null || head === undefined) return;
    const now = this.clock.now();
    let due = head.start + (head.off + 1) * this.charMs;
    // Batching: not before now + batchMs, but never after the last queued byte is due (lineFreeAt).
    if (this.batchMs > 0) due = Math.min(this.lineFreeAt, Math.max(due, now + this.batchMs));
    this.cancel = this.clock.setTimeout(() => this.tick(), Math.max(0, due - now));
  }

  private tick(): void {
    this.cancel = null;
    const now = this.clock.now();
    const out: number[] = [];
    while (this.queue.length > 0) {
      const c = this.queue[0]!;
      // Bytes whose last bit has left the wire by `now` (the epsilon absorbs float rounding).
      const due = Math.min(c.data.length, Math.floor((now - c.start) / this.charMs + 1e-9));
      for (let i = c.off; i < due; i++) if (c.dropped === null || c.dropped[i] === 0) out.push(c.data[i]!);
      this.queued -= Math.max(0, due - c.off);
      c.off = Math.max(c.off, due);
      if (c.off < c.data.length) break;
      this.queue.shift();
    }
    if (out.length > 0) {
      if (this.target === null) this.stats.lost += out.length;
      else {
        this.stats.delivered += out.length;
        this.target.write(Buffer.from(out));
      }
    }
    this.afterDrain();
    this.schedule();
  }

  private afterDrain(): void {
    if (this.paused && this.queued <= this.highWater / 2) {
      this.paused = false;
      this.source?.resume?.();
    }
    if (this.queued === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}

export class PacedRelay {
  private readonly lines: Record<Direction, PacedLine>;
  private readonly ends: Record<End, ByteDuplex | null> = { a: null, b: null };
  private readonly unlisten: Record<End, (() => void) | null> = { a: null, b: null };
  private framing: Framing;
  private baudRate: number;

  constructor(opts: PacedRelayOptions, a?: ByteDuplex, b?: ByteDuplex) {
    const clock = opts.clock ?? systemClock;
    this.framing = opts.framing ?? DEFAULT_FRAMING;
    this.baudRate = opts.baud;
    const charMs = charTimeMs(opts.baud, this.framing);
    const hw = opts.highWaterBytes ?? 64 * 1024;
    if (!Number.isInteger(hw) || hw < 1) throw new LocalError(CommonCode.USAGE, `highWaterBytes: expected a positive integer, got ${hw}`);
    const batch = opts.batchMs ?? 0;
    if (!Number.isFinite(batch) || batch < 0) throw new LocalError(CommonCode.USAGE, `batchMs: expected a number >= 0, got ${batch}`);
    this.lines = { aToB: new PacedLine(clock, charMs, hw, batch), bToA: new PacedLine(clock, charMs, hw, batch) };
    if (a !== undefined) this.attach('a', a);
    if (b !== undefined) this.attach('b', b);
  }

  get baud(): number {
    return this.baudRate;
  }

  /** Milliseconds per character at the configured baud and framing. */
  get charMs(): number {
    return this.lines.aToB.charMs;
  }

  /** Changes the line rate for bytes entering from now on (a device reconfigured to another baud). */
  setBaud(baud: number): void {
    const ms = charTimeMs(baud, this.framing);
    this.baudRate = baud;
    this.lines.aToB.charMs = ms;
    this.lines.bToA.charMs = ms;
  }

  /** Plugs `d` in as end `end` (first plug or replug). */
  attach(end: End, d: ByteDuplex): void {
    this.detach(end);
    const out: Direction = end === 'a' ? 'aToB' : 'bToA';
    const inbound: Direction = end === 'a' ? 'bToA' : 'aToB';
    this.ends[end] = d;
    this.lines[out].source = d;
    this.lines[inbound].target = d;
    this.unlisten[end] = listen(d, (c) => this.lines[out].enqueue(c));
  }

  /** Unplugs end `end`: it is no longer heard, and bytes on their way to it are lost. */
  detach(end: End): void {
    this.unlisten[end]?.();
    this.unlisten[end] = null;
    if (this.ends[end] === null) return;
    this.ends[end] = null;
    const out: Direction = end === 'a' ? 'aToB' : 'bToA';
    const inbound: Direction = end === 'a' ? 'bToA' : 'aToB';
    this.lines[out].source = null;
    this.lines[inbound].target = null;
    this.lines[inbound].flush();
  }

  isAttached(end: End): boolean {
    return this.ends[end] !== null;
  }

  /** Adds faults to one direction; positions count from the next byte to enter it. */
  inject(dir: Direction, faults: LineFaults): void {
    this.lines[dir].faults.add(faults, this.lines[dir].stats.received);
  }

  clearFaults(dir: Direction): void {
    this.lines[dir].faults.clear();
  }

  /** Bytes that have entered the line in `dir` so far. */
  position(dir: Direction): number {
    return this.lines[dir].stats.received;
  }

  stats(dir: Direction): Readonly<DirectionStats> {
    return { ...this.lines[dir].stats };
  }

  /** Bytes still on the wire in `dir`. */
  pending(dir: Direction): number {
    return this.lines[dir].pending;
  }

  /** Resolves once `dir` (or both directions) has nothing left to deliver. */
  async idle(dir?: Direction): Promise<void> {
    if (dir !== undefined) return this.lines[dir].idle();
    await Promise.all([this.lines.aToB.idle(), this.lines.bToA.idle()]);
  }

  /** Detaches both ends and cancels the timers; queued bytes are discarded. */
  close(): void {
    this.detach('a');
    this.detach('b');
    this.lines.aToB.stop();
    this.lines.bToA.stop();
  }
}
