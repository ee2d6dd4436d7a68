// Per-link outbound queues of the RN (draft §11: the RN relays and may apply rate limits and
// traffic shaping). Two queues, as DERP does: control (priority, never dropped; overflow means the
// link is too slow to serve and gets closed) and data (bounded in frames and bytes, drop-oldest:
// for a reliable E2E block layer with retransmission, the newest blocks are the useful ones).
// Frames go to the socket only while it does not ask for drain, so memory per link is bounded
// by the two caps plus one socket high-water mark.

import { Ring } from '../lib/ring.js';
import { concat } from '../uzp/bytes.js';

export interface Sink {
  /** Node stream contract: false means "stop writing until drain". */
  write(frame: Uint8Array): boolean;
}

export interface QueueLimits {
  readonly controlMax: number;
  readonly dataMaxFrames: number;
  readonly dataMaxBytes: number;
}

/** How long a receiver once found stuck causes no more holds of its senders. */
export const STUCK_MEMORY_MS = 30_000;

export class OutboundQueue {
  private readonly control = new Ring<Uint8Array>();
  private readonly data = new Ring<Uint8Array>();
  private dataBytes = 0;
  private blocked = false;
  private relievedCbs: (() => void)[] = [];
  private stuck = false;
  /** Data frames dropped (oldest first) because the link could not keep up. */
  dropped = 0;

  /** Until when a receiver once found stuck causes no hold (markStuck), ms of `now`. */
  private noHoldsUntil = -Infinity;

  constructor(
    private readonly sink: Sink,
    private readonly limits: QueueLimits,
    /** Milliseconds; the RN's clock. */
    private readonly now: () => number = Date.now,
  ) {}

  get queuedFrames(): number {
    return this.control.length + this.data.length;
  }

  get queuedDataBytes(): number {
    return this.dataBytes;
  }

  get needsDrain(): boolean {
    return this.blocked;
  }

  /**
   * More than half the data byte cap is queued: senders feeding this link should pause (relay
   * backpressure, as a TCP relay has) rather than push it into drop-oldest.
   */
  get congested(): boolean {
    return !this.stuck && this.dataBytes > this.limits.dataMaxBytes / 2 && this.now() >= this.noHoldsUntil;
  }

  /**
   * A sender waited the longest allowed and this queue did not drain: the receiver is stuck.
   * Until it drains, senders are not paused for it any more; drop-oldest bounds it instead. Nor
   * for STUCK_MEMORY_MS after: a receiver that read down to a quarter, let the hold go, and stopped
   * again paused its senders' whole links (their other stitches, their keepalives) for up to 1 s in
   * every cycle, at its will.
   */
  markStuck(): void {
    this.stuck = true;
    this.noHoldsUntil = this.now() + STUCK_MEMORY_MS;
  }

  /** Calls `cb` once when the queue is back below a quarter of its byte cap (or is cleared). */
  onRelieved(cb: () => void): void {
    this.relievedCbs.push(cb);
  }

  private relieve(): void {
    this.stuck = false;
    const cbs = this.relievedCbs;
    this.relievedCbs = [];
    for (const cb of cbs) cb();
  }

  /** Queues a control frame ahead of data; false = control overflow (caller closes the link). */
  pushControl(frame: Uint8Array): boolean {
    if (!this.blocked && this.control.length === 0) {
      this.blocked = !this.sink.write(frame);
      return true;
    }
    if (this.control.length >= this.limits.controlMax) return false;
    this.control.push(frame);
    this.pump();
    return true;
  }

  /**
   * Queues a data frame (one buffer, or the pieces of a frame that spanned reads); returns how many
   * older data frames were dropped to make room.
   */
  pushData(frame: Uint8Array | readonly Uint8Array[]): number {
    if (!this.blocked && this.control.length === 0 && this.data.length === 0) {
      if (frame instanceof Uint8Array) this.blocked = !this.sink.write(unpinned(frame));
      else for (const piece of frame) this.blocked = !this.sink.write(unpinned(piece)); // one frame: all of it, whatever write() says
      return 0;
    }
    return this.queueData(frame instanceof Uint8Array ? frame : concat(...frame));
  }

  private queueData(frame: Uint8Array): number {
    let dropped = 0;
    while (this.data.length > 0 && (this.data.length >= this.limits.dataMaxFrames || this.dataBytes + frame.length > this.limits.dataMaxBytes)) {
      this.dataBytes -= this.data.shift()!.length;
      dropped++;
    }
    // A frame forwarded as received may be a view into a larger socket read: queue a copy, so
    // that the byte cap bounds the memory actually held.
    const own = frame.byteLength === frame.buffer.byteLength ? frame : frame.slice();
    this.data.push(own);
    this.dataBytes += own.length;
    this.dropped += dropped;
    this.pump();
    return dropped;
  }

  /** The socket emitted 'drain'. */
  onDrain(): void {
    this.blocked = false;
    this.pump();
  }

  clear(): void {
    this.control.clear();
    this.data.clear();
    this.dataBytes = 0;
    this.relieve();
  }

  private pump(): void {
    while (!this.blocked) {
      let f = this.control.shift();
      if (f === undefined) {
        f = this.data.shift();
        if (f === undefined) break;
        this.dataBytes -= f.length;
      }
      this.blocked = !this.sink.write(f);
    }
    if ((this.relievedCbs.length > 0 || this.stuck) && this.dataBytes <= this.limits.dataMaxBytes / 4) this.relieve();
  }
}

/**
 * A view written straight to the socket may wait in node's write buffer (a full kernel buffer), and
 * keeps its whole read alive while the socket's high-water mark counts only the view: a sender
 * making each 64 KiB read carry one 9-byte RELAY pinned ~450 MiB behind one receiving link that
 * did not read (a review's repro). A view under a quarter of its buffer is copied (cheap: it is
 * small); larger ones pin at most four times what the socket counts, and the blocks of a bulk
 * transfer, which fill their reads, go through uncopied.
 */
function unpinned(view: Uint8Array): Uint8Array {
  return view.byteLength * 4 < view.buffer.byteLength ? view.slice() : view;
}
