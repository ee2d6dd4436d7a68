// The end of a session's stitch (docs/PROFILE.md §Closing): the bound on a graceful close, the
// draining period after the peer's CLOSE, and the release of the stitch (UNSTITCH) once the last
// blocks left. The session decides when it ends (Session.finish); this keeps the two timers, through
// the injected Clock, and ends the stitch.

import type { Clock } from '../../lib/clock.js';
import type { BlockEngine } from '../blocks/engine.js';
import { sendBlock, type EnginePump } from './pump.js';
import type { StitchPort } from './session-types.js';

/** Longest a graceful close waits for the peer to acknowledge the last data and the CLOSE. */
export const CLOSE_TIMEOUT_MS = 5_000;

/**
 * After the peer's CLOSE the stitch stays up this many RTOs (at most CLOSE_TIMEOUT_MS) unless the
 * peer ends it first: long enough to answer a retransmitted CLOSE whose ack was lost (QUIC's
 * draining period is 3 PTO, RFC 9000 §10.2).
 */
const DRAIN_RTOS = 3;

/** What Closing asks of its session. */
interface ClosingHost {
  /** The stitch carrying the session now. */
  stitch(): StitchPort | undefined;
  /** Forgets the stitch: it is being released. */
  unstitch(): void;
  /** The graceful close ran out of time (CLOSE_TIMEOUT_MS): the session ends now. */
  timedOut(): void;
}

export class Closing {
  /** Closed by the peer's CLOSE: the stitch only carries our acks now (docs/PROFILE.md §Closing). */
  draining = false;
  private cancelCloseTimer: (() => void) | undefined;
  private cancelDrain: (() => void) | undefined;

  constructor(
    private readonly engine: BlockEngine,
    private readonly clock: Clock,
    private readonly pump: EnginePump,
    private readonly host: ClosingHost,
  ) {}

  /** CLOSE behind the queued messages, sent now; the wait for its ack is bounded by CLOSE_TIMEOUT_MS. */
  close(code: number, reason: string): void {
    this.engine.close(code, reason);
    this.pump.run();
    this.cancelCloseTimer = this.clock.setTimeout(() => this.host.timedOut(), CLOSE_TIMEOUT_MS, { unref: true });
  }

  /** The session ended: a graceful close has nothing left to wait for. */
  ended(): void {
    this.cancelCloseTimer?.();
    this.cancelCloseTimer = undefined;
  }

  /**
   * The peer sent CLOSE: acknowledge it at once and keep acknowledging retransmissions of it, until
   * the peer ends the stitch (it does once it has our ack) or the draining period is over.
   */
  drain(): void {
    this.draining = true;
    const ms = Math.min(CLOSE_TIMEOUT_MS, DRAIN_RTOS * this.engine.inspect().rtoMs);
    this.cancelDrain = this.clock.setTimeout(() => this.release(this.host.stitch()), ms, { unref: true });
    this.pump.schedule();
  }

  endDrain(): void {
    this.draining = false;
    this.cancelDrain?.();
    this.cancelDrain = undefined;
    this.pump.disarm();
  }

  /**
   * Ends our side of the stitch (UNSTITCH) after the last blocks left: the one CLOSE a local failure
   * sealed (the peer learns PROTOCOL_VIOLATION or LIMIT_REACHED, never why), or pending acks.
   */
  release(stitch: StitchPort | undefined): void {
    this.endDrain();
    if (stitch === undefined) return;
    // Not from inside the engine callback that closed us: the next turn, in send order.
    setImmediate(() => {
      if (stitch !== this.host.stitch()) return; // the peer ended it meanwhile
      this.host.unstitch();
      try {
        for (const block of this.engine.pollPieces()) sendBlock(stitch, block); // queued even when the socket asks for drain
      } catch {
        // a block over the RN's max_frame: what could go has gone; the stitch ends all the same
      }
      stitch.close();
    });
  }
}
