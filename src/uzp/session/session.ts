// A stitched end-to-end session: drives the block engine (draft §7) over one RN stitch (through its
// pump, pump.ts: the blocks and the one engine timer), and multiplexes channels. Only this file
// and its pump move bytes between the engine and the stitch. Time is read and timers are set only
// through the injected Clock, so tests drive ack delay, RTO and close timeout with a fake one.

import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../../lib/clock.js';
import { BlockEngine } from '../blocks/engine.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ErrorCode, ProtocolError, UzpError } from '../errors.js';
import { StateError } from '../../lib/errors.js';
import { exportKeyingMaterial } from '../exporter.js';
import type { SessionKeys } from '../handshake/keys.js';
import { Association } from './association.js';
import type { Channel, ChannelHost } from './channel.js';
import { CONTROL_CHANNEL, ChannelTable } from './channel-table.js';
import { failoverFor, type Failover } from './failover.js';
import { EnginePump, sendBlock } from './pump.js';
import { mayReleaseData, type Revalidation } from './state.js';
import { StandbySlot, type Standby } from './standby.js';
import type { SessionOptions, StitchPort } from './session-types.js';
import { WritableWaiters } from './writers.js';

export type { StitchPort, SessionOptions } from './session-types.js';

/** First byte of a block relay payload (0x10-0x13); anything else after the handshake is dropped. */
function isBlock(b: Uint8Array): boolean {
  return b.length > 0 && (b[0]! & 0xfc) === 0x10;
}

/** Longest a graceful close waits for the peer to acknowledge the last data and the CLOSE. */
export const CLOSE_TIMEOUT_MS = 5_000;

/**
 * After the peer's CLOSE the stitch stays up this many RTOs (at most CLOSE_TIMEOUT_MS) unless the
 * peer ends it first: long enough to answer a retransmitted CLOSE whose ack was lost (QUIC's
 * draining period is 3 PTO, RFC 9000 §10.2).
 */
const DRAIN_RTOS = 3;

export class Session extends EventEmitter implements ChannelHost {
  readonly keys: SessionKeys;
  readonly association: Association;
  private readonly engine: BlockEngine;
  private readonly provider: CryptoProvider;
  private readonly channels: ChannelTable;
  private readonly clock: Clock;
  private stitch: StitchPort | undefined;
  private readonly pump: EnginePump;
  private readonly writers = new WritableWaiters();
  private closeError: UzpError | undefined;
  private closing = false;
  private cancelCloseTimer: (() => void) | undefined;
  /** Closed by the peer's CLOSE: the stitch only carries our acks now (docs/PROFILE.md §Closing). */
  private draining = false;
  private cancelDrain: (() => void) | undefined;
  private droppedPayloads = 0;
  private readonly standby = new StandbySlot({ payload: (s, p) => this.onStandbyPayload(s, p), lost: () => this.emit('standby-lost') });
  /** Present when continuity was negotiated. */
  readonly failover: Failover | undefined;
  /**
   * Initiator of a connect() with early messages (0-RTT, draft §9): the channels they went on (ids
   * 1, 3, 5, … in order) and whether the responder took them as early data; when it did not, the
   * endpoint has queued them again as ordinary data on the same channels.
   */
  early: { readonly accepted: boolean; readonly channels: readonly Channel[] } | undefined;

  constructor(o: SessionOptions) {
    super();
    this.keys = o.keys;
    this.association = o.association;
    this.provider = o.provider;
    this.channels = new ChannelTable(this, o.keys.role);
    const clock = (this.clock = o.clock ?? systemClock);
    this.engine = new BlockEngine({
      provider: o.provider,
      aead: o.keys.suite.aead,
      sendSecret: o.keys.sendSecret,
      recvSecret: o.keys.recvSecret,
      adContext: o.keys.adContext,
      direction: o.keys.direction,
      now: () => clock.now(),
      limits: o.limits,
      onMessage: (ch, msg, closed) => this.onMessage(ch, msg, closed),
      onWritable: () => this.writers.wake(),
      onClose: (err, code) => this.finish(err, code),
      onDrop: () => {
        this.droppedPayloads++;
      },
    });
    this.pump = new EnginePump(this.engine, clock, {
      stitch: () => this.stitch,
      // While draining the engine is closed: it polls nothing but acks.
      mayRelease: () => mayReleaseData(this.association.state) || this.draining,
      timersLive: () => this.association.state !== 'closed' || this.draining,
      // A block over this RN's max_frame (sealed for a larger RN before a failover: new blocks fit
      // the stitch, attach()): the path cannot carry the session (failover, or the end).
      sendFailed: (stitch, e) => {
        if (stitch !== this.stitch) return;
        const reason = new UzpError(ErrorCode.LINK_FRAME_TOO_LARGE, 'local', `the RN stitch cannot carry this session's blocks: ${(e as Error)?.message ?? String(e)}`);
        this.giveUpPath(reason);
      },
      stalled: (stitch) => {
        if (stitch !== this.stitch) return;
        this.giveUpPath(new UzpError(ErrorCode.LINK_TIMEOUT, 'local', `the RN stitch took nothing for ${this.engine.stallLimitMs} ms (the RN stopped reading this link)`));
      },
    });
    this.failover = o.continuity === undefined ? undefined : failoverFor(this, o.provider, clock, o.continuity);
  }

  /** The path cannot carry the session: failover (or the end without continuity), or the end before it is stitched. */
  private giveUpPath(reason: UzpError): void {
    if (this.association.state === 'stitched' || this.association.state === 'authenticated') this.lose(reason, true);
    else this.finish(reason, undefined);
  }

  /** Queues a session control message (channel 0: PoR, failover.ts). */
  sendControl(message: Uint8Array): void {
    // Closing or closed: PoR has nothing left to prove (a timer may still fire once).
    if (this.closing || this.association.state === 'closed') return;
    if (this.engine.send(CONTROL_CHANNEL, message)) this.pump.schedule();
  }

  get state(): string {
    return this.association.state;
  }
  /** In its graceful close (close() called, not yet ended): it takes no new channel or message. */
  get isClosing(): boolean {
    return this.closing && this.association.state !== 'closed';
  }
  get peerCid(): Uint8Array {
    return this.keys.peerCid;
  }
  /** The RN carrying the session now (undefined in failover or on test stitches). */
  get rnCid(): Uint8Array | undefined {
    return this.stitch?.rnCid;
  }
  /** The RN of the standby stitch, if one is held. */
  get standbyRnCid(): Uint8Array | undefined {
    const sb = this.standby.current;
    return sb === undefined ? undefined : (sb.stitch.rnCid ?? new Uint8Array(0));
  }
  get stats(): BlockEngine['stats'] & { droppedPayloads: number } {
    return { ...this.engine.stats, droppedPayloads: this.droppedPayloads };
  }

  /** Attach the stitch that carries this session (at start; restitch() after a failover). */
  attach(stitch: StitchPort): void {
    this.stitch = stitch;
    // New blocks fit this RN's frames (a block sealed for a larger RN before a failover keeps its size).
    if (stitch.maxPayload !== undefined) this.engine.fitBlocksTo(stitch.maxPayload);
    this.failover?.stitched(stitch.rnCid, this.failover.generation);
    this.pump.blocked = false;
    // receive() only opens the block into a fresh plaintext: the ciphertext may be a transient view.
    stitch.onPayload((p) => this.receive(p), { transient: true });
    stitch.onDrain(() => {
      this.pump.blocked = false;
      this.pump.schedule();
    });
    stitch.onClose((e) => this.onStitchClosed(stitch, e));
  }

  /** Feed one relay payload (the endpoint hands over payloads that raced the handshake's end). */
  receive(payload: Uint8Array): void {
    if (this.association.state === 'closed' && !this.draining) return;
    if (!isBlock(payload)) {
      this.droppedPayloads++;
      return;
    }
    this.engine.receive(payload);
    // Pumped at once, not on the next turn: an ack that is due (every ackEveryBlocks blocks) leaves
    // now, and an ack that opened our window releases new blocks now. Pumped once per turn, a
    // receiver that read 2 MiB in one turn acked it all at once, and the sender, its whole window
    // freed at once, sent the next 64 blocks in one burst: the three processes took turns instead
    // of working together (e2e-throughput: 280 of 712 sender polls sent the full window).
    this.pump.run();
  }

  /**
   * draft §11.3: back to stitched over a new stitch at an alternate RN, with the proof that the
   * checks of §11.4 succeeded (the continuity token exchange). A session still stitched (the
   * responder may learn of the loss from the RESUME itself) passes through failover. Every
   * unacknowledged block goes out again at once; the old stitch, if any, is released.
   */
  restitch(stitch: StitchPort, proof: Revalidation, generation: number): void {
    if (this.failover === undefined) throw new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, 'restitch: continuity was not negotiated');
    // A standby the initiator did not use is one it gave up on: the new path replaces it.
    this.standby.drop();
    if (this.association.state === 'stitched') this.lose(new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'the peer re-stitched'));
    this.resumeOn(stitch, proof, generation);
    this.emit('restitched', generation, stitch.rnCid);
  }

  /**
   * Holds `stitch` (at another RN, its STANDBY token verified by the responder: RESUMED) as the
   * standby; a session already in failover moves onto it at once. Replaces an earlier standby.
   */
  addStandby(stitch: StitchPort, generation: number, recheck: () => Revalidation | undefined, early: readonly Uint8Array[] = []): void {
    if (this.failover === undefined) throw new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, 'addStandby: continuity was not negotiated');
    if (this.association.state === 'closed' || this.closing) return stitch.close();
    this.standby.hold({ stitch, generation, recheck });
    this.emit('standby', generation, stitch.rnCid);
    if (this.promoteStandby() !== undefined) this.emit('restitched', generation, stitch.rnCid);
    for (const p of early) {
      if (this.stitch === stitch) this.receive(p);
      else this.onStandbyPayload(stitch, p);
    }
  }

  /**
   * A failover trigger (draft §11.2): the stitch is given up (released at its RN if still up) and
   * the session waits in failover for restitch() or the end of the continuity window. Without
   * continuity the session ends, as before.
   */
  lose(reason: UzpError, pathSuspect = false): void {
    const s = this.association.state;
    if (s !== 'stitched' && s !== 'authenticated') return;
    const old = this.stitch;
    if (pathSuspect) old?.suspect?.();
    this.stitch = undefined;
    this.pump.disarm();
    this.association.to('failover');
    // Before 'failover' is heard: a re-stitch starts from it and must know which RN to avoid.
    this.failover?.lost();
    old?.close();
    // With a standby the session is back in stitched before anyone hears 'failover': no JOIN starts.
    const moved = this.promoteStandby();
    this.emit('failover', reason);
    if (moved !== undefined) this.emit('restitched', moved.generation, moved.stitch.rnCid);
    if (this.failover === undefined) this.finish(reason, undefined);
  }

  /**
   * Responder: the early messages the handshake took (0-RTT), delivered before anything else on
   * their channels with the EARLY mark. Channel rules are those of onMessage: initiator parity only,
   * and a bounded number of channels (a violation ends the session).
   */
  deliverEarly(messages: readonly { readonly channel: number; readonly message: Uint8Array }[]): void {
    for (const m of messages) {
      if (this.association.state === 'closed') return;
      this.onMessage(m.channel, m.message, false, true);
    }
  }

  /** Open a new channel towards the peer. Frozen in failover (draft §11.3 step 2: no authority expansion). */
  openChannel(): Channel {
    this.assertOpen();
    if (this.association.state === 'failover') throw new StateError(ErrorCode.SESSION_FROZEN, 'the session is in failover: no new channel until it is re-stitched (draft §11.3)');
    return this.channels.open();
  }

  /** The channel with this id (created on first use, on both sides). */
  channel(id: number): Channel {
    if (!this.channels.has(id) && this.association.state === 'failover') throw new StateError(ErrorCode.SESSION_FROZEN, 'the session is in failover: no new channel until it is re-stitched (draft §11.3)');
    return this.channels.get(id);
  }

  /** draft §8 exporter bound to this session. */
  exporter(label: string, context: Uint8Array, length: number): Uint8Array {
    return exportKeyingMaterial(this.provider, this.keys, label, context, length);
  }

  /**
   * Graceful close: queued messages go out, then a CLOSE frame; the session ends when the peer has
   * acknowledged all of it (the engine reports it), or after CLOSE_TIMEOUT_MS if the peer is gone.
   */
  close(code = 0, reason = ''): void {
    if (this.association.state === 'closed' || this.closing) return;
    // Nothing can reach the peer without a stitch: end now rather than wait out the close timer.
    if (this.association.state === 'failover') return this.finish(undefined, undefined);
    this.closing = true;
    this.failover?.stop();
    this.engine.close(code, reason);
    this.pump.run();
    this.cancelCloseTimer = this.clock.setTimeout(() => this.finish(undefined, undefined), CLOSE_TIMEOUT_MS, { unref: true });
  }

  /**
   * Ends the session for a violation found outside the engine (0-RTT: the initiator's Finished did
   * not verify after early data started the session): the peer hears CLOSE PROTOCOL_VIOLATION.
   */
  violation(reason: UzpError): void {
    this.engine.abort(reason);
    this.pump.schedule();
  }

  /** Ends the session at once with `reason` (e.g. the peer refused to re-stitch it). */
  end(reason: UzpError): void {
    this.finish(reason, undefined);
  }

  // ---- ChannelHost ----

  sendOnChannel(id: number, message: Uint8Array, close: boolean): boolean {
    this.assertOpen();
    const ok = this.engine.send(id, message, close);
    if (ok) this.pump.schedule();
    return ok;
  }

  waitWritable(signal?: AbortSignal): Promise<void> {
    this.assertOpen();
    return this.writers.wait(signal);
  }

  channelClosedLocally(id: number): void {
    this.channels.release(id);
  }

  /** Live channels (both halves not yet closed). */
  get channelCount(): number {
    return this.channels.size;
  }

  // ---- internals ----

  private assertOpen(): void {
    if (this.association.state === 'closed' || this.closing) {
      throw this.closeError ?? new StateError(ErrorCode.SESSION_CLOSED, 'session is closed');
    }
  }

  private onMessage(id: number, message: Uint8Array, closed: boolean, early = false): void {
    if (id === CONTROL_CHANNEL && this.failover !== undefined) return this.failover.onControl(message);
    // One lookup per message: this is the path of every message received.
    let ch = this.channels.find(id);
    if (ch === undefined) {
      // A new channel from the peer must carry the peer's parity (never 0, never ours), and the
      // number of live channels is bounded: an authenticated peer still must not grow our memory.
      const refusal = this.channels.refusal(id);
      if (refusal !== undefined) {
        // Session-fatal, and the peer hears CLOSE PROTOCOL_VIOLATION before the stitch ends.
        this.engine.abort(new ProtocolError(ErrorCode.CHANNEL_UNKNOWN, `peer opened channel ${id}: ${refusal}`));
        return;
      }
      ch = this.channel(id);
      this.emit('channel', ch);
    }
    ch.deliver(message, closed, early);
    if (closed) this.channels.release(id);
  }

  /** Back to stitched on `stitch` with `proof`: PoR for the new RN, every unacknowledged block due now. */
  private resumeOn(stitch: StitchPort, proof: Revalidation, generation: number): void {
    this.association.to('stitched', proof);
    this.failover!.generation = generation;
    this.attach(stitch);
    this.engine.retransmitAll();
    this.pump.schedule();
  }

  /**
   * In failover, onto the standby if its recheck passes (draft §11.3 step 7: eligibility and
   * revalidation succeed before stitched); returns the standby moved onto. Undefined, and the
   * standby released, if the recheck fails; undefined too when not in failover or none is held.
   */
  private promoteStandby(): Standby | undefined {
    if (this.association.state !== 'failover') return undefined;
    const sb = this.standby.take();
    if (sb === undefined) return undefined;
    const proof = sb.recheck();
    if (proof === undefined) {
      sb.stitch.close();
      this.emit('standby-lost');
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
    if (!isBlock(payload)) {
      this.droppedPayloads++;
      return;
    }
    const before = this.engine.stats.blocksReceived;
    this.engine.receive(payload);
    this.pump.schedule();
    // A standby is never held in failover (lose() and addStandby() move onto it at once).
    if (this.engine.stats.blocksReceived > before && this.standby.holds(stitch)) this.lose(new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'the peer moved to the standby stitch'));
  }

  private onStitchClosed(stitch: StitchPort, e?: Error): void {
    if (stitch !== this.stitch) return;
    this.stitch = undefined;
    // Draining after the peer's CLOSE: the peer ended the stitch once it had our ack.
    if (this.association.state === 'closed') return this.endDrain();
    // The peer ended the stitch after our CLOSE (or its own): a clean end, not a failover.
    if (this.closing) return this.finish(undefined, undefined);
    // draft §11.2/§11.3: RN loss is an availability event: failover (and, with continuity, a
    // re-stitch at an alternate RN); without continuity the association ends here.
    const reason = new UzpError(ErrorCode.LINK_CLOSED, 'peer', `the RN stitch closed${e ? `: ${e.message}` : ''}`);
    if (this.association.state === 'stitched' || this.association.state === 'authenticated') return this.lose(reason);
    this.finish(reason, undefined);
  }

  private finish(err: UzpError | undefined, remoteCode: number | undefined): void {
    if (this.association.state === 'closed') return;
    this.closeError = err;
    this.association.close();
    this.standby.drop();
    this.failover?.stop();
    this.pump.disarm();
    this.cancelCloseTimer?.();
    this.cancelCloseTimer = undefined;
    if (this.stitch !== undefined) {
      if (remoteCode !== undefined) this.drain();
      else this.release(this.stitch);
    }
    this.writers.wake();
    this.channels.abortAll();
    this.emit('close', err, remoteCode);
  }

  /**
   * The peer sent CLOSE: acknowledge it at once and keep acknowledging retransmissions of it, until
   * the peer ends the stitch (it does once it has our ack) or the draining period is over.
   */
  private drain(): void {
    this.draining = true;
    const ms = Math.min(CLOSE_TIMEOUT_MS, DRAIN_RTOS * this.engine.inspect().rtoMs);
    this.cancelDrain = this.clock.setTimeout(() => this.release(this.stitch), ms, { unref: true });
    this.pump.schedule();
  }

  private endDrain(): void {
    this.draining = false;
    this.cancelDrain?.();
    this.cancelDrain = undefined;
    this.pump.disarm();
  }

  /**
   * Ends our side of the stitch (UNSTITCH) after the last blocks left: the one CLOSE a local failure
   * sealed (the peer learns PROTOCOL_VIOLATION or LIMIT_REACHED, never why), or pending acks.
   */
  private release(stitch: StitchPort | undefined): void {
    this.endDrain();
    if (stitch === undefined) return;
    // Not from inside the engine callback that closed us: the next turn, in send order.
    setImmediate(() => {
      if (stitch !== this.stitch) return; // the peer ended it meanwhile
      this.stitch = undefined;
      try {
        for (const block of this.engine.pollPieces()) sendBlock(stitch, block); // queued even when the socket asks for drain
      } catch {
        // a block over the RN's max_frame: what could go has gone; the stitch ends all the same
      }
      stitch.close();
    });
  }
}
