// When the RN's sweep closes an attached link as idle (docs/PROFILE.md §Liveness): no whole frame
// for the idle timeout, and no frame in flight growing at LINK_MIN_BYTES_PER_S since the sweep
// before. The EP's rule for its side (src/uzp/link/keepalive.ts), with the same `moving`. Before,
// any byte counted: an EP sending a frame header and then a byte every few seconds kept its link,
// with its memory and its place under maxLinks, for good (a slowloris past attachment).
// Pre-auth connections are not judged here: their deadline counts from the accept (server.ts).

import { moving } from '../uzp/link/liveness.js';

export class LinkLiveness {
  private lastFrameAt: number;
  /** At the last sweep: its time and the bytes of the frame then in flight. */
  private sweptAt: number;
  private sweptPartial = 0;

  constructor(now: number) {
    this.lastFrameAt = this.sweptAt = now;
  }

  /** A read completed at least one whole frame. */
  frame(now: number): void {
    this.lastFrameAt = now;
  }

  /**
   * At a sweep, with `partial` the bytes received so far of a frame still arriving (0 when none):
   * true when the link is idle and is to be closed. Remembers this sweep for the next one.
   */
  idle(now: number, partial: number, idleMs: number): boolean {
    const idle = now - this.lastFrameAt >= idleMs && !moving(partial - this.sweptPartial, now - this.sweptAt);
    this.sweptAt = now;
    this.sweptPartial = partial;
    return idle;
  }
}
