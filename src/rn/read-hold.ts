// Relay backpressure at the sending link (docs/PROFILE.md §RN resource bounds): the RN stops
// reading from a link whose RELAY made a receiver congested, until that receiver drains, for at most
// RN_HOLD_MAX_MS. A receiver that stops reading must not freeze its senders' links (their other
// stitches and keepalives): after the bound it is marked stuck and drop-oldest takes over.

import type { Clock } from '../lib/clock.js';
import { RN_HOLD_MAX_MS } from '../uzp/link/constants.js';
import type { RnStats } from './stats.js';
import type { Peer } from './switchboard.js';

/** The sending link's socket, and whether it is still open. */
interface HeldLink {
  pause(): void;
  resume(): void;
  open(): boolean;
}

export class ReadHold {
  private held = false;
  /**
   * Each hold has a token: a release left queued on another receiver by an earlier, timed-out hold
   * must not end this one early.
   */
  private token = 0;
  private cancelTimer: (() => void) | null = null;

  constructor(
    private readonly link: HeldLink,
    private readonly clock: Clock,
    private readonly stats: RnStats,
  ) {}

  /** Pauses reading until `other` is relieved, for at most RN_HOLD_MAX_MS. One hold at a time. */
  holdFor(other: Peer): void {
    if (this.held) return;
    this.held = true;
    const token = ++this.token;
    this.link.pause();
    this.stats.holds++;
    const release = (): void => {
      if (!this.held || token !== this.token) return;
      this.held = false;
      this.cancel();
      if (this.link.open()) this.link.resume();
    };
    this.cancelTimer = this.clock.setTimeout(() => {
      if (!this.held || token !== this.token) return;
      other.markStuck();
      release();
    }, RN_HOLD_MAX_MS);
    other.onRelieved(release);
  }

  /** Drops the bound's timer (the link is closing; nothing is resumed). */
  cancel(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }
}
