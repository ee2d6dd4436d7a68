// A session's standby stitch (draft §11.1, §11.4; docs/PROFILE.md §Standby stitch): a spare
// stitch at another RN whose continuity token (STANDBY) the responder verified, idle until the
// active stitch is lost; the session then moves onto it without a JOIN round trip (restitch.ts).
// This slot only holds it: one at a time, its payloads and its loss reported to the session.

import type { StitchPort } from './session-types.js';
import type { Revalidation } from './state.js';

export interface Standby {
  readonly stitch: StitchPort;
  readonly generation: number;
  /**
   * Repeats the local part of §11.4 at the moment of the move (the RN still eligible, the Grant
   * still valid and unrevoked): the revalidation proof, or undefined to refuse the move.
   */
  readonly recheck: () => Revalidation | undefined;
}

interface StandbyEvents {
  /** A payload arrived on the held standby. */
  payload(stitch: StitchPort, payload: Uint8Array): void;
  /** The held standby closed (its RN dropped it). */
  lost(): void;
}

export class StandbySlot {
  private held: Standby | undefined;

  constructor(private readonly events: StandbyEvents) {}

  get current(): Standby | undefined {
    return this.held;
  }

  holds(stitch: StitchPort): boolean {
    return this.held?.stitch === stitch;
  }

  /** Holds `sb`, releasing an earlier standby. */
  hold(sb: Standby): void {
    this.drop();
    this.held = sb;
    // The session opens a standby's blocks at once (Restitcher.onStandbyPayload) and keeps none.
    sb.stitch.onPayload((p) => this.events.payload(sb.stitch, p), { transient: true });
    sb.stitch.onClose(() => {
      if (!this.holds(sb.stitch)) return;
      this.held = undefined;
      this.events.lost();
    });
  }

  /** Hands the standby over without closing it (the session moves onto it, or releases it itself). */
  take(): Standby | undefined {
    const sb = this.held;
    this.held = undefined;
    return sb;
  }

  /** Releases the standby at its RN (UNSTITCH). */
  drop(): void {
    this.take()?.stitch.close();
  }
}
