// A stitched end-to-end session: drives the block engine (draft §7) over one RN stitch (through its
// pump, pump.ts: the blocks and the one engine timer), and multiplexes channels. Bytes move between
// the engine and a stitch only here, in the pump, in closing.ts (the last blocks before UNSTITCH)
// and in restitch.ts (a standby's blocks; it also moves the session between stitches). Time is read
// and timers are set only through the injected Clock, so tests drive ack delay, RTO and close
// timeout with a fake one.

import { EventEmitter } from 'node:events';
import { systemClock } from '../../lib/clock.js';
import { BlockEngine } from '../blocks/engine.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ErrorCode, ProtocolError, UzpError } from '../errors.js';
import { StateError } from '../../lib/errors.js';
import { exportKeyingMaterial } from '../exporter.js';
import type { SessionKeys } from '../handshake/keys.js';
import { Association } from './association.js';
import type { Channel, ChannelHost } from './channel.js';
import { CONTROL_CHANNEL, ChannelTable } from './channel-table.js';
import { Closing } from './closing.js';
import { failoverFor, type Failover } from './failover.js';
import { EnginePump } from './pump.js';
import { Restitcher } from './restitch.js';
import { mayReleaseData, type Revalidation } from './state.js';
import type { SessionOptions, StitchPort } from './session-types.js';
import { WritableWaiters } from './writers.js';

export type { StitchPort, SessionOptions } from './session-types.js';
export { CLOSE_TIMEOUT_MS } from './closing.js';

/** First byte of a block relay payload (0x10-0x13); anything else after the handshake is dropped. */
function isBlock(b: Uint8Array): boolean {
  return b.length > 0 && (b[0]! & 0xfc) === 0x10;
}

export class Session extends EventEmitter implements ChannelHost {
  readonly keys: SessionKeys;
  readonly association: Association;
  private readonly engine: BlockEngine;
  private readonly provider: CryptoProvider;
  private readonly channels: ChannelTable;
  private stitch: StitchPort | undefined;
  private readonly pump: EnginePump;
  private readonly writers = new WritableWaiters();
  private closeError: UzpError | undefined;
  private closing = false;
  /** The close timer, the draining period and the release of the stitch (closing.ts). */
  private readonly closer: Closing;
  /** Failover, re-stitch and the standby stitch (restitch.ts). */
  private readonly restitcher: Restitcher;
  private droppedPayloads = 0;
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
    const clock = o.clock ?? systemClock;
    const dropped = (): void => {
      this.droppedPayloads++;
    };
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
      onClose: (err, code, reason) => this.finish(err, code, reason),
      onDrop: dropped,
    });
    this.pump = new EnginePump(this.engine, clock, {
      stitch: () => this.stitch,
      // While draining the engine is closed: it polls nothing but acks.
      mayRelease: () => mayReleaseData(this.association.state) || this.closer.draining,
      timersLive: () => this.association.state !== 'closed' || this.closer.draining,
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
    const unstitch = (): void => {
      this.stitch = undefined;
    };
    this.closer = new Closing(this.engine, clock, this.pump, { stitch: () => this.stitch, unstitch, timedOut: () => this.finish(undefined, undefined) });
    this.failover = o.continuity === undefined ? undefined : failoverFor(this, o.provider, clock, o.continuity);
    this.restitcher = new Restitcher({
      association: this.association,
      engine: this.engine,
      pump: this.pump,
      failover: this.failover,
      stitch: () => this.stitch,
      unstitch,
      attach: (stitch) => this.attach(stitch),
      receive: (p) => this.receive(p),
      closing: () => this.closing,
      dropped,
      end: (reason) => this.finish(reason, undefined),
      emit: (event, ...args) => this.emit(event, ...args),
    });
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
    return this.restitcher.standbyRnCid;
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
    if (this.association.state === 'closed' && !this.closer.draining) return;
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

  /** draft §11.3: back to stitched over a new stitch at an alternate RN (Restitcher.restitch, restitch.ts). */
  restitch(stitch: StitchPort, proof: Revalidation, generation: number): void {
    this.restitcher.restitch(stitch, proof, generation);
  }

  /** Holds `stitch` as the standby, or moves onto it at once in failover (Restitcher.addStandby). */
  addStandby(stitch: StitchPort, generation: number, recheck: () => Revalidation | undefined, early: readonly Uint8Array[] = []): void {
    this.restitcher.addStandby(stitch, generation, recheck, early);
  }

  /** A failover trigger (draft §11.2): into failover, or the end without continuity (Restitcher.lose). */
  lose(reason: UzpError, pathSuspect = false): void {
    this.restitcher.lose(reason, pathSuspect);
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
   * Emits 'closing' first: messages that cross the CLOSE are still delivered (docs/PROFILE.md
   * §Closing), and a holder that must not act on them any more (the HIL broker, once a Grant has
   * expired) stops listening there rather than at 'close', up to CLOSE_TIMEOUT_MS later.
   */
  close(code = 0, reason = ''): void {
    if (this.association.state === 'closed' || this.closing) return;
    // Nothing can reach the peer without a stitch: end now rather than wait out the close timer.
    if (this.association.state === 'failover') return this.finish(undefined, undefined);
    this.closing = true;
    this.emit('closing');
    this.failover?.stop();
    this.closer.close(code, reason);
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

  private onStitchClosed(stitch: StitchPort, e?: Error): void {
    if (stitch !== this.stitch) return;
    this.stitch = undefined;
    // Draining after the peer's CLOSE: the peer ended the stitch once it had our ack.
    if (this.association.state === 'closed') return this.closer.endDrain();
    // The peer ended the stitch after our CLOSE (or its own): a clean end, not a failover.
    if (this.closing) return this.finish(undefined, undefined);
    // draft §11.2/§11.3: RN loss is an availability event: failover (and, with continuity, a
    // re-stitch at an alternate RN); without continuity the association ends here.
    const reason = new UzpError(ErrorCode.LINK_CLOSED, 'peer', `the RN stitch closed${e ? `: ${e.message}` : ''}`);
    if (this.association.state === 'stitched' || this.association.state === 'authenticated') return this.lose(reason);
    this.finish(reason, undefined);
  }

  /**
   * Emits 'close' with (err, remoteCode, remoteReason): the last two only when the peer's CLOSE ended
   * the session, its reason as sent (peer text: at most 256 bytes of UTF-8, frames.ts), so that an
   * application can say why the peer ended it (`uzpgw connect`: "grant expired").
   */
  private finish(err: UzpError | undefined, remoteCode: number | undefined, remoteReason?: string): void {
    if (this.association.state === 'closed') return;
    this.closeError = err;
    this.association.close();
    this.restitcher.ended();
    this.failover?.stop();
    this.pump.disarm();
    this.closer.ended();
    if (this.stitch !== undefined) {
      if (remoteCode !== undefined) this.closer.drain();
      else this.closer.release(this.stitch);
    }
    this.writers.wake();
    this.channels.abortAll();
    this.emit('close', err, remoteCode, remoteReason);
  }
}
