// A session's moves between stitches (draft §11.2-§11.4; docs/PROFILE.md §Continuity, §Standby
// stitch): the loss of its stitch (failover), the way back to stitched over a new stitch at an
// alternate RN (re-stitch), and the standby stitch it holds and moves onto without a JOIN. The
// session keeps the stitch that carries it and drives the block engine (session.ts); this only
// decides when the stitch changes, and is never on the path of a message.

import { StateError } from '../../lib/errors.js';
import { isBlockType } from '../blocks/constants.js';
import type { BlockEngine } from '../blocks/engine.js';
import { ErrorCode, UzpError } from '../errors.js';
import type { Association } from './association.js';
import type { Failover } from './failover.js';
import type { EnginePump } from './pump.js';
import type { StitchPort } from './session-types.js';
import { StandbySlot, type Standby } from './standby.js';
import type { Revalidation } from './state.js';

/** What a Restitcher asks of its session (Session). */
interface RestitchHost {
  readonly association: Association;
  readonly engine: BlockEngine;
  readonly pump: EnginePump;
  /** Present when continuity was negotiated. */
  readonly failover: Failover | undefined;
  /** The stitch carrying the session now. */
  stitch(): StitchPort | undefined;
  /** Forgets the stitch: it is given up. */
  unstitch(): void;
  /** Carries the session on `stitch` from now (Session.attach). */
  attach(stitch: StitchPort): void;
  /** A payload of the stitch carrying the session (Session.receive). */
  receive(payload: Uint8Array): void;
  /** In its graceful close: it takes no new stitch. */
  closing(): boolean;
  /** A payload that is no block was dropped. */
  dropped(): void;
  /** Ends the session at once with `reason`. */
  end(reason: UzpError): void;
  emit(event: 'failover' | 'restitched' | 'standby' | 'standby-lost', ...args: unknown[]): boolean;
}

export class Restitcher {
  private readonly standby: StandbySlot;

  constructor(private readonly h: RestitchHost) {
    this.standby = new StandbySlot({ payload: (s, p) => this.onStandbyPayload(s, p), lost: () => h.emit('standby-lost') });
  }

  /** The RN of the standby stitch, if one is held. */
  get standbyRnCid(): Uint8Array | undefined {
    const sb = this.standby.current;
    return sb === undefined ? undefined : (sb.stitch.rnCid ?? new Uint8Array(0));
  }

  /**
   * draft §11.3: back to stitched over a new stitch at an alternate RN, with the proof that the
   * checks of §11.4 succeeded (the continuity token exchange). A session still stitched (the
   * responder may learn of the loss from the RESUME itself) passes through failover. Every
   * unacknowledged block goes out again at once; the old stitch, if any, is released.
   */
  restitch(stitch: StitchPort, proof: Revalidation, generation: number): void {
    if (this.h.failover === undefined) throw new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, 'restitch: continuity was not negotiated');
    // A standby the initiator did not use is one it gave up on: the new path replaces it.
    this.standby.drop();
    if (this.h.association.state === 'stitched') this.lose(new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'the peer re-stitched'));
    this.resumeOn(stitch, proof, generation);
    this.h.emit('restitched', generation, stitch.rnCid);
  }

  /**
   * Holds `stitch` (at another RN, its STANDBY token verified by the responder: RESUMED) as the
   * standby; a session already in failover moves onto it at once. Replaces an earlier standby.
   */
  addStandby(stitch: StitchPort, generation: number, recheck: () => Revalidation | undefined, early: readonly Uint8Array[]): void {
    if (this.h.failover === undefined) throw new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, 'addStandby: continuity was not negotiated');
    if (this.h.association.state === 'closed' || this.h.closing()) return stitch.close();
    this.standby.hold({ stitch, generation, recheck });
    this.h.emit('standby', generation, stitch.rnCid);
    if (this.promoteStandby() !== undefined) this.h.emit('restitched', generation, stitch.rnCid);
    for (const p of early) {
      if (this.h.stitch() === stitch) this.h.receive(p);
      else this.onStandbyPayload(stitch, p);
    }
  }

  /**
   * A failover trigger (draft §11.2): the stitch is given up (released at its RN if still up) and
   * the session waits in failover for restitch() or the end of the continuity window. Without
   * continuity the session ends, as before.
   */
  lose(reason: UzpError, pathSuspect = false): void {
    const s = this.h.association.state;
    if (s !== 'stitched' && s !== 'authenticated') return;
    const old = this.h.stitch();
    if (pathSuspect) old?.suspect?.();
    this.h.unstitch();
    this.h.pump.disarm();
    this.h.association.to('failover');
    // Before 'failover' is heard: a re-stitch starts from it and must know which RN to avoid.
    this.h.failover?.lost();
    old?.close();
    // With a standby the session is back in stitched before anyone hears 'failover': no JOIN starts.
    const moved = this.promoteStandby();
    this.h.emit('failover', reason);
    if (moved !== undefined) this.h.emit('restitched', moved.generation, moved.stitch.rnCid);
    if (this.h.failover === undefined) this.h.end(reason);
  }

  /** The session ended: the standby, if any, is released at its RN. */
  ended(): void {
    this.standby.drop();
  }

  /** Back to stitched on `stitch` with `proof`: PoR for the new RN, every unacknowledged block due now. */
  private resumeOn(stitch: StitchPort, proof: Revalidation, generation: number): void {
    this.h.association.to('stitched', proof);
    this.h.failover!.generation = generation;
    this.h.attach(stitch);
    this.h.engine.retransmitAll();
    this.h.pump.schedule();
  }

  /**
   * In failover, onto the standby if its recheck passes (draft §11.3 step 7: eligibility and
   * revalidation succeed before stitched); returns the standby moved onto. Undefined, and the
   * standby released, if the recheck fails; undefined too when not in failover or none is held.
   */
  private promoteStandby(): Standby | undefined {
    if (this.h.association.state !== 'failover') return undefined;
    const sb = this.standby.take();
    if (sb === undefined) return undefined;
    const proof = sb.recheck();
    if (proof === undefined) {
      sb.stitch.close();
      this.h.emit('standby-lost');
      return undefined;
    }
    this.resumeOn(sb.stitch, proof, sb.generation);
    return sb;
  }

  /**
   * A payload on the standby: the peer moved there (it lost the path we still hold, or judged it
   * dead first). Only a block that authenticates under the session's keys moves us: an RN can
   * neither make nor usefully replay one (a replayed block is a duplicate and opens nothing).
   */
  private onStandbyPayload(stitch: StitchPort, payload: Uint8Array): void {
    if (!this.standby.holds(stitch)) return;
    if (payload.length === 0 || !isBlockType(payload[0]!)) {
      this.h.dropped();
      return;
    }
    const before = this.h.engine.stats.blocksReceived;
    this.h.engine.receive(payload);
    this.h.pump.schedule();
    // A standby is never held in failover (lose() and addStandby() move onto it at once).
    if (this.h.engine.stats.blocksReceived > before && this.standby.holds(stitch)) this.lose(new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'the peer moved to the standby stitch'));
  }
}
