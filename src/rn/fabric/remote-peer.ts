// The far side of a cross-RN stitch, as the local Switchboard sees it (issue #16): a Peer whose
// sendData publishes the RELAY frame to the other RN over NATS (hop DATA) and whose sendControl
// carries UNSTITCH. Flow control is by credit: at most HOP_WINDOW bytes may be in flight on one
// stitch before the receiving RN reports them consumed (hop CREDIT, by byte offset, so a frame
// NATS lost still counts once a later one arrives). While the window is full the stitch is
// `congested` and the Switchboard holds the sending EP's link, as it does for a slow local link,
// so load never piles up in NATS and never makes a slow consumer of an RN. A window that stays
// shut for RN_HOLD_MAX_MS (CREDIT lost with its frames) is written off (markStuck). Frames lost on
// the hop are repaired end to end by the EPs' block retransmission, never by an RN (draft §11).
// While connected, it is counted with the stitches made with its RN (far-rns.ts), whose loss ends it.

import type { ControlMessage } from '../../uzp/link/control.js';
import { ControlKind, UnstitchCode } from '../../uzp/link/constants.js';
import type { Peer } from '../switchboard.js';
import type { RemoteSide } from './hooks.js';
import { concat } from '../../uzp/bytes.js';

/** Where hop messages go (HopOutbox). */
export interface HopSender {
  data(rn: Uint8Array, stitch: number, offset: number, frame: Uint8Array): void;
  credit(rn: Uint8Array, stitch: number, consumed: number): void;
  unstitch(rn: Uint8Array, stitch: number, code: number): void;
}

/** Bytes one stitch may have in flight across the hop. */
export const HOP_WINDOW = 512 * 1024;
/** Beyond this many bytes in flight (the window ignored by a held-off sender), frames are dropped. */
const HARD_LIMIT = 2 * HOP_WINDOW;
/** A receiver reports consumption once this much is unreported, or after CREDIT_FLUSH_MS. */
const CREDIT_EVERY = HOP_WINDOW / 4;
const CREDIT_FLUSH_MS = 2;

/** Who keeps the stitches made with each far RN (far-rns.ts): told when one is connected and when it ends. */
export interface StitchWatch {
  connected(p: RemotePeer): void;
  closed(p: RemotePeer): void;
}

export interface HopStats {
  hopFramesOut: number;
  hopFramesIn: number;
  hopDropped: number;
}

export class RemotePeer implements RemoteSide {
  /** Never an accepting link: remote peers are not in the CID index. */
  readonly linkId = 0;
  /** The other RN and its id for this stitch; unknown until the JOIN reply came (ingress side). */
  private remoteStitch: number | undefined;
  private rnValue: Uint8Array | undefined;
  private sent = 0;
  private acked = 0;
  private relieved: (() => void)[] = [];
  /** Receiving side: bytes forwarded to our EP (by the sender's offsets), and how far we reported. */
  private consumed = 0;
  private reported = 0;
  private creditTimer: NodeJS.Timeout | undefined;
  /** Our EP's link is over its high-water mark: no credit until it drains. */
  private withholding = false;
  private closed = false;

  constructor(
    /** The EP on the other RN (initiator or target of the stitch). */
    readonly cid: Uint8Array,
    /** This RN's id for the stitch. */
    readonly stitchId: number,
    /** Hop messages to other RNs (batched per RN and turn: outbox.ts). */
    private readonly out: HopSender,
    private readonly stats: HopStats,
    private readonly watch?: StitchWatch,
  ) {}

  get rn(): Uint8Array | undefined {
    return this.rnValue;
  }

  /** The far RN's id for the stitch; undefined until connected. */
  get farStitch(): number | undefined {
    return this.remoteStitch;
  }

  /**
   * The far side is stitch `stitch` at RN `rn`: frames and credit can flow now. If our side ended
   * while the JOIN reply was on its way, the far side is told at once (UNSTITCH 1, peer gone).
   */
  connect(rn: Uint8Array, stitch: number): void {
    this.rnValue = rn;
    this.remoteStitch = stitch;
    if (this.closed) return this.out.unstitch(rn, stitch, UnstitchCode.PEER_GONE);
    this.watch?.connected(this);
    this.flushCredit();
  }

  /**
   * The CREDIT this side last sent for the stitch (`consumed` 0 before any), by the far RN's id; a
   * probe repeats it, which changes nothing at the far RN (far-rns.ts). Undefined until connected.
   */
  lastCredit(): { readonly stitch: number; readonly consumed: number } | undefined {
    return this.remoteStitch === undefined || this.closed ? undefined : { stitch: this.remoteStitch, consumed: this.reported };
  }

  get congested(): boolean {
    return this.sent - this.acked >= HOP_WINDOW;
  }

  sendControl(m: ControlMessage): void {
    // Only UNSTITCH crosses the hop: OFFER and JOINED were the JOIN request and its reply.
    if (m.kind === ControlKind.UNSTITCH && this.remoteStitch !== undefined && !this.closed) this.out.unstitch(this.rnValue!, this.remoteStitch, m.code);
  }

  sendData(pieces: Uint8Array | readonly Uint8Array[]): void {
    if (this.remoteStitch === undefined || this.closed) return;
    const frame = pieces instanceof Uint8Array ? pieces : concat(...pieces);
    if (this.sent - this.acked + frame.length > HARD_LIMIT) {
      this.stats.hopDropped++;
      return;
    }
    this.out.data(this.rnValue!, this.remoteStitch, this.sent, frame);
    this.sent += frame.length;
    this.stats.hopFramesOut++;
  }

  /** The receiving RN consumed everything up to `offset`. */
  credit(offset: number): void {
    const was = this.congested;
    this.acked = Math.max(this.acked, Math.min(offset, this.sent));
    if (was && !this.congested) this.relieve();
  }

  onRelieved(cb: () => void): void {
    if (!this.congested) return void queueMicrotask(cb);
    this.relieved.push(cb);
  }

  /** A sender gave up waiting: what is in flight is taken as lost (the EPs retransmit it). */
  markStuck(): void {
    this.acked = this.sent;
    this.relieve();
  }

  /**
   * Receiving side: our Switchboard relayed our EP's `other` link congested; credit waits until it
   * drains, so the sending RN holds its EP in turn (backpressure end to end across the hop).
   */
  holdFor(other: Peer): void {
    if (this.withholding) return;
    this.withholding = true;
    other.onRelieved(() => {
      this.withholding = false;
      this.flushCredit();
    });
  }

  /** Receiving side: a DATA frame at `offset` of `length` bytes went to our EP. */
  delivered(offset: number, length: number): void {
    this.stats.hopFramesIn++;
    this.consumed = Math.max(this.consumed, offset + length);
    if (this.withholding) return;
    if (this.consumed - this.reported >= CREDIT_EVERY) this.flushCredit();
    else if (this.creditTimer === undefined) {
      this.creditTimer = setTimeout(() => {
        this.creditTimer = undefined;
        this.flushCredit();
      }, CREDIT_FLUSH_MS);
    }
  }

  /** The stitch ended: nothing more is sent or credited. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.creditTimer !== undefined) clearTimeout(this.creditTimer);
    this.relieve();
    if (this.rnValue !== undefined) this.watch?.closed(this);
  }

  private flushCredit(): void {
    if (this.creditTimer !== undefined) {
      clearTimeout(this.creditTimer);
      this.creditTimer = undefined;
    }
    if (this.closed || this.remoteStitch === undefined || this.consumed === this.reported) return;
    this.reported = this.consumed;
    this.out.credit(this.rnValue!, this.remoteStitch, this.consumed);
  }

  private relieve(): void {
    const cbs = this.relieved;
    this.relieved = [];
    for (const cb of cbs) cb();
  }
}
