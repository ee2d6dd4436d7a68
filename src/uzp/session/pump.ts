// The session's driver of its block engine (draft §7): polls sealed blocks onto the stitch and
// keeps the one timer (ack delay or RTO, one timer hook per protocol event, as wireguard-go) armed
// for the engine's next deadline. The session decides what may leave and where (PumpHost); this
// only moves blocks and time.

import type { Clock } from '../../lib/clock.js';
import type { BlockEngine } from '../blocks/engine.js';
import { joinBlock, type SealedBlock } from '../blocks/protect.js';
import type { StitchPort } from './session-types.js';

/** What the pump asks of its session at every run. */
export interface PumpHost {
  /** The stitch blocks go onto; undefined in failover (nothing is polled, no RTO counts: §11.5). */
  stitch(): StitchPort | undefined;
  /** Data may leave (the association's state allows it), or the session drains: acks only. */
  mayRelease(): boolean;
  /** The engine's deadlines still matter: not closed, or closed and draining. */
  timersLive(): boolean;
  /**
   * The stitch refused a block (over the RN's max_frame, which the RN announces from 16 KiB on: a
   * block sealed before a failover to an RN with smaller frames, or a stitch that did not say its
   * maxPayload): the session gives up that path. Never thrown: runs come from setImmediate and timers.
   */
  sendFailed(stitch: StitchPort, e: unknown): void;
  /**
   * The stitch has asked us to wait for its drain for as long as the engine would try one block
   * before LINK_TIMEOUT (BlockEngine.stallLimitMs), and no drain came: the path is as dead as one that
   * never acks (an RN that stopped reading our link). The session gives it up.
   */
  stalled(stitch: StitchPort): void;
}

/** One sealed block onto the stitch: as its pieces where the stitch writes pieces, else joined. */
export function sendBlock(stitch: StitchPort, block: SealedBlock): boolean {
  return stitch.sendPieces !== undefined ? stitch.sendPieces(block) : stitch.send(joinBlock(block));
}

export class EnginePump {
  /** The stitch asked us to wait for its drain (the session clears it on drain and at attach). */
  blocked = false;
  /** When `blocked` was last set by a send the stitch refused to take more after. */
  private blockedAt = 0;
  private scheduled = false;
  /** Cancels the engine timer armed for timerAt. */
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly engine: BlockEngine,
    private readonly clock: Clock,
    private readonly host: PumpHost,
  ) {}

  /** A run on the next turn, once however often asked. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate rather than a microtask: every send() of the current turn lands in the same
    // block (coalescing), which is what makes small messages cheap.
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  /** Sends what the engine has to send now, and arms the timer for its next deadline. */
  run(): void {
    const stitch = this.host.stitch();
    if (stitch === undefined) return this.disarm();
    if (this.blocked) return this.waitDrain(stitch);
    if (!this.host.mayRelease()) return this.arm();
    try {
      for (const block of this.engine.pollPieces()) {
        if (!sendBlock(stitch, block) && !this.blocked) {
          this.blocked = true;
          this.blockedAt = this.clock.now();
        }
      }
    } catch (e) {
      return this.host.sendFailed(stitch, e);
    }
    this.arm();
  }

  /**
   * Blocked: nothing is polled until the drain (which schedules a run), so the engine's deadlines,
   * already due, would re-arm a 0 ms timer at every turn (a spin of ~1,000 wake-ups a second per
   * session, and no RTO ever counted). One timer instead, for the stall bound.
   */
  private waitDrain(stitch: StitchPort): void {
    const giveUpAt = this.blockedAt + this.engine.stallLimitMs;
    if (this.clock.now() >= giveUpAt) {
      this.disarm();
      return this.host.stalled(stitch);
    }
    if (this.cancelTimer !== undefined && this.timerAt === giveUpAt) return;
    this.setTimer(giveUpAt);
  }

  disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = Infinity;
  }

  private arm(): void {
    const at = this.engine.nextDeadline();
    if (at === undefined || !this.host.timersLive()) return this.disarm();
    // An earlier timer already covers this deadline: run() re-arms for the rest when it fires.
    if (this.cancelTimer !== undefined && at >= this.timerAt) return;
    this.setTimer(at);
  }

  private setTimer(at: number): void {
    this.disarm();
    this.timerAt = at;
    this.cancelTimer = this.clock.setTimeout(
      () => {
        this.cancelTimer = undefined;
        this.timerAt = Infinity;
        this.run();
      },
      Math.max(0, at - this.clock.now()),
    );
  }
}
