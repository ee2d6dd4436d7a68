// When the RN's sweep closes an attached link as idle (docs/PROFILE.md §Liveness): no whole frame
// for the idle timeout, nor a frame in flight that grew at LINK_MIN_BYTES_PER_S over a window of
// MOVING_WINDOW_MS in that time. The EP's rule for its side (src/uzp/link/keepalive.ts), with the
// same `moving`. Before, any byte counted: an EP sending a frame header and then a byte every few seconds kept its link,
// with its memory and its place under maxLinks, for good (a slowloris past attachment).
// Pre-auth connections are not judged here: their deadline counts from the accept (server.ts).

import { moving, MOVING_WINDOW_MS } from '../uzp/link/liveness.js';

export class LinkLiveness {
  private lastFrameAt: number;
  /** When a frame in flight was last found growing fast enough (over a whole window). */
  private lastMovingAt: number;
  /** Where the current window began: its time and the bytes of the frame then in flight. */
  private windowAt: number;
  private windowPartial = 0;

  constructor(now: number) {
    this.lastFrameAt = this.lastMovingAt = this.windowAt = now;
  }

  /** A read completed at least one whole frame. */
  frame(now: number): void {
    this.lastFrameAt = now;
  }

  /**
   * At a sweep, with `partial` the bytes received so far of a frame still arriving (0 when none):
   * true when the link is idle and is to be closed. The frame in flight is judged over windows of
   * MOVING_WINDOW_MS, not from one sweep (1 s) to the next: TCP delivers a slow link's bytes in
   * bursts (a segment, a retransmission after a loss), and a second without bytes on a link that
   * carries 16 kbit/s cut it (review of the first version). A window in which it grew fast enough
   * counts as a frame arriving at its end.
   */
  idle(now: number, partial: number, idleMs: number): boolean {
    if (now - this.windowAt >= MOVING_WINDOW_MS) {
      if (moving(partial - this.windowPartial, now - this.windowAt)) this.lastMovingAt = now;
      this.windowAt = now;
      this.windowPartial = partial;
    }
    return now - Math.max(this.lastFrameAt, this.lastMovingAt) >= idleMs;
  }
}
